"""The forward of the released SSAMBA weights (Vim "v2" blocks run in layer pairs; SSAMBA_FACTS section 2).

What differs from the clean :class:`~ssamba_lab.models.MambaEncoder` forward:

- blocks follow Vim's order add -> norm -> mixer and return ``(hidden, residual)``;
- the 24 layers run as 12 pairs: layer ``2i`` on the sequence, layer ``2i+1`` on the flipped sequence with the
  flipped residual; then ``hidden = h_f + flip(h_b)`` and ``residual = r_f + flip(r_b)`` (the residual doubles
  every pair); each layer's mixer is itself bidirectional;
- after the loop ``norm_f(residual + hidden)``, and ``norm_f`` is applied a second time on top of that.

The residual stream is kept in fp32, as the released config (``residual_in_fp32=True``) does.
"""
from __future__ import annotations

import torch


def vim_block(block, hidden: torch.Tensor, residual: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """One Vim block on ``[batch, length, dim]``: residual += drop_path(hidden); return (mixer(norm(residual)), residual)."""
    residual = hidden if residual is None else residual + block.drop_path(hidden)  # [b, l, d]
    residual = residual.float()  # [b, l, d] residual_in_fp32
    out = block.mixer(block.norm(residual.to(block.norm.weight.dtype)))  # [b, l, d]
    return out, residual


def official_forward_blocks(encoder, h: torch.Tensor) -> torch.Tensor:
    """``encoder``: a MambaEncoder holding the released layers; h: ``[batch, length, dim]`` (positions added).

    Returns ``[batch, length, dim]`` exactly as the released model computes its output tokens.
    """
    layers = encoder.layers
    assert len(layers) % 2 == 0, f"the released forward pairs layers; got an odd depth {len(layers)}"
    hidden, residual = h, None
    for i in range(0, len(layers), 2):
        h_f, r_f = vim_block(layers[i], hidden, residual)  # [b, l, d] each
        h_b, r_b = vim_block(layers[i + 1], hidden.flip(1), None if residual is None else residual.flip(1))
        hidden = h_f + h_b.flip(1)  # [b, l, d]
        residual = r_f + r_b.flip(1)  # [b, l, d] (doubles every pair)
    # the model-level drop path of the original has the last layer's rate (= config.drop_path)
    residual = residual + layers[-1].drop_path(hidden)  # [b, l, d]
    out = encoder.norm_f(residual.to(encoder.norm_f.weight.dtype))  # [b, l, d]
    return encoder.norm_f(out)  # [b, l, d] the released heads see norm_f applied twice
