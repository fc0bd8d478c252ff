"""AudioEncoder: what every encoder shares (patch embedding, prefix tokens, position embedding, final norm).

Subclasses provide ``layers``/``blocks`` via :meth:`forward_blocks`. Tokens are ``[batch, prefix + F*T, dim]``
in the configured token order (frequency-major: index = f * T + t).
"""
from __future__ import annotations

import torch
from torch import nn

from .config import EncoderConfig, grid_size
from .layers import PatchEmbed
from .pos_embed import adapt_pos_embed, sincos_2d


class AudioEncoder(nn.Module):
    def __init__(self, *, config: EncoderConfig):
        super().__init__()
        c = self.config = config
        self.num_prefix_tokens = c.num_prefix_tokens
        self.patch_embed = PatchEmbed(dim=c.embed_dim, patch_f=c.patch_f, patch_t=c.patch_t, fstride=c.fstride,
                                      tstride=c.tstride, token_order=c.token_order)
        if c.num_prefix_tokens >= 1:
            self.cls_token = nn.Parameter(torch.zeros(1, 1, c.embed_dim))
        if c.num_prefix_tokens >= 2:
            self.dist_token = nn.Parameter(torch.zeros(1, 1, c.embed_dim))
        assert c.num_prefix_tokens <= 2, "at most two prefix tokens (cls, distillation)"
        table_len = c.num_prefix_tokens + c.num_patches
        if c.pos_embed == "learned":
            self.pos_embed = nn.Parameter(torch.zeros(1, table_len, c.embed_dim))
            nn.init.trunc_normal_(self.pos_embed, std=0.02)
        else:
            self.register_buffer("pos_embed", sincos_2d(c.embed_dim, c.grid, token_order=c.token_order,
                                                        num_prefix_tokens=c.num_prefix_tokens), persistent=False)
        for name in ("cls_token", "dist_token"):
            if hasattr(self, name):
                nn.init.trunc_normal_(getattr(self, name), std=0.02)

    # ---- grids -------------------------------------------------------------------------------------------
    @property
    def grid(self) -> tuple[int, int]:
        return self.config.grid

    def grid_for(self, frames: int, bins: int | None = None) -> tuple[int, int]:
        c = self.config
        return grid_size(bins or c.input_fdim, frames, c.patch_f, c.patch_t, c.fstride, c.tstride)

    def pos_embed_for(self, grid: tuple[int, int]) -> torch.Tensor:
        """Position table ``[1, P + F*T, D]`` for a patch grid (adapted on the fly for other input lengths)."""
        if tuple(grid) == self.grid:
            return self.pos_embed
        if self.config.pos_embed == "sincos":
            return sincos_2d(self.config.embed_dim, grid, token_order=self.config.token_order,
                             num_prefix_tokens=self.num_prefix_tokens).to(self.pos_embed)
        return adapt_pos_embed(self.pos_embed, self.grid, grid, num_prefix_tokens=self.num_prefix_tokens,
                               token_order=self.config.token_order)

    # ---- forward -----------------------------------------------------------------------------------------
    def embed_patches(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """x: ``[batch, frames, bins]`` -> (patch tokens ``[batch, N, D]``, grid)."""
        assert x.dim() == 3, f"encoder input must be [batch, frames, bins], got shape {tuple(x.shape)}"
        assert x.shape[2] == self.config.input_fdim, (
            f"encoder expects {self.config.input_fdim} mel bins, got input of shape {tuple(x.shape)} "
            f"(layout is [batch, frames, bins])")
        assert x.shape[1] >= self.config.patch_t, (
            f"encoder input has {x.shape[1]} frames, fewer than one patch ({self.config.patch_t}): shape "
            f"{tuple(x.shape)} ([batch, frames, bins])")
        return self.patch_embed(x)

    def forward_tokens(self, tokens: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        """Patch tokens ``[batch, N, D]`` (possibly with mask embeddings substituted) -> ``[batch, P + N, D]``."""
        pos = self.pos_embed_for(grid)  # [1, P + N, D]
        prefix = [getattr(self, n).expand(tokens.shape[0], -1, -1) for n in ("cls_token", "dist_token")[: self.num_prefix_tokens]]
        h = torch.cat(prefix + [tokens], dim=1) + pos  # [b, P + N, D]
        return self.forward_blocks(h)

    def forward(self, x: torch.Tensor, *, mask: torch.Tensor | None = None,
                mask_token: torch.Tensor | None = None) -> torch.Tensor:
        """x: ``[batch, frames, bins]`` -> tokens ``[batch, prefix + patches, dim]``.

        With ``mask`` (``[batch, N]`` bool) the masked patch tokens are replaced by ``mask_token`` (``[1, 1, D]``)
        *before* position embeddings are added, so masked positions keep their position information.
        """
        tokens, grid = self.embed_patches(x)  # [b, N, D]
        if mask is not None:
            assert mask_token is not None, "a mask needs a mask_token"
            assert mask.shape == tokens.shape[:2], f"mask shape {tuple(mask.shape)} != tokens {tuple(tokens.shape[:2])}"
            tokens = torch.where(mask.unsqueeze(-1), mask_token.to(tokens.dtype), tokens)  # [b, N, D]
        return self.forward_tokens(tokens, grid)

    def forward_blocks(self, h: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def patch_time_centers(self, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """Centre frame (float) of each time column of the grid: ``[T]``; used for per-second pooling."""
        _, nt = grid or self.grid
        c = self.config
        return torch.arange(nt, dtype=torch.float32) * c.tstride + (c.patch_t - 1) / 2.0
