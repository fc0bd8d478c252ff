"""What an adapter returns: the label map and, per split, an iterable of manifest entries."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import soundfile as sf

from ..manifest import LabelMap

SPLITS = ("train", "validation", "test")


@dataclass
class AdapterOutput:
    """``splits[name]`` is an iterable (possibly a generator, for streaming) of manifest entries.

    ``missing`` collects files the dataset's metadata lists but the disk lacks (e.g. AudioSet videos that
    were never downloaded): they are reported and skipped, never fatal. ``bad`` collects ``(path, problems)``
    of files the adapter itself had to read and could not (filled as the splits stream): they go into the bad
    audio report as skipped.
    """

    labels: LabelMap
    splits: dict[str, Iterable[dict]]
    missing: list[str] = field(default_factory=list)
    bad: list[tuple[str, list[str]]] = field(default_factory=list)


def audio_seconds(path: Path, bad: list[tuple[str, list[str]]]) -> float | None:
    """Duration of ``path`` from its header, or None (recorded in ``bad``) when it cannot be read or is empty."""
    try:
        info = sf.info(str(path))
    except (sf.SoundFileError, RuntimeError, OSError):  # undecodable header (LibsndfileError is a RuntimeError)
        bad.append((str(path), ["corrupt"]))
        return None
    if info.frames == 0:
        bad.append((str(path), ["empty"]))
        return None
    return info.duration


def cv_split(fold_of_item: int, *, test_fold: int, folds: tuple[int, ...]) -> str:
    """``next_fold`` protocol: test fold -> test, the fold after it (cyclic) -> validation, the rest -> train."""
    assert test_fold in folds, f"fold {test_fold} is not one of {folds}"
    val_fold = folds[(folds.index(test_fold) + 1) % len(folds)]
    if fold_of_item == test_fold:
        return "test"
    return "validation" if fold_of_item == val_fold else "train"
