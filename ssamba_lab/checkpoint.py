"""Our checkpoint format: a directory with ``config.json``, ``model.safetensors`` and (optionally)
``trainer_state.pt``, written atomically (into a temporary sibling directory, then renamed into place).

``config.json`` = ``{"format": "ssamba-lab/1", "kind": "pretrainer" | "encoder" | "classifier",
"model_name": preset name, "encoder": EncoderConfig fields, ...stage-specific entries}``.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

FORMAT = "ssamba-lab/1"
CONFIG_FILE, WEIGHTS_FILE, TRAINER_FILE = "config.json", "model.safetensors", "trainer_state.pt"


class CheckpointError(ValueError):
    """A checkpoint directory that is missing, incomplete or inconsistent; the message names the path."""


@dataclass
class Checkpoint:
    path: Path
    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    trainer_state: dict[str, Any] | None


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_checkpoint(path: str | Path, *, state_dict: dict[str, torch.Tensor], config: dict[str, Any],
                    trainer_state: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint directory atomically; an existing one at ``path`` is replaced only once the new one
    is complete, so an interruption at any point leaves either the old or the new checkpoint, never a mix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        # safetensors refuses shared / non-contiguous storage: save independent contiguous copies.
        tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state_dict.items()}
        save_file(tensors, str(tmp / WEIGHTS_FILE), metadata={"format": FORMAT})
        (tmp / CONFIG_FILE).write_text(json.dumps({"format": FORMAT, **config}, indent=2, sort_keys=True))
        if trainer_state is not None:
            torch.save(trainer_state, tmp / TRAINER_FILE)
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def is_checkpoint_dir(path: str | Path) -> bool:
    path = Path(path)
    return path.is_dir() and (path / CONFIG_FILE).is_file() and (path / WEIGHTS_FILE).is_file()


def load_checkpoint(path: str | Path, *, with_trainer_state: bool = True) -> Checkpoint:
    """Read a checkpoint directory written by :func:`save_checkpoint`."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    for f in (CONFIG_FILE, WEIGHTS_FILE):
        if not (path / f).is_file():
            raise CheckpointError(f"checkpoint {path} is incomplete: missing {f}")
    config = json.loads((path / CONFIG_FILE).read_text())
    if config.get("format") != FORMAT:
        raise CheckpointError(f"{path / CONFIG_FILE}: unknown format {config.get('format')!r}, expected {FORMAT!r}")
    state = load_file(str(path / WEIGHTS_FILE))
    trainer = None
    if with_trainer_state and (path / TRAINER_FILE).is_file():
        trainer = torch.load(path / TRAINER_FILE, map_location="cpu", weights_only=False)
    return Checkpoint(path=path, config=config, state_dict=state, trainer_state=trainer)


def load_state_strict(module: torch.nn.Module, state_dict: dict[str, torch.Tensor], *, source: str) -> None:
    """``load_state_dict(strict=True)`` with an error that names the source and the offending keys."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    shapes = [f"{k}: {tuple(state_dict[k].shape)} vs model {tuple(own[k].shape)}"
              for k in set(own) & set(state_dict) if own[k].shape != state_dict[k].shape]
    if missing or unexpected or shapes:
        raise CheckpointError(f"{source} does not match the model: missing {missing[:8]}{'...' if len(missing) > 8 else ''}"
                              f", unexpected {unexpected[:8]}{'...' if len(unexpected) > 8 else ''}, "
                              f"shape mismatches {shapes[:8]}")
    module.load_state_dict(state_dict, strict=True)


def encoder_state_from(state_dict: dict[str, torch.Tensor], prefix: str = "encoder.") -> dict[str, torch.Tensor]:
    """The encoder's tensors of a pretrainer/classifier state dict, with ``prefix`` stripped."""
    return {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
