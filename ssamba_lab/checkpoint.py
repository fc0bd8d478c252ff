"""Our checkpoint format: a directory with ``config.json``, ``model.safetensors`` and (optionally)
``trainer_state.pt``, written atomically (into a temporary sibling directory, then renamed into place).
A save interrupted between its two renames leaves complete sibling directories ``.<name>.old-*`` /
``.<name>.tmp-*`` and no ``<name>``; :func:`find_checkpoint` (and so loading and resuming) then falls back to
the newest of them, with a warning. One writer per checkpoint path (rank 0).

``config.json`` = ``{"format": "ssamba-lab/1", "kind": "pretrainer" | "encoder" | "classifier",
"model_name": preset name, "encoder": EncoderConfig fields, ...stage-specific entries}``.
"""
from __future__ import annotations

import contextlib
import glob
import json
import os
import secrets
import shutil
import tempfile
import warnings
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


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _leftovers(path: Path) -> list[Path]:
    """Sibling directories an interrupted save of ``path`` may have left (moved-aside old one, new one)."""
    pat = glob.escape(f".{path.name}")
    return sorted(p for suffix in (".old-*", ".tmp-*") for p in path.parent.glob(pat + suffix) if p.is_dir())


def _complete(path: Path) -> bool:
    """config.json is written last, so a parseable one means the directory was fully written."""
    try:
        config = json.loads((path / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("format") == FORMAT and (path / WEIGHTS_FILE).is_file()


def save_checkpoint(path: str | Path, *, state_dict: dict[str, torch.Tensor], config: dict[str, Any],
                    trainer_state: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint directory atomically; an existing one at ``path`` is replaced only once the new one
    is complete. A failed save puts the old one back; a crash between the renames leaves both complete, as
    siblings that :func:`find_checkpoint` falls back to. Leftovers of earlier crashes go after a good save."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    old = None
    try:
        # safetensors refuses shared / non-contiguous storage: save independent contiguous copies.
        tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state_dict.items()}
        save_file(tensors, str(tmp / WEIGHTS_FILE), metadata={"format": FORMAT})
        if trainer_state is not None:
            torch.save(trainer_state, tmp / TRAINER_FILE)
        for f in tmp.iterdir():
            _fsync_file(f)
        (tmp / CONFIG_FILE).write_text(json.dumps({"format": FORMAT, **config}, indent=2, sort_keys=True))
        _fsync_file(tmp / CONFIG_FILE)  # last: its presence marks the directory complete (see _complete)
        if path.exists():
            aside = path.with_name(f".{path.name}.old-{os.getpid()}-{secrets.token_hex(3)}")
            os.replace(path, aside)
            old = aside
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        if old is not None and not path.exists():
            with contextlib.suppress(OSError):  # if this fails too, find_checkpoint still finds `old`
                os.replace(old, path)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for p in _leftovers(path):  # the old one, and those of interrupted saves: superseded by `path`
        shutil.rmtree(p, ignore_errors=True)
    return path


def find_checkpoint(path: str | Path) -> Path | None:
    """``path`` if it holds a checkpoint; else the newest complete leftover of an interrupted save of it
    (with a warning); else None."""
    path = Path(path)
    if path.is_dir() and (path / CONFIG_FILE).is_file() and (path / WEIGHTS_FILE).is_file():
        return path
    found = [p for p in _leftovers(path) if _complete(p)]
    if not found:
        return None
    newest = max(found, key=lambda p: ((p / CONFIG_FILE).stat().st_mtime_ns, ".tmp-" in p.name))
    warnings.warn(f"checkpoint {path} is missing or incomplete (a save was interrupted); using {newest}",
                  stacklevel=2)
    return newest


def is_checkpoint_dir(path: str | Path) -> bool:
    return find_checkpoint(path) is not None


def load_checkpoint(path: str | Path, *, with_trainer_state: bool = True) -> Checkpoint:
    """Read a checkpoint directory written by :func:`save_checkpoint` (or its leftover, see
    :func:`find_checkpoint`); ``Checkpoint.path`` is the directory actually read."""
    path = Path(path)
    found = find_checkpoint(path)
    if found is None:
        if not path.exists():
            raise CheckpointError(f"checkpoint not found: {path}")
        for f in (CONFIG_FILE, WEIGHTS_FILE):
            if not (path / f).is_file():
                raise CheckpointError(f"checkpoint {path} is incomplete: missing {f}")
    path = found
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
