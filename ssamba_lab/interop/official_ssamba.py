"""Released SSAMBA checkpoints (``amba_{tiny,small,base}_{250,300,400}.pth``): the encoder config, read off the
tensors (SSAMBA_FACTS section 2 lists the key families; no config file ships with the weights)."""
from __future__ import annotations

import re

import torch

from ..checkpoint import CheckpointError
from ..models import EncoderConfig
from .geometry import infer_input_dims

LAYER_KEY = re.compile(r"^v\.layers\.(\d+)\.")


def is_ssamba_state(state: dict[str, torch.Tensor]) -> bool:
    return any(LAYER_KEY.match(k) for k in state)


def _need(state: dict[str, torch.Tensor], key: str, source: str) -> torch.Tensor:
    if key not in state:
        raise CheckpointError(f"{source}: missing {key!r}, which every released SSAMBA checkpoint has")
    return state[key]


def infer_ssamba_config(state: dict[str, torch.Tensor], *, source: str, fstride: int | None = None,
                        tstride: int | None = None, input_tdim: int | None = None) -> EncoderConfig:
    """The :class:`EncoderConfig` (with ``official_compat=True``) of a released SSAMBA state dict (``module.``
    stripped): width from ``v.cls_token``, depth from the layer indices, mixer sizes from layer 0, patch shape
    from ``v.patch_embed.proj``, input dims from ``p_input_*`` (pretraining) or from the position table."""
    dim = _need(state, "v.cls_token", source).shape[-1]
    depth = 1 + max(int(m.group(1)) for k in state if (m := LAYER_KEY.match(k)))
    mix = "v.layers.0.mixer."
    d_inner = _need(state, mix + "in_proj.weight", source).shape[0] // 2
    d_state = _need(state, mix + "A_log", source).shape[1]
    d_conv = _need(state, mix + "conv1d.weight", source).shape[-1]
    dt_rank = _need(state, mix + "dt_proj.weight", source).shape[1]
    assert d_inner % dim == 0, f"{source}: d_inner {d_inner} is not a multiple of d_model {dim}"
    bidirectional = mix + "conv1d_b.weight" in state
    patch_f, patch_t = _need(state, "v.patch_embed.proj.weight", source).shape[2:]
    n_tokens = _need(state, "v.pos_embed", source).shape[1]
    fdim, tdim, fs, ts = infer_input_dims(state, n_tokens - 1, patch=(patch_f, patch_t), source=source,
                                          fstride=fstride, tstride=tstride, input_tdim=input_tdim)
    return EncoderConfig(arch="mamba", embed_dim=dim, depth=depth, bidirectional=bidirectional, d_state=d_state,
                         d_conv=d_conv, expand=d_inner // dim, dt_rank=dt_rank, residual_in_fp32=True,
                         num_prefix_tokens=1, input_fdim=fdim, input_tdim=tdim, patch_f=patch_f, patch_t=patch_t,
                         fstride=fs, tstride=ts, token_order="freq_major", pos_embed="learned", norm_eps=1e-5,
                         drop_path=0.1, frontend="fbank", official_compat=True)
