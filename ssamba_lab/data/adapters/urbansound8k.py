"""UrbanSound8K for ``dasl``: clips of each fold concatenated into fixed-length sequences, per-second labels.

Layout: ``<root>/metadata/UrbanSound8K.csv`` (``slice_file_name,fsID,start,end,salience,fold,classID,class``)
and ``<root>/audio/fold{1..10}/<slice_file_name>``.

Sequences (deterministic): the clips of fold k, sorted by file name, are shuffled with ``random.Random(k)``
and laid end to end; a sequence closes at ``sequence_seconds`` (the clip that crosses the boundary is
trimmed), the fold's last, shorter sequence is kept when it lasts at least one second. Each entry carries
``segments = [[path, offset_s, duration_s, class], ...]`` in time order; the dataset concatenates them and
derives the ``[seconds, classes]`` coverage matrix. Folds follow the ``next_fold`` protocol.
"""
from __future__ import annotations

import csv
import random
from pathlib import Path

from ..layout import require_dir, require_file
from ..manifest import LabelMap
from .base import AdapterOutput, cv_split


def build_sequences(clips: list[tuple[str, float, str]], *, seconds: float, seed: int) -> list[list[list]]:
    """``clips`` ``(path, duration, class)`` -> sequences of ``[path, offset, duration, class]`` segments."""
    clips = sorted(clips)
    random.Random(seed).shuffle(clips)
    sequences, current, filled = [], [], 0.0
    for path, dur, cls in clips:
        take = min(dur, seconds - filled)
        current.append([path, 0.0, round(take, 4), cls])
        filled += take
        if filled >= seconds - 1e-6:
            sequences.append(current)
            current, filled = [], 0.0
    if filled >= 1.0:
        sequences.append(current)
    return sequences


def urbansound8k_dasl(root: Path, *, fold: int, folds: tuple[int, ...] = tuple(range(1, 11)),
                      sequence_seconds: int = 60, name: str = "UrbanSound8K", **_: object) -> AdapterOutput:
    meta = require_file(root, "metadata/UrbanSound8K.csv", name)
    audio = require_dir(root, "audio", name)
    with meta.open(newline="") as f:
        rows = list(csv.DictReader(f))
    classes = sorted({(int(r["classID"]), r["class"]) for r in rows})
    missing: list[str] = []
    per_fold: dict[int, list[tuple[str, float, str]]] = {k: [] for k in folds}
    for k in folds:
        require_dir(root, f"audio/fold{k}", name)
    for r in rows:
        path = audio / f"fold{r['fold']}" / r["slice_file_name"]
        if not path.is_file():
            missing.append(str(path))
            continue
        per_fold.setdefault(int(r["fold"]), []).append((str(path), float(r["end"]) - float(r["start"]), r["class"]))
    splits: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    for k in folds:
        for i, seq in enumerate(build_sequences(per_fold[k], seconds=sequence_seconds, seed=k)):
            total = round(sum(s[2] for s in seq), 4)
            entry = {"wav": seq[0][0], "labels": ",".join(sorted({s[3] for s in seq})), "segments": seq,
                     "seconds": total, "fold": k, "sequence": i}
            splits[cv_split(k, test_fold=fold, folds=folds)].append(entry)
    return AdapterOutput(labels=LabelMap.from_mids(c for _, c in classes), splits=splits, missing=missing)
