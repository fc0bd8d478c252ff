"""Small shared layers: stochastic depth and the spectrogram patch embedding."""
from __future__ import annotations

import torch
from einops import rearrange
from torch import nn


class DropPath(nn.Module):
    """Stochastic depth: drop the whole residual branch per sample with probability ``p`` in training."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)  # [b, 1, 1]
        return x * mask / keep

    def sample_scale(self, x: torch.Tensor) -> torch.Tensor | None:
        """The factor ``mask / keep`` of each sample (float32 ``[batch]``) for an op that applies it fused, or
        None when nothing is dropped (eval, or p = 0)."""
        if self.p == 0.0 or not self.training:
            return None
        keep = 1.0 - self.p
        return torch.empty(x.shape[0], device=x.device, dtype=torch.float32).bernoulli_(keep).div_(keep)  # [b]


class PatchEmbed(nn.Module):
    """``Conv2d(1, D, (patch_f, patch_t), stride=(fstride, tstride))`` over ``[batch, 1, bins, frames]``."""

    def __init__(self, *, dim: int, patch_f: int, patch_t: int, fstride: int, tstride: int, token_order: str):
        super().__init__()
        self.token_order = token_order
        self.proj = nn.Conv2d(1, dim, kernel_size=(patch_f, patch_t), stride=(fstride, tstride))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """x: ``[batch, frames, bins]`` -> (tokens ``[batch, F*T, dim]`` in token order, grid ``(F, T)``)."""
        x = rearrange(x, "b t f -> b 1 f t")  # [b, 1, bins, frames]
        x = self.proj(x)  # [b, D, F, T]
        grid = (x.shape[2], x.shape[3])
        pattern = "b d f t -> b (f t) d" if self.token_order == "freq_major" else "b d f t -> b (t f) d"
        return rearrange(x, pattern), grid  # [b, N, D]
