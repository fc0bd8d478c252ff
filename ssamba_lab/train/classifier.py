"""The fine-tuning model: an encoder plus a clip head (``ClassifierHead``) or a per-second head (DASL)."""
from __future__ import annotations

import torch
from torch import nn

from ssamba_lab.models import ClassifierHead, PerSecondHead
from ssamba_lab.models.encoder import AudioEncoder


class FinetuneModel(nn.Module):
    """``forward(fbank [b, frames, bins])`` -> logits ``[b, classes]`` (or ``[b, seconds, classes]`` when
    ``num_seconds`` > 0). With ``frozen_encoder`` (linear probe) the encoder stays in eval mode and gets no
    gradients."""

    def __init__(self, *, encoder: AudioEncoder, num_classes: int, num_seconds: int = 0, pool: str = "mean",
                 frozen_encoder: bool = False):
        super().__init__()
        c = encoder.config
        self.encoder, self.num_seconds, self.frozen_encoder = encoder, num_seconds, frozen_encoder
        if num_seconds:
            self.head = PerSecondHead(dim=c.embed_dim, num_classes=num_classes,
                                      num_prefix_tokens=c.num_prefix_tokens, token_order=c.token_order)
        else:
            self.head = ClassifierHead(dim=c.embed_dim, num_classes=num_classes,
                                       num_prefix_tokens=c.num_prefix_tokens, pool=pool)
        if frozen_encoder:
            self.encoder.requires_grad_(False)

    def train(self, mode: bool = True) -> "FinetuneModel":
        super().train(mode)
        if self.frozen_encoder:
            self.encoder.eval()  # a probe sees deterministic features (no drop-path)
        return self

    def forward(self, fbank: torch.Tensor) -> torch.Tensor:
        if self.frozen_encoder:
            with torch.no_grad():
                tokens = self.encoder(fbank)  # [b, P + N, D]
        else:
            tokens = self.encoder(fbank)  # [b, P + N, D]
        if not self.num_seconds:
            return self.head(tokens)  # [b, classes]
        grid = self.encoder.grid_for(fbank.shape[1])
        centers = self.encoder.patch_time_centers(grid)  # [T]
        return self.head(tokens, grid, centers, self.num_seconds)  # [b, S, classes]
