"""Causal depthwise conv1d (+ SiLU): the Mamba mixer's short convolution."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def causal_conv1d_torch(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                        activation: str | None = "silu") -> torch.Tensor:
    """x: ``[batch, channels, length]``; weight: ``[channels, width]``. Returns ``[batch, channels, length]``.

    Output t sees inputs t-width+1 .. t only (left zero padding), like ``causal_conv1d_fn``.
    """
    assert activation in (None, "silu"), f"activation must be None or 'silu', got {activation!r}"
    channels, width = weight.shape
    out = F.conv1d(x, weight.unsqueeze(1), bias, padding=width - 1, groups=channels)[..., : x.shape[-1]]  # [b, e, l]
    return F.silu(out) if activation == "silu" else out
