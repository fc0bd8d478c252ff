"""Input length in tokens (patches) <-> input frames, from a preset's patch geometry.

SSAMBA / SSAST: 16x16 patches with stride 16 over 128 mel bins give 8 frequency rows, so N tokens need N/8 time
columns = 16 * N/8 frames. SSAM: 16-bin x 4-frame patches over 80 bins give 5 rows, N/5 columns, 4 * N/5 frames.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..models import EncoderConfig, get_config, grid_size


@dataclass(frozen=True, kw_only=True)
class InputShape:
    """The encoder input for a requested token count: features ``[batch, frames, bins]``."""

    frames: int
    bins: int
    grid: tuple[int, int]  # (frequency rows, time columns)
    num_patches: int  # rows * columns, >= the requested tokens
    seq_len: int  # prefix tokens + patches: the length the blocks see


def input_shape_for(config: EncoderConfig, tokens: int) -> InputShape:
    """The fewest time columns whose grid holds at least ``tokens`` patches."""
    assert tokens >= 1, f"tokens must be positive, got {tokens}"
    c = config
    rows, _ = grid_size(c.input_fdim, c.patch_t, c.patch_f, c.patch_t, c.fstride, c.tstride)
    cols = math.ceil(tokens / rows)
    frames = (cols - 1) * c.tstride + c.patch_t
    grid = grid_size(c.input_fdim, frames, c.patch_f, c.patch_t, c.fstride, c.tstride)
    assert grid == (rows, cols), f"grid {grid} != expected {(rows, cols)} for {frames} frames"
    return InputShape(frames=frames, bins=c.input_fdim, grid=grid, num_patches=rows * cols,
                      seq_len=c.num_prefix_tokens + rows * cols)


def config_for(model: str, tokens: int, *, attn_impl: str | None = None) -> tuple[EncoderConfig, InputShape]:
    """The preset's config with ``input_tdim`` set so the position table fits ``tokens`` exactly (no resampling)."""
    base = get_config(model)
    shape = input_shape_for(base, tokens)
    overrides = {"input_tdim": shape.frames}
    if attn_impl is not None:
        assert base.arch == "transformer", f"attn_impl applies to transformers, not {model!r}"
        overrides["attn_impl"] = attn_impl
    return base.replace(**overrides), shape
