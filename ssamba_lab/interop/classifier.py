"""A fine-tuned clip classifier as the released fine-tuned checkpoints hold it: encoder + ``mlp_head``."""
from __future__ import annotations

import torch
from torch import nn

from ..models import ClassifierHead


class PretrainedClassifier(nn.Module):
    """``encoder`` then mean over patch tokens -> LayerNorm -> Linear (``head.mlp_head.{0,1}``)."""

    def __init__(self, *, encoder: nn.Module, num_classes: int, pool: str = "mean"):
        super().__init__()
        self.encoder = encoder
        self.head = ClassifierHead(dim=encoder.config.embed_dim, num_classes=num_classes,
                                   num_prefix_tokens=encoder.num_prefix_tokens, pool=pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: features ``[batch, frames, bins]`` -> logits ``[batch, classes]``."""
        return self.head(self.encoder(x))  # [b, classes]
