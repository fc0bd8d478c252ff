"""One clip, one pretrainer, one mask -> everything the explorer shows (:class:`ReconstructionResult`).

Arrays are numpy, spectrogram-shaped ones ``[frames, bins]`` (frames cropped to whole patches), patch-grid
ones ``[F, T]`` = (frequency rows, time columns) whatever the encoder's token order.
"""
from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from einops import rearrange, repeat

from ..config_checks import check_field_types, check_non_negative
from ..features import SAMPLE_RATE
from ..masking import MASKING_STRATEGIES
from ..models import MaskedPretrainer
from .clips import Clip, FeatureScale
from .mel_inversion import features_to_audio


@dataclass(frozen=True)
class MaskChoice:
    """Which patches to hide: a strategy, either a count or a ratio of the clip's patches, and a seed."""

    strategy: str = "random"
    num_masked: int | None = None
    ratio: float | None = None  # neither given -> ratio 0.5
    seed: int = 0

    def __post_init__(self):
        if self.num_masked is None and self.ratio is None:
            object.__setattr__(self, "ratio", 0.5)
        check_field_types(self)
        check_non_negative(self, "num_masked")
        assert self.strategy in MASKING_STRATEGIES, f"strategy {self.strategy!r} not in {MASKING_STRATEGIES}"
        assert (self.num_masked is None) != (self.ratio is None), (
            f"give exactly one of num_masked / ratio, got num_masked={self.num_masked}, ratio={self.ratio}")
        assert self.ratio is None or 0.0 <= self.ratio <= 1.0, f"ratio must lie in [0, 1], got {self.ratio}"

    def count(self, num_patches: int) -> int:
        """Requested masked patches for a clip of ``num_patches`` (frame masking rounds to whole columns)."""
        n = self.num_masked if self.num_masked is not None else round(self.ratio * num_patches)
        assert 0 <= n <= num_patches, f"num_masked={n} must lie in [0, {num_patches}]"
        return n


@dataclass(frozen=True)
class DiscriminativeView:
    """For every masked patch, the rank (1 = best) of its true content among the clip's masked patches when
    scored by ``cpredlayer`` (dot product, as in the InfoNCE loss)."""

    ranks: np.ndarray  # [M] int, in token order of the masked patches
    rank_grid: np.ndarray  # [F, T] float, NaN where not masked
    top1: float  # fraction of masked patches whose true content ranks first
    mean_rank: float
    num_candidates: int  # M


@dataclass(frozen=True)
class ReconstructionResult:
    name: str
    objective: str  # 'joint' | 'reconstruction'
    choice: MaskChoice
    grid: tuple[int, int]  # (F, T) patch rows / columns
    patch_size: tuple[int, int]  # (patch_f bins, patch_t frames)
    scale: FeatureScale
    features: np.ndarray  # [frames, bins] normalised input
    mask: np.ndarray  # [F, T] bool, True = masked
    patch_index: np.ndarray  # [F, T] int, token index of each patch
    masked_input: np.ndarray  # [frames, bins], NaN on masked patches
    prediction: np.ndarray  # [frames, bins], the generative head's output for every patch
    reconstruction: np.ndarray  # [frames, bins], prediction on masked patches, input elsewhere
    patch_error: np.ndarray  # [F, T] mean squared error of the prediction per patch (all patches)
    band_error: np.ndarray  # [F] mean masked-patch error per frequency band (NaN when a band has none masked)
    time_error: np.ndarray  # [T] mean masked-patch error per time column (NaN when none masked)
    masked_mse: float  # mean squared error over masked pixels (NaN when nothing is masked)
    unmasked_mse: float  # prediction error over visible pixels (what SSAM's all-patch loss also covers)
    discriminative: DiscriminativeView | None  # None for the reconstruction objective (no cpredlayer)
    sample_rate: int = SAMPLE_RATE
    audio_original: np.ndarray | None = None  # [samples] mel inversion of ``features``
    audio_reconstruction: np.ndarray | None = None  # [samples] mel inversion of ``reconstruction``

    @property
    def num_masked(self) -> int:
        return int(self.mask.sum())

    @property
    def masked_error_grid(self) -> np.ndarray:
        """``[F, T]`` patch error on masked patches, NaN elsewhere (what the error heatmap shows)."""
        return np.where(self.mask, self.patch_error, np.nan)


