"""``load_pretrained(path)``: our checkpoint directories and the released SSAMBA / SSAST ``.pth`` files.

What comes back depends on what the checkpoint holds:
- pretraining checkpoints -> :class:`~ssamba_lab.models.MaskedPretrainer` (encoder, ``mask_embed``, heads);
- fine-tuned ones -> :class:`PretrainedClassifier` (encoder + ``mlp_head``);
- encoder-only ones -> the encoder.
Released SSAMBA weights get an encoder with ``official_compat=True`` (their original forward). Every tensor is
mapped strictly; only the template's unused ImageNet head is dropped, with a warning. Models come back in
eval mode on the CPU.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..checkpoint import CheckpointError, is_checkpoint_dir, load_checkpoint, load_state_strict
from ..models import EncoderConfig, MaskedPretrainer, ObjectiveConfig, build_encoder
from .classifier import PretrainedClassifier
from .geometry import GEOMETRY_FIELDS, with_geometry
from .key_map import map_released_keys, released_kind
from .official_ssamba import infer_ssamba_config, is_ssamba_state
from .official_ssast import infer_ssast_config, is_ssast_state
from .released_file import read_released_state

log = logging.getLogger(__name__)

SIZES = {192: "tiny", 384: "small", 768: "base"}
_MASKED_COUNT = re.compile(r"_(\d+)$")  # amba_tiny_400.pth -> 400 masked patches in pretraining


@dataclass(frozen=True)
class ReleasedModelSpec:
    """What a released file is: family, kind, encoder config, heads; ``config`` is our ``config.json``."""

    family: str  # "ssamba" | "ssast"
    kind: str  # "pretrainer" | "classifier" | "encoder"
    encoder: EncoderConfig
    objective: ObjectiveConfig | None
    num_classes: int | None
    model_name: str

    @property
    def config(self) -> dict:
        cfg = {"kind": self.kind, "model_name": self.model_name, "encoder": self.encoder.to_dict(),
               "source": {"family": self.family, "released": True}}
        if self.objective is not None:
            cfg["objective"] = self.objective.to_dict()
        if self.num_classes is not None:
            cfg["head"] = {"num_classes": self.num_classes, "pool": "mean"}
        return cfg


def spec_from_released_state(state: dict[str, torch.Tensor], *, source: str, fstride: int | None = None,
                             tstride: int | None = None, input_tdim: int | None = None) -> ReleasedModelSpec:
    """Read the spec of a released state dict (``module.`` stripped) off its tensors; allocates nothing."""
    hints = dict(source=source, fstride=fstride, tstride=tstride, input_tdim=input_tdim)
    if is_ssamba_state(state):
        family, enc = "ssamba", infer_ssamba_config(state, **hints)
    elif is_ssast_state(state):
        family, enc = "ssast", infer_ssast_config(state, **hints)
    else:
        raise CheckpointError(f"{source}: neither an SSAMBA (v.layers.*) nor an SSAST (v.blocks.*) checkpoint")
    kind = released_kind(state, source=source)
    objective = None
    if kind == "pretrainer":
        m = _MASKED_COUNT.search(Path(source).stem)
        frame_patches = enc.patch_f == enc.input_fdim  # SSAST-frame (128 x 2): random frame masking
        objective = ObjectiveConfig(objective="joint", mask_strategy="frame" if frame_patches else "cluster",
                                    num_masked=int(m.group(1)) if m else 400)
    num_classes = state["mlp_head.1.weight"].shape[0] if kind == "classifier" else None
    size = SIZES.get(enc.embed_dim, f"d{enc.embed_dim}")
    return ReleasedModelSpec(family=family, kind=kind, encoder=enc, objective=objective, num_classes=num_classes,
                             model_name=f"{family}-{size}")


def build_from_config(config: dict, *, source: str) -> nn.Module:
    """An untrained module of the shape ``config`` (our ``config.json`` layout) describes."""
    kind = config.get("kind")
    if "encoder" not in config:
        raise CheckpointError(f"{source}: config lacks 'encoder'")
    encoder = build_encoder(EncoderConfig.from_dict(config["encoder"]))
    if kind == "pretrainer":
        return MaskedPretrainer(encoder=encoder, objective=ObjectiveConfig.from_dict(config.get("objective", {})))
    if kind == "classifier":
        head = config.get("head") or {}
        if "num_classes" not in head:
            raise CheckpointError(f"{source}: a classifier config needs head.num_classes")
        if head.get("num_seconds"):  # per-second (DASL) classifiers written by the fine-tuning trainer
            from ..train.classifier import FinetuneModel

            return FinetuneModel(encoder=encoder, num_classes=int(head["num_classes"]),
                                 num_seconds=int(head["num_seconds"]), pool=head.get("pool", "mean"))
        return PretrainedClassifier(encoder=encoder, num_classes=int(head["num_classes"]), pool=head.get("pool", "mean"))
    if kind == "encoder":
        return encoder
    raise CheckpointError(f"{source}: unknown checkpoint kind {kind!r} (pretrainer, classifier, encoder)")


def load_released(path: str | Path, **hints) -> tuple[nn.Module, ReleasedModelSpec]:
    """A released ``.pth`` -> (module with every tensor loaded strictly, its spec)."""
    source = str(path)
    state = read_released_state(path)
    spec = spec_from_released_state(state, source=source, **hints)
    model = build_from_config(spec.config, source=source)
    load_state_strict(model, map_released_keys(state, kind=spec.kind, source=source), source=source)
    log.info("loaded %s %s (%s) from %s", spec.model_name, spec.kind, spec.family, source)
    return model.eval(), spec


def load_ours(path: str | Path) -> nn.Module:
    """One of our checkpoint directories -> module with its weights loaded strictly."""
    ckpt = load_checkpoint(path, with_trainer_state=False)
    model = build_from_config(ckpt.config, source=str(path))
    load_state_strict(model, ckpt.state_dict, source=str(path))
    return model.eval()


def load_pretrained(path: str | Path, *, fstride: int | None = None, tstride: int | None = None,
                    input_tdim: int | None = None, input_fdim: int | None = None) -> nn.Module:
    """Load a checkpoint directory of ours or a released SSAMBA / SSAST ``.pth`` (see the module docstring).

    ``fstride``/``tstride``/``input_tdim``/``input_fdim``: the geometry the encoder should run at (e.g. the
    fine-tuning strides 10 x 10); the position table is adapted with SSAST's recipe. For released fine-tuned
    files, which do not store their geometry, they also help to read it.
    """
    path = Path(path)
    if is_checkpoint_dir(path):  # also finds the leftover of an interrupted save of `path`
        model = load_ours(path)
    elif path.is_dir():
        raise CheckpointError(f"{path} is a directory but not a checkpoint (needs config.json + model.safetensors)")
    elif path.is_file():
        model, _ = load_released(path, fstride=fstride, tstride=tstride, input_tdim=input_tdim)
    else:
        raise CheckpointError(f"checkpoint not found: {path}")
    wanted = {k: v for k, v in dict(fstride=fstride, tstride=tstride, input_tdim=input_tdim,
                                    input_fdim=input_fdim).items() if v is not None}
    return _at_geometry(model, wanted)


def _at_geometry(model: nn.Module, wanted: dict) -> nn.Module:
    encoder = model.encoder if hasattr(model, "encoder") else model
    changes = {k: v for k, v in wanted.items() if getattr(encoder.config, k) != v}
    if not changes:
        return model
    assert set(changes) <= set(GEOMETRY_FIELDS)
    new = with_geometry(encoder, **changes)
    if isinstance(model, MaskedPretrainer):
        c = new.config
        if (c.fstride, c.tstride) != (c.patch_f, c.patch_t):
            raise ValueError(f"a pretrainer needs stride == patch; take .encoder of the loaded model to run it at "
                             f"strides {(c.fstride, c.tstride)}")
    if new is encoder:
        return model
    if hasattr(model, "encoder"):
        model.encoder = new
        return model
    return new


def encoder_of(model: nn.Module) -> nn.Module:
    """The encoder of whatever :func:`load_pretrained` returned."""
    return model.encoder if hasattr(model, "encoder") else model
