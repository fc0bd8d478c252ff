"""Patch masking for pretraining, as pure functions of a ``torch.Generator``.

Every function returns a boolean mask ``[batch, F*T]`` in the encoder's token order (True = masked) with
exactly ``num_masked`` True entries per row.
"""
from __future__ import annotations

import torch
from einops import rearrange

MASKING_STRATEGIES = ("cluster", "random", "frame")


def _check(num_masked: int, num_patches: int) -> None:
    assert 0 <= num_masked <= num_patches, f"num_masked={num_masked} must lie in [0, {num_patches}]"


def _to_order(mask_ft: torch.Tensor, token_order: str) -> torch.Tensor:
    """``[batch, F, T]`` grid mask -> ``[batch, N]`` in token order."""
    pattern = "b f t -> b (f t)" if token_order == "freq_major" else "b f t -> b (t f)"
    return rearrange(mask_ft, pattern)


def random_masking(batch: int, grid: tuple[int, int], num_masked: int, *, generator: torch.Generator | None = None,
                   device: torch.device | str = "cpu") -> torch.Tensor:
    """Uniformly random patches, exactly ``num_masked`` per clip. Returns ``[batch, N]`` bool (order-agnostic)."""
    n = grid[0] * grid[1]
    _check(num_masked, n)
    noise = torch.rand(batch, n, generator=generator)  # [b, N]
    idx = noise.argsort(dim=1)[:, :num_masked]  # [b, M] lowest-noise patches are masked
    mask = torch.zeros(batch, n, dtype=torch.bool)
    mask.scatter_(1, idx, True)
    return mask.to(device)


def frame_masking(batch: int, grid: tuple[int, int], num_masked_frames: int, *, token_order: str = "time_major",
                  generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> torch.Tensor:
    """Mask whole time columns (all frequency rows of ``num_masked_frames`` random patch-frames)."""
    nf, nt = grid
    _check(num_masked_frames, nt)
    cols = random_masking(batch, (1, nt), num_masked_frames, generator=generator)  # [b, T]
    mask_ft = cols[:, None, :].expand(batch, nf, nt)  # [b, F, T]
    return _to_order(mask_ft, token_order).to(device)


def cluster_masking(batch: int, grid: tuple[int, int], num_masked: int, *, cluster_sizes: tuple[int, ...] = (3, 4, 5),
                    token_order: str = "freq_major", generator: torch.Generator | None = None,
                    device: torch.device | str = "cpu", original_quirks: bool = False) -> torch.Tensor:
    """SSAST cluster masking: per clip a block side ``c`` from ``cluster_sizes``; blocks of ``c x c`` patches
    grown toward higher frequency and later time from random starts until exactly ``num_masked`` are masked.

    Vectorised over the batch and over rounds: each pass draws ``R`` block starts per clip at once, finds for every
    patch the first block that covers it, and keeps blocks in draw order until the count is reached; the block
    that would overshoot contributes a random subset of its new patches, so counts are exact. The result has the
    distribution of adding one block at a time (one pass almost always suffices), without a Python loop per
    block: a 64 x 512 mask takes a few ms.

    ``original_quirks=True`` reproduces the original implementation's behaviour: blocks are laid out in the
    flattened frequency-major index (so they wrap from one row's end to the next row) and patch 0 is never
    masked. Off by default: those quirks make per-band mask rates strongly non-uniform.
    """
    nf, nt = grid
    n = nf * nt
    _check(num_masked, n - (1 if original_quirks else 0))
    sizes = torch.tensor(cluster_sizes)
    side = sizes[torch.randint(len(cluster_sizes), (batch,), generator=generator)]  # [b]
    mask = torch.zeros(batch, nf, nt, dtype=torch.bool)  # [b, F, T]
    ff = torch.arange(nf)[None, None, :, None]  # [1, 1, F, 1]
    tt = torch.arange(nt)[None, None, None, :]  # [1, 1, 1, T]
    flat = ff * nt + tt  # [1, 1, F, T] frequency-major flat index
    # Blocks per pass: twice the blocks needed without overlap, capped so [b, R, F, T] stays below ~16M cells.
    rounds = max(1, min(2 * num_masked // min(cluster_sizes) ** 2 + 8, (1 << 24) // max(1, batch * n)))
    while True:
        remaining = num_masked - mask.flatten(1).sum(1)  # [b]
        if not bool((remaining > 0).any()):
            break
        start = torch.randint(n, (batch, rounds), generator=generator)[:, :, None, None]  # [b, R, 1, 1]
        s = side[:, None, None, None]  # [b, 1, 1, 1]
        if original_quirks:
            # Offsets start + nt*i + j in the flat index: wraps across rows, never touches patch 0.
            rel = flat - start  # [b, R, F, T]
            block = (rel >= 0) & ((rel // nt) < s) & ((rel % nt) < s) & (flat > 0)  # [b, R, F, T]
        else:
            f0, t0 = start // nt, start % nt  # [b, R, 1, 1]
            block = (ff >= f0) & (ff < f0 + s) & (tt >= t0) & (tt < t0 + s)  # [b, R, F, T], clipped at edges
        # First block covering each patch (R: none); int16 keeps the [b, R, F, T] pass light on memory.
        order = torch.arange(rounds, dtype=torch.int16)[None, :, None, None]  # [1, R, 1, 1]
        none = torch.tensor(rounds, dtype=torch.int16)
        first = torch.where(block, order, none).amin(1).long()  # [b, F, T]
        first = torch.where(mask, rounds, first)  # already-masked patches are not new
        added = torch.zeros(batch, rounds + 1, dtype=torch.long).scatter_add_(
            1, first.flatten(1), torch.ones(batch, n, dtype=torch.long))[:, :rounds]  # [b, R] new patches per block
        cum = added.cumsum(1)  # [b, R] patches added by blocks 0..r
        reach = cum >= remaining.clamp(min=0)[:, None]  # [b, R]
        done = reach.any(1)  # [b] the count is reached within this pass
        last = torch.where(done, reach.int().argmax(1), rounds)  # [b] block that reaches it (R: take every block)
        mask |= first < last[:, None, None]  # blocks before `last` are kept whole
        partial = (first == last[:, None, None]) & done[:, None, None]  # [b, F, T] cells of the last block
        if bool(partial.any()):
            need = (num_masked - mask.flatten(1).sum(1)).clamp(min=0)  # [b]
            score = torch.where(partial, torch.rand(batch, nf, nt, generator=generator), torch.tensor(-1.0))
            rank = score.flatten(1).argsort(dim=1, descending=True).argsort(dim=1).view(batch, nf, nt)  # [b, F, T]
            mask |= partial & (rank < need[:, None, None])
    return _to_order(mask, token_order).to(device)


def make_mask(strategy: str, batch: int, grid: tuple[int, int], num_masked: int, *, token_order: str,
              generator: torch.Generator | None = None, device: torch.device | str = "cpu", **kwargs) -> torch.Tensor:
    """Dispatch by name: 'cluster' | 'random' | 'frame' (``num_masked`` counts patches; frame masking rounds to
    whole columns). Returns ``[batch, N]`` bool."""
    if strategy == "cluster":
        return cluster_masking(batch, grid, num_masked, token_order=token_order, generator=generator, device=device,
                               **kwargs)
    if strategy == "random":
        return random_masking(batch, grid, num_masked, generator=generator, device=device)
    if strategy == "frame":
        cols = round(num_masked / grid[0])
        return frame_masking(batch, grid, cols, token_order=token_order, generator=generator, device=device)
    raise ValueError(f"unknown masking strategy {strategy!r}; valid: {', '.join(MASKING_STRATEGIES)}")