def _token_to_grid(t: torch.Tensor, grid: tuple[int, int], token_order: str) -> torch.Tensor:
    """``[N, ...]`` in token order -> ``[F, T, ...]``."""
    order = "(f t)" if token_order == "freq_major" else "(t f)"
    return rearrange(t, f"{order} ... -> f t ...", f=grid[0], t=grid[1])


def discriminative_view(pred: torch.Tensor, target: torch.Tensor, mask_grid: torch.Tensor,
                        token_mask: torch.Tensor, grid: tuple[int, int], token_order: str) -> DiscriminativeView:
    """pred, target: ``[M, P]`` (masked patches in token order); mask_grid ``[F, T]``; token_mask ``[N]``."""
    m = pred.shape[0]
    scores = pred.float() @ target.float().T  # [M, M] row i scores candidate j for masked patch i
    true = scores.diagonal()  # [M]
    ranks = 1 + (scores > true[:, None]).sum(1)  # [M] ties count in the true patch's favour
    per_token = torch.full(token_mask.shape, float("nan"))  # [N]
    per_token[token_mask] = ranks.float()
    rank_grid = _token_to_grid(per_token, grid, token_order)  # [F, T]
    assert bool((~torch.isnan(rank_grid) == mask_grid).all()), "rank grid and mask disagree"
    return DiscriminativeView(ranks=ranks.numpy(), rank_grid=rank_grid.numpy(),
                              top1=float((ranks == 1).float().mean()) if m else float("nan"),
                              mean_rank=float(ranks.float().mean()) if m else float("nan"), num_candidates=m)


def _nanmean_rows(err: np.ndarray, mask: np.ndarray, axis: int) -> np.ndarray:
    """Mean of ``err`` over masked cells along ``axis`` (NaN where a row/column has none masked)."""
    count = mask.sum(axis)
    total = np.where(mask, err, 0.0).sum(axis)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


@torch.inference_mode()
def _compute(pretrainer: MaskedPretrainer, clip: Clip, choice: MaskChoice) -> ReconstructionResult:
    c = pretrainer.encoder.config
    feats = clip.features  # [frames, bins]
    assert feats.shape[1] == c.input_fdim, (
        f"clip {clip.name!r} has {feats.shape[1]} bins, the encoder expects {c.input_fdim}")
    grid = pretrainer.encoder.grid_for(feats.shape[0])
    nf, nt = grid
    x = feats[None, : nt * c.patch_t]  # [1, frames, bins] whole patches only
    target = pretrainer.patchify(x)[0]  # [N, P]
    gen = torch.Generator().manual_seed(choice.seed)
    token_mask = pretrainer.make_mask(1, grid, generator=gen, num_masked=choice.count(nf * nt),
                                      strategy=choice.strategy)[0]  # [N]
    h = pretrainer.forward_encoder(x, token_mask[None])[0]  # [N, D]
    objective = pretrainer.objective
    head = pretrainer.decoder if objective.objective == "reconstruction" else pretrainer.gpredlayer
    pred = head(h).float()  # [N, P]
    if objective.norm_target:  # the head predicts per-patch-normalised content: restore the input's patch stats
        mean, var = target.mean(-1, keepdim=True), target.var(-1, keepdim=True)  # [N, 1] each
        pred = pred * (var + 1e-6).sqrt() + mean  # [N, P]
    recon = torch.where(token_mask[:, None], pred, target)  # [N, P]
    pixel_mask = pretrainer.unpatchify(repeat(token_mask, "n -> 1 n p", p=target.shape[1]).float(), grid)[0] > 0.5  # [frames, bins]
    unpatch = lambda t: pretrainer.unpatchify(t[None], grid)[0].numpy()
    sq = (pred - target) ** 2  # [N, P]
    patch_error = _token_to_grid(sq.mean(-1), grid, c.token_order).numpy()  # [F, T]
    mask_grid = _token_to_grid(token_mask, grid, c.token_order)  # [F, T]
    patch_index = _token_to_grid(torch.arange(nf * nt), grid, c.token_order).numpy()  # [F, T]
    mask_np = mask_grid.numpy()
    disc = None
    if objective.objective == "joint":
        disc = discriminative_view(pretrainer.cpredlayer(h[token_mask]), target[token_mask], mask_grid,
                                   token_mask, grid, c.token_order)
    inp = x[0].numpy()  # [frames, bins]
    return ReconstructionResult(
        name=clip.name, objective=objective.objective, choice=choice, grid=grid, patch_size=(c.patch_f, c.patch_t),
        scale=clip.scale, features=inp, mask=mask_np, patch_index=patch_index,
        masked_input=np.where(pixel_mask.numpy(), np.nan, inp), prediction=unpatch(pred), reconstruction=unpatch(recon),
        patch_error=patch_error, band_error=_nanmean_rows(patch_error, mask_np, 1),
        time_error=_nanmean_rows(patch_error, mask_np, 0),
        masked_mse=float(sq[token_mask].mean()) if token_mask.any() else float("nan"),
        unmasked_mse=float(sq[~token_mask].mean()) if (~token_mask).any() else float("nan"),
        discriminative=disc)


