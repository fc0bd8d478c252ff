"""Released key names -> ours, shared by the SSAMBA and SSAST loaders.

Released (after stripping ``module.``)       ours
``v.<rest>``                                 ``encoder.<rest>`` (pretrainer / classifier) or ``<rest>`` (bare)
``mask_embed``, ``cpredlayer.*``, ``gpredlayer.*``   unchanged (MaskedPretrainer)
``mlp_head.*``                               ``head.mlp_head.*`` (PretrainedClassifier)
``p_input_fdim``, ``p_input_tdim``           consumed into the config (pretraining input dims)
``v.head.*``, ``v.head_dist.*``              dropped with a warning (never used by the released models)

Any other key is an error: nothing is silently ignored.
"""
from __future__ import annotations

import logging
import warnings

import torch

from ..checkpoint import CheckpointError
from .released_file import unused_head_keys

log = logging.getLogger(__name__)

METADATA_KEYS = ("p_input_fdim", "p_input_tdim")
PRETRAIN_PREFIXES = ("mask_embed", "cpredlayer.", "gpredlayer.")


def released_kind(state: dict[str, torch.Tensor], *, source: str) -> str:
    """``'pretrainer'`` (SSL heads + mask embedding), ``'classifier'`` (``mlp_head``) or ``'encoder'`` (``v`` only)."""
    has_ssl = any(k.startswith(PRETRAIN_PREFIXES) for k in state)
    has_cls = any(k.startswith("mlp_head.") for k in state)
    if has_ssl and has_cls:
        raise CheckpointError(f"{source}: holds both pretraining heads and an mlp_head; cannot tell what it is")
    return "pretrainer" if has_ssl else "classifier" if has_cls else "encoder"


def map_released_keys(state: dict[str, torch.Tensor], *, kind: str, source: str) -> dict[str, torch.Tensor]:
    """Rename every released key to ours (see the module docstring); warns once about the dropped heads."""
    dropped = unused_head_keys(state)
    if dropped:
        msg = (f"{source}: dropping {len(dropped)} unused tensor(s) of the template's ImageNet head "
               f"({', '.join(dropped)}); the released model never calls them")
        log.warning(msg)
        warnings.warn(msg, stacklevel=3)
    enc_prefix = "" if kind == "encoder" else "encoder."
    out: dict[str, torch.Tensor] = {}
    unknown = []
    for key, value in state.items():
        if key in dropped or key in METADATA_KEYS:
            continue
        if key.startswith("v."):
            out[enc_prefix + key[2:]] = value
        elif kind == "pretrainer" and key.startswith(PRETRAIN_PREFIXES):
            out[key] = value
        elif kind == "classifier" and key.startswith("mlp_head."):
            out["head." + key] = value
        else:
            unknown.append(key)
    if unknown:
        raise CheckpointError(f"{source}: unrecognised key(s) {sorted(unknown)[:8]} for a released {kind} checkpoint")
    return out
