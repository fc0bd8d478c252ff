"""Where a fine-tuned encoder starts: from scratch, from one of our checkpoints, or from a released file.

:func:`resolve_init` returns the pretrained encoder's :class:`EncoderConfig` and state dict (or none);
:func:`build_finetune_encoder` builds the encoder at the fine-tuning geometry (input length, strides) and loads
the state, adapting the learned position table to the new patch grid (SSAST's recipe).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ssamba_lab import checkpoint as ckpt
from ssamba_lab.models import EncoderConfig, adapt_pos_embed, build_encoder, get_config, list_models

# Encoder fields a fine-tuning run may set on a pretrained encoder (the geometry and regularisation).
GEOMETRY_FIELDS = ("input_tdim", "fstride", "tstride", "drop_path")


@dataclass
class InitSource:
    """A pretrained encoder (``config`` + ``state``), or ``state=None`` for a from-scratch run."""

    config: EncoderConfig
    state: dict[str, torch.Tensor] | None
    model_name: str
    description: str

    @property
    def pretrained(self) -> bool:
        return self.state is not None


def _from_module(model: nn.Module, description: str) -> InitSource:
    """Anything that is an encoder or has one (``load_pretrained``'s results): duck-typed."""
    encoder = model.encoder if hasattr(model, "encoder") else model
    config = getattr(encoder, "config", None)
    assert isinstance(config, EncoderConfig), (
        f"{description}: expected an encoder with an EncoderConfig `.config` (or a module with `.encoder`)")
    name = getattr(model, "model_name", None) or _guess_name(config)
    return InitSource(config=config, state={k: v.detach().cpu() for k, v in encoder.state_dict().items()},
                      model_name=name, description=description)


def _guess_name(config: EncoderConfig) -> str:
    """The preset whose architecture matches ``config`` (for published-number lookups), else 'custom'."""
    arch = ("arch", "embed_dim", "depth", "bidirectional", "num_prefix_tokens", "token_order")
    for name in list_models():
        p = get_config(name)
        if all(getattr(p, f) == getattr(config, f) for f in arch):
            return name
    return "custom"


def resolve_init(checkpoint: str | Path | nn.Module | None, *, model: str, model_overrides: dict) -> InitSource:
    """``None`` -> from scratch (preset ``model`` + ``model_overrides``); a checkpoint directory of ours
    (kind pretrainer / encoder / classifier); a released SSAMBA/SSAST file (through
    ``ssamba_lab.interop.load_pretrained``); or a module (duck-typed)."""
    if checkpoint is None:
        config = get_config(model, **model_overrides)
        return InitSource(config=config, state=None, model_name=model, description="from scratch")
    if isinstance(checkpoint, nn.Module):
        return _from_module(checkpoint, "given module")
    path = Path(checkpoint)
    if not path.exists():
        raise ckpt.CheckpointError(f"checkpoint not found: {path}")
    if ckpt.is_checkpoint_dir(path):
        c = ckpt.load_checkpoint(path, with_trainer_state=False)
        kind = c.config.get("kind")
        assert "encoder" in c.config, f"{path}/config.json has no 'encoder' entry"
        config = EncoderConfig.from_dict(c.config["encoder"])
        if kind in ("pretrainer", "classifier"):
            state = ckpt.encoder_state_from(c.state_dict)
        elif kind == "encoder":
            state = c.state_dict
        else:
            raise ckpt.CheckpointError(f"{path}: unknown checkpoint kind {kind!r} (pretrainer|encoder|classifier)")
        name = c.config.get("model_name") or _guess_name(config)
        return InitSource(config=config, state=state, model_name=name, description=f"{kind} checkpoint {path}")
    try:
        from ssamba_lab.interop import load_pretrained
    except ImportError as exc:  # the interop package is optional
        raise ckpt.CheckpointError(f"{path} is not one of our checkpoint directories and released files need "
                                   f"ssamba_lab.interop ({exc})") from exc
    return _from_module(load_pretrained(path), f"released file {path}")


def build_finetune_encoder(init: InitSource, **geometry) -> nn.Module:
    """The encoder at the fine-tuning ``geometry`` (fields of :data:`GEOMETRY_FIELDS`) with ``init``'s weights.

    A learned position table is carried from the pretrained grid to the new one with
    :func:`~ssamba_lab.models.adapt_pos_embed`.
    """
    bad = sorted(set(geometry) - set(GEOMETRY_FIELDS))
    assert not bad, f"fine-tuning may change only {GEOMETRY_FIELDS} of a pretrained encoder, not {bad}"
    config = init.config.replace(**geometry)
    encoder = build_encoder(config)
    if init.state is None:
        return encoder
    state = dict(init.state)
    if config.pos_embed == "learned" and "pos_embed" in state and config.grid != init.config.grid:
        state["pos_embed"] = adapt_pos_embed(state["pos_embed"], init.config.grid, config.grid,
                                             num_prefix_tokens=config.num_prefix_tokens,
                                             token_order=config.token_order)  # [1, P + F'*T', D]
    ckpt.load_state_strict(encoder, state, source=init.description)
    return encoder
