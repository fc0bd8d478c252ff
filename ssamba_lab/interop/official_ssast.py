"""Released SSAST checkpoints (DeiT layout, cls + distillation tokens): the encoder config, read off the tensors.

Keys (``module.`` stripped): ``v.cls_token``, ``v.dist_token``, ``v.pos_embed``, ``v.patch_embed.proj.*``,
``v.blocks.{i}.{norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2}.*``, ``v.norm.*`` (+ the unused ``v.head``
/ ``v.head_dist``), and for pretraining ``mask_embed``, ``cpredlayer``, ``gpredlayer``, ``p_input_*``.
"""
from __future__ import annotations

import re

import torch

from ..checkpoint import CheckpointError
from ..models import EncoderConfig
from .geometry import infer_input_dims

BLOCK_KEY = re.compile(r"^v\.blocks\.(\d+)\.")
HEAD_DIM = 64  # the DeiT templates: tiny 192/3, small 384/6, base 768/12


def is_ssast_state(state: dict[str, torch.Tensor]) -> bool:
    return any(BLOCK_KEY.match(k) for k in state)


def infer_ssast_config(state: dict[str, torch.Tensor], *, source: str, fstride: int | None = None,
                       tstride: int | None = None, input_tdim: int | None = None) -> EncoderConfig:
    """The transformer :class:`EncoderConfig` of a released SSAST state dict (``module.`` stripped)."""
    for key in ("v.cls_token", "v.pos_embed", "v.patch_embed.proj.weight", "v.blocks.0.mlp.fc1.weight"):
        if key not in state:
            raise CheckpointError(f"{source}: missing {key!r}, which every released SSAST checkpoint has")
    dim = state["v.cls_token"].shape[-1]
    depth = 1 + max(int(m.group(1)) for k in state if (m := BLOCK_KEY.match(k)))
    prefix = 2 if "v.dist_token" in state else 1
    patch_f, patch_t = state["v.patch_embed.proj.weight"].shape[2:]
    mlp_hidden = state["v.blocks.0.mlp.fc1.weight"].shape[0]
    n_tokens = state["v.pos_embed"].shape[1]
    fdim, tdim, fs, ts = infer_input_dims(state, n_tokens - prefix, patch=(patch_f, patch_t), source=source,
                                          fstride=fstride, tstride=tstride, input_tdim=input_tdim)
    return EncoderConfig(arch="transformer", embed_dim=dim, depth=depth, num_heads=max(1, dim // HEAD_DIM),
                         mlp_ratio=mlp_hidden / dim, attn_impl="sdpa", num_prefix_tokens=prefix, input_fdim=fdim,
                         input_tdim=tdim, patch_f=patch_f, patch_t=patch_t, fstride=fs, tstride=ts,
                         token_order="freq_major", pos_embed="learned", norm_eps=1e-6, drop_path=0.0,
                         frontend="fbank")
