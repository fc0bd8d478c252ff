"""The SSAM (Audio Mamba) frontend: 80-bin log-mel with per-clip normalisation."""
from __future__ import annotations

import torch
import torchaudio.transforms as T

from .audio import SAMPLE_RATE

SSAM_NUM_MELS = 80
SSAM_FRAMES = 200  # 2 s at a 10 ms hop


class LogMel(torch.nn.Module):
    """``MelSpectrogram(n_fft=400, hop=160, f_min=50, f_max=8000, n_mels=80, power=2)`` then ``log(x + eps)``."""

    def __init__(self, *, sample_rate: int = SAMPLE_RATE, n_mels: int = SSAM_NUM_MELS, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.mel = T.MelSpectrogram(
            sample_rate=sample_rate, n_fft=400, win_length=400, hop_length=160,
            f_min=50.0, f_max=8000.0, n_mels=n_mels, power=2.0,
        )

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        """``[..., samples]`` -> log-mel ``[..., frames, n_mels]``."""
        spec = self.mel(wav)  # [..., n_mels, frames]
        return torch.log(spec + self.eps).transpose(-1, -2)  # [..., frames, n_mels]


def per_clip_normalize(feats: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Normalise each clip ``[..., frames, bins]`` to zero mean, unit std over the whole clip."""
    mean = feats.mean(dim=(-2, -1), keepdim=True)
    std = feats.std(dim=(-2, -1), keepdim=True)
    return (feats - mean) / (std + eps)


def crop_frames(feats: torch.Tensor, length: int = SSAM_FRAMES, *, train: bool, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random (train) or centre (eval) crop of ``[frames, bins]`` to ``length`` frames, zero-padding short clips."""
    n = feats.shape[-2]
    if n < length:
        return torch.nn.functional.pad(feats, (0, 0, 0, length - n))
    if train:
        start = int(torch.randint(0, n - length + 1, (1,), generator=generator))
    else:
        start = (n - length) // 2
    return feats[..., start:start + length, :]