def with_audio(result: ReconstructionResult, *, n_iter: int = 32) -> ReconstructionResult:
    """``result`` with both audio fields filled by mel inversion (the same seed for both, so they differ only
    where the spectrograms do)."""
    orig = features_to_audio(result.features, result.scale, n_iter=n_iter)
    recon = features_to_audio(result.reconstruction, result.scale, n_iter=n_iter)
    return dataclasses.replace(result, audio_original=orig, audio_reconstruction=recon)


class ReconstructionCache:
    """LRU of results keyed by (pretrainer, clip, mask choice). Entries keep the pretrainer and clip alive, so
    their ``id``s in the key cannot be reused while the entry exists."""

    def __init__(self, maxsize: int = 128):
        self.maxsize = maxsize
        self._items: OrderedDict[tuple, tuple[object, object, ReconstructionResult]] = OrderedDict()
        self.hits = self.misses = 0

    def get(self, pretrainer: MaskedPretrainer, clip: Clip, choice: MaskChoice,
            compute: Callable[[], ReconstructionResult]) -> ReconstructionResult:
        # A count and the equivalent ratio give the same mask: key on the resolved count.
        nf, nt = pretrainer.encoder.grid_for(clip.features.shape[0])
        key = (id(pretrainer), id(clip), choice.strategy, choice.count(nf * nt), choice.seed)
        if key in self._items:
            self.hits += 1
            self._items.move_to_end(key)
            return self._items[key][2]
        self.misses += 1
        result = compute()
        self._items[key] = (pretrainer, clip, result)
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)
        return result

    def __len__(self) -> int:
        return len(self._items)


def reconstruct(pretrainer: MaskedPretrainer, clip: Clip, choice: MaskChoice = MaskChoice(), *,
                audio: bool = True, audio_iters: int = 32,
                cache: ReconstructionCache | None = None) -> ReconstructionResult:
    """Mask ``clip`` as ``choice`` says, encode, and read both heads.

    Generative view: the joint objective's ``gpredlayer`` or SSAM's ``decoder`` on every patch token, pasted
    into the masked patches. Discriminative view (joint objective only): ``cpredlayer`` on the masked tokens,
    each ranked against the clip's masked patches. Both views come from one mask and one encoder pass (training
    with ``two_pass`` draws a separate mask per head; here both heads are read on the same patches so they can be
    compared). Errors are in normalised feature units. ``audio`` adds mel-inversion audio of the input and the
    reconstruction (about 0.1-0.5 s per second of audio on a CPU).
    """
    assert not pretrainer.training, "call pretrainer.eval() first (drop-path and dropout would randomise the view)"
    compute = lambda: _compute(pretrainer, clip, choice)
    result = cache.get(pretrainer, clip, choice, compute) if cache is not None else compute()
    return with_audio(result, n_iter=audio_iters) if audio else result
