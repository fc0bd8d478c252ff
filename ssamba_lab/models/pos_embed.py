"""Position embeddings: fixed 2-D sin-cos (SSAM) and SSAST-style adaptation of learned tables to new grids."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange


def _sincos_1d(dim: int, pos: torch.Tensor) -> torch.Tensor:
    """pos: ``[M]`` -> ``[M, dim]`` (half sin, half cos, MAE's frequencies)."""
    assert dim % 2 == 0, f"sin-cos embedding needs an even dim, got {dim}"
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim / 2.0))  # [dim/2]
    out = pos.double()[:, None] * omega[None, :]  # [M, dim/2]
    return torch.cat([out.sin(), out.cos()], dim=1).float()  # [M, dim]


def sincos_2d(dim: int, grid: tuple[int, int], *, token_order: str, num_prefix_tokens: int) -> torch.Tensor:
    """Fixed 2-D sin-cos table ``[1, prefix + F*T, dim]``: half the channels encode frequency, half time.

    Prefix (CLS) positions get zeros, as in MAE / SSAM.
    """
    assert dim % 4 == 0, f"2-D sin-cos embedding needs dim divisible by 4, got {dim}"
    nf, nt = grid
    ff, tt = torch.meshgrid(torch.arange(nf), torch.arange(nt), indexing="ij")  # [F, T] each
    emb = torch.cat([_sincos_1d(dim // 2, ff.reshape(-1)), _sincos_1d(dim // 2, tt.reshape(-1))], dim=1)  # [F*T, dim]
    if token_order == "time_major":
        emb = rearrange(emb, "(f t) d -> (t f) d", f=nf, t=nt)  # [T*F, dim]
    return torch.cat([torch.zeros(num_prefix_tokens, dim), emb], dim=0).unsqueeze(0)  # [1, P+F*T, dim]


def _fit_axis(x: torch.Tensor, new: int, axis: int) -> torch.Tensor:
    """Centre-crop ``x`` along ``axis`` (2=freq, 3=time of ``[1, D, F, T]``) when shorter, else bilinear resize."""
    old = x.shape[axis]
    if new == old:
        return x
    if new < old:
        start = old // 2 - new // 2
        return x.narrow(axis, start, new)
    size = (new, x.shape[3]) if axis == 2 else (x.shape[2], new)
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def adapt_pos_embed(pos: torch.Tensor, old_grid: tuple[int, int], new_grid: tuple[int, int], *,
                    num_prefix_tokens: int, token_order: str = "freq_major") -> torch.Tensor:
    """Carry a learned table ``[1, P + Fo*To, D]`` to a new patch grid (SSAST's recipe).

    Time is adapted first (centre crop if the new grid is shorter, bilinear otherwise), then frequency;
    prefix positions are kept. Returns ``[1, P + Fn*Tn, D]``.
    """
    if tuple(old_grid) == tuple(new_grid):
        return pos
    (fo, to), (fn, tn) = old_grid, new_grid
    assert pos.shape[1] == num_prefix_tokens + fo * to, (
        f"position table has {pos.shape[1]} rows, expected {num_prefix_tokens} + {fo}x{to}")
    prefix, patches = pos[:, :num_prefix_tokens], pos[:, num_prefix_tokens:]  # [1, P, D], [1, N, D]
    pattern = "b (f t) d -> b d f t" if token_order == "freq_major" else "b (t f) d -> b d f t"
    grid = rearrange(patches, pattern, f=fo, t=to)  # [1, D, Fo, To]
    grid = _fit_axis(_fit_axis(grid, tn, axis=3), fn, axis=2)  # [1, D, Fn, Tn]
    back = "b d f t -> b (f t) d" if token_order == "freq_major" else "b d f t -> b (t f) d"
    return torch.cat([prefix, rearrange(grid, back)], dim=1)  # [1, P + Fn*Tn, D]
