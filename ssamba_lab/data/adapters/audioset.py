"""AudioSet (``as`` and the pretraining pool): segment CSVs + a folder of downloaded clips.

Layout (AudioSet ships only CSVs; the audio folder follows the common download convention)::

    <root>/class_labels_indices.csv                       index,mid,display_name
    <root>/balanced_train_segments.csv  eval_segments.csv  unbalanced_train_segments.csv
    <root>/audio/{balanced_train,eval,unbalanced_train}/<clip>.{wav,flac}

A clip's file stem may be ``<YTID>``, ``Y<YTID>``, ``<YTID>_<start>`` or ``<YTID>_<start>_<end>`` (start/end
as written in the CSV, or as integers). Rows without a downloaded file are reported as missing and skipped.
``as``: balanced train (minus a hashed validation holdout) -> eval. Pretraining: unbalanced train.
Everything is streamed: rows are read lazily and entries yielded one by one.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Iterator

from ..layout import hash_fraction, holdout_threshold, require_dir, require_file
from ..manifest import LabelMap, read_label_csv
from .base import AdapterOutput

AUDIO_EXTS = (".wav", ".flac")
SEGMENT_CSVS = {"balanced_train": "balanced_train_segments.csv", "eval": "eval_segments.csv",
                "unbalanced_train": "unbalanced_train_segments.csv"}


def iter_segments(csv_path: Path) -> Iterator[tuple[str, str, str, str]]:
    """Yield ``(ytid, start, end, "mid1,mid2")`` from an AudioSet segment CSV (comment lines skipped)."""
    with csv_path.open(newline="") as f:
        for row in csv.reader(f, skipinitialspace=True):
            if not row or row[0].startswith("#"):
                continue
            assert len(row) >= 4, f"{csv_path}: expected 'YTID, start, end, labels', got {row}"
            yield row[0], row[1], row[2], row[3]


def index_audio(folder: Path) -> dict[str, str]:
    """Map file stem -> path for every audio file in ``folder`` (one ``scandir``, no per-row stat)."""
    out: dict[str, str] = {}
    with os.scandir(folder) as it:
        for e in it:
            stem, ext = os.path.splitext(e.name)
            if ext.lower() in AUDIO_EXTS:
                out[stem] = e.path
    return out


def _find(index: dict[str, str], ytid: str, start: str, end: str) -> str | None:
    s_int, e_int = str(int(float(start))), str(int(float(end)))
    for stem in (ytid, f"Y{ytid}", f"{ytid}_{start}", f"{ytid}_{s_int}", f"{ytid}_{start}_{end}",
                 f"{ytid}_{s_int}_{e_int}", f"Y{ytid}_{start}_{end}"):
        if stem in index:
            return index[stem]
    return None


def _audio_dir(root: Path, subset: str, name: str) -> Path:
    audio = require_dir(root, "audio", name)
    sub = audio / subset
    return sub if sub.is_dir() else require_dir(root, f"audio/{subset}", name)


def _entries(root: Path, subset: str, name: str, missing: list[str], keep) -> Iterator[dict]:
    csv_path = require_file(root, SEGMENT_CSVS[subset], name)
    index = index_audio(_audio_dir(root, subset, name))
    for ytid, start, end, labels in iter_segments(csv_path):
        if not keep(ytid):
            continue
        path = _find(index, ytid, start, end)
        if path is None:
            missing.append(f"{subset}/{ytid}")
            continue
        yield {"wav": path, "labels": labels}


def _check(root: Path, subsets: tuple[str, ...], name: str) -> LabelMap:
    labels = read_label_csv(require_file(root, "class_labels_indices.csv", name))
    for subset in subsets:
        require_file(root, SEGMENT_CSVS[subset], name)
        _audio_dir(root, subset, name)
    return labels


def audioset_balanced(root: Path, *, validation_fraction: float = 0.1, name: str = "AudioSet",
                      **_: object) -> AdapterOutput:
    """``as``: balanced train -> train/validation (``validation_fraction`` of the YTIDs by hash, at least one), eval -> test."""
    labels = _check(root, ("balanced_train", "eval"), name)
    missing: list[str] = []
    t = holdout_threshold((r[0] for r in iter_segments(root / SEGMENT_CSVS["balanced_train"])), validation_fraction)
    is_val = lambda y: hash_fraction(y) < t  # noqa: E731
    splits = {
        "train": _entries(root, "balanced_train", name, missing, lambda y: not is_val(y)),
        "validation": _entries(root, "balanced_train", name, missing, is_val),
        "test": _entries(root, "eval", name, missing, lambda y: True),
    }
    return AdapterOutput(labels=labels, splits=splits, missing=missing)


def audioset_unbalanced(root: Path, *, validation_fraction: float = 0.01, name: str = "AudioSet",
                        **_: object) -> AdapterOutput:
    """Pretraining: unbalanced train -> train/validation (``validation_fraction`` of the YTIDs by hash, at least one); no test split."""
    labels = _check(root, ("unbalanced_train",), name)
    missing: list[str] = []
    t = holdout_threshold((r[0] for r in iter_segments(root / SEGMENT_CSVS["unbalanced_train"])), validation_fraction)
    is_val = lambda y: hash_fraction(y) < t  # noqa: E731
    splits = {
        "train": _entries(root, "unbalanced_train", name, missing, lambda y: not is_val(y)),
        "validation": _entries(root, "unbalanced_train", name, missing, is_val),
    }
    return AdapterOutput(labels=labels, splits=splits, missing=missing)
