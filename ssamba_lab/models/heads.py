"""Heads on top of encoder tokens: pretraining predictors and fine-tuning classifiers."""
from __future__ import annotations

import torch
from einops import reduce
from torch import nn


def prediction_head(dim: int, out_dim: int) -> nn.Sequential:
    """SSAST/SSAMBA ``cpredlayer`` / ``gpredlayer``: ``Linear(D, D) - ReLU - Linear(D, patch_dim)``."""
    return nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, out_dim))


def reconstruction_head(dim: int, out_dim: int) -> nn.Sequential:
    """SSAM's head: ``Linear(D, D) - GELU - Linear(D, patch_dim)``."""
    return nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, out_dim))


class ClassifierHead(nn.Module):
    """Clip classifier: pool tokens -> LayerNorm -> Linear (``mlp_head.0`` / ``mlp_head.1`` like the originals).

    ``pool='mean'`` averages the patch tokens (prefix tokens excluded); ``'cls'`` takes token 0.
    """

    def __init__(self, *, dim: int, num_classes: int, num_prefix_tokens: int, pool: str = "mean"):
        super().__init__()
        assert pool in ("mean", "cls"), f"pool must be 'mean' or 'cls', got {pool!r}"
        assert pool == "mean" or num_prefix_tokens > 0, "cls pooling needs a CLS token"
        self.pool, self.num_prefix_tokens = pool, num_prefix_tokens
        self.mlp_head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, num_classes))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens: ``[batch, prefix + N, D]`` -> logits ``[batch, classes]``."""
        pooled = tokens[:, 0] if self.pool == "cls" else tokens[:, self.num_prefix_tokens:].mean(1)  # [b, D]
        return self.mlp_head(pooled)


class PerSecondHead(nn.Module):
    """DASL head: for each 1-second time span, average the tokens of every frequency row whose time-patch centre
    falls in that span, then LayerNorm -> Linear. Returns ``[batch, seconds, classes]``.

    (The original averaged contiguous chunks of the frequency-major sequence, which mixes bands and times.)
    """

    def __init__(self, *, dim: int, num_classes: int, num_prefix_tokens: int, token_order: str,
                 frames_per_second: int = 100):
        super().__init__()
        self.num_prefix_tokens, self.token_order, self.fps = num_prefix_tokens, token_order, frames_per_second
        self.mlp_head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, num_classes))

    def forward(self, tokens: torch.Tensor, grid: tuple[int, int], time_centers: torch.Tensor,
                num_seconds: int) -> torch.Tensor:
        """tokens ``[batch, P + F*T, D]``; ``time_centers`` ``[T]`` frame index of each time column."""
        pooled = pool_per_second(tokens[:, self.num_prefix_tokens:], grid, time_centers, num_seconds,
                                 token_order=self.token_order, frames_per_second=self.fps)  # [b, S, D]
        return self.mlp_head(pooled)  # [b, S, classes]


def pool_per_second(patches: torch.Tensor, grid: tuple[int, int], time_centers: torch.Tensor, num_seconds: int, *,
                    token_order: str, frames_per_second: int = 100) -> torch.Tensor:
    """Average patch tokens ``[batch, F*T, D]`` over all frequency rows and the time columns whose centre frame
    falls in each second. Returns ``[batch, num_seconds, D]``."""
    nf, nt = grid
    pattern = "b (f t) d -> b t d" if token_order == "freq_major" else "b (t f) d -> b t d"
    per_col = reduce(patches, pattern, "mean", f=nf, t=nt)  # [b, T, D] mean over frequency rows
    second = (time_centers.to(patches.device) // frames_per_second).long().clamp(max=num_seconds - 1)  # [T]
    assign = torch.nn.functional.one_hot(second, num_seconds).to(per_col.dtype)  # [T, S]
    counts = assign.sum(0).clamp(min=1.0)  # [S]
    return torch.einsum("btd,ts->bsd", per_col, assign) / counts[None, :, None]  # [b, S, D]


def pooled_embedding(tokens: torch.Tensor, num_prefix_tokens: int) -> torch.Tensor:
    """Mean over patch tokens (prefix excluded): ``[batch, P + N, D] -> [batch, D]``."""
    return tokens[:, num_prefix_tokens:].mean(1)


__all__ = ["prediction_head", "reconstruction_head", "ClassifierHead", "PerSecondHead", "pool_per_second",
           "pooled_embedding"]
