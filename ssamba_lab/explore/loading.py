"""Build a :class:`MaskedPretrainer` from one of our checkpoint directories (or with random weights)."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from ..checkpoint import (
    CheckpointError,
    find_checkpoint,
    is_checkpoint_dir,
    load_checkpoint,
    load_state_strict,
)
from ..features import FbankStats
from ..models import EncoderConfig, MaskedPretrainer, ObjectiveConfig, build_encoder, get_config


def build_pretrainer_from_checkpoint(path: str | Path) -> MaskedPretrainer:
    """A pretraining checkpoint -> :class:`MaskedPretrainer` in eval mode, weights loaded strictly.

    Uses ``ssamba_lab.load_pretrained`` (our directories and the released SSAMBA / SSAST ``.pth`` files) and
    insists on a pretrainer (the explorer needs the prediction heads). Without the interop package it reads our
    checkpoint directories directly.
    """
    try:
        from ..interop.pretrained import load_pretrained
    except ModuleNotFoundError:
        return _pretrainer_from_directory(path)
    model = load_pretrained(path)
    if not isinstance(model, MaskedPretrainer):
        raise CheckpointError(f"{path} holds a {type(model).__name__}, not a pretrainer: the reconstruction "
                              f"explorer needs the masked-prediction heads (cpredlayer/gpredlayer or decoder)")
    return model.eval()


def _pretrainer_from_directory(path: str | Path) -> MaskedPretrainer:
    """Our directory format only: ``config.json`` (``kind='pretrainer'``, ``encoder``, ``objective``)."""
    ckpt = load_checkpoint(path, with_trainer_state=False)
    cfg = ckpt.config
    if cfg.get("kind") != "pretrainer":
        raise CheckpointError(f"{path}: kind is {cfg.get('kind')!r}, the reconstruction explorer needs a "
                              f"'pretrainer' checkpoint (encoder + prediction heads)")
    for key in ("encoder", "objective"):
        if key not in cfg:
            raise CheckpointError(f"{Path(path) / 'config.json'} lacks {key!r}")
    model = MaskedPretrainer(encoder=build_encoder(EncoderConfig.from_dict(cfg["encoder"])),
                             objective=ObjectiveConfig.from_dict(cfg["objective"]))
    load_state_strict(model, ckpt.state_dict, source=str(path))
    return model.eval()


def checkpoint_stats(path: str | Path) -> FbankStats | None:
    """The fbank normalisation stats a checkpoint directory was trained with (``config.json``'s ``stats``), or
    None (released files and checkpoints that do not record them: the caller's default applies)."""
    found = find_checkpoint(path)  # path, or the leftover of an interrupted save of it
    if found is None:
        return None
    stats = json.loads((found / "config.json").read_text()).get("stats")
    return FbankStats(mean=float(stats["mean"]), std=float(stats["std"])) if stats else None


def random_pretrainer(model_name: str = "ssamba-tiny", *, objective: ObjectiveConfig | None = None, seed: int = 0,
                      **encoder_overrides) -> MaskedPretrainer:
    """An untrained pretrainer of a preset (for smoke tests and as a stated fallback when no checkpoint exists).
    SSAM presets default to the reconstruction objective, the others to the joint one."""
    config = get_config(model_name, **encoder_overrides)
    if objective is None:
        objective = ObjectiveConfig(objective="reconstruction" if model_name.startswith("ssam-") else "joint")
    torch.manual_seed(seed)  # the initialisers draw from the global generator
    return MaskedPretrainer(encoder=build_encoder(config), objective=objective).eval()


def pretrainer_checkpoints(root: str | Path = "runs") -> list[Path]:
    """Pretraining checkpoint directories under ``root``, oldest first (empty when ``root`` does not exist)."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for cfg in root.rglob("config.json"):
        if is_checkpoint_dir(cfg.parent) and not cfg.parent.name.startswith("."):  # skip in-flight temp dirs
            try:
                kind = json.loads(cfg.read_text()).get("kind")
            except (OSError, json.JSONDecodeError):
                continue
            if kind == "pretrainer":
                found.append((cfg.stat().st_mtime, cfg.parent))
    return [path for _, path in sorted(found)]


def latest_pretrainer_checkpoint(root: str | Path = "runs") -> Path | None:
    """The most recently written pretraining checkpoint directory under ``root`` (None if there is none)."""
    found = pretrainer_checkpoints(root)
    return found[-1] if found else None

