"""Augmentations of the SSAST / SSAMBA recipes (train split only). All randomness from torch's global RNG,
which DataLoader seeds per worker from the loader's generator (reproducible for a given seed)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
import torchaudio.transforms as T
from einops import rearrange


def spec_augment(fbank: torch.Tensor, *, freqm: int, timem: int) -> torch.Tensor:
    """One ``FrequencyMasking(freqm)`` and one ``TimeMasking(timem)`` on ``[frames, bins]`` (masked -> 0).

    Applied to the normalised fbank, so masked cells hold the dataset mean (the originals mask before
    normalising, which fills them with ``-mean / (2 std)``).
    """
    x = rearrange(fbank, "t f -> 1 f t")  # [1, bins, frames]
    if freqm > 0:
        x = T.FrequencyMasking(freqm)(x)
    if timem > 0:
        x = T.TimeMasking(timem)(x)
    return rearrange(x, "1 f t -> t f")  # [frames, bins]


def fbank_noise(fbank: torch.Tensor) -> torch.Tensor:
    """SSAST "noise": add ``rand * U(0,1) / 10`` and roll by up to +-10 frames. ``[frames, bins]``."""
    fbank = fbank + torch.rand_like(fbank) * torch.rand(()).item() / 10  # [frames, bins]
    return torch.roll(fbank, int(torch.randint(-10, 11, ())), dims=0)


def sample_mixup_lambda(alpha: float) -> float:
    """lambda ~ Beta(alpha, alpha) (10, 10 in the recipes: mixes stay close to 50/50)."""
    return float(torch.distributions.Beta(alpha, alpha).sample())


def mix_waveforms(a: torch.Tensor, b: torch.Tensor, lam: float) -> torch.Tensor:
    """``lam * a + (1 - lam) * b`` with ``b`` zero-padded / cropped to ``a``'s length, DC removed. ``[samples]``."""
    b = F.pad(b, (0, max(0, a.shape[0] - b.shape[0])))[: a.shape[0]]  # [len(a)]
    mixed = lam * a + (1.0 - lam) * b
    return mixed - mixed.mean()
