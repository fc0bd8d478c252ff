"""ESC-50 (``esc``): ``meta/esc50.csv`` + ``audio/*.wav``, five folds.

CSV columns: ``filename,fold,target,category,esc10,src_file,take``. Labels are the categories ordered by
``target``. For test fold k the validation fold is k+1 (cyclic), the others train.
"""
from __future__ import annotations

import csv
from pathlib import Path

from ..layout import require_dir, require_file
from ..manifest import LabelMap
from .base import AdapterOutput, cv_split


def esc50(root: Path, *, fold: int, folds: tuple[int, ...] = (1, 2, 3, 4, 5), name: str = "ESC-50",
          **_: object) -> AdapterOutput:
    meta = require_file(root, "meta/esc50.csv", name)
    audio = require_dir(root, "audio", name)
    with meta.open(newline="") as f:
        rows = list(csv.DictReader(f))
    classes = sorted({(int(r["target"]), r["category"]) for r in rows})
    assert [t for t, _ in classes] == list(range(len(classes))), f"{meta}: targets must be 0..K-1, one per category"
    splits: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    missing: list[str] = []
    for r in sorted(rows, key=lambda r: r["filename"]):
        path = audio / r["filename"]
        if not path.is_file():
            missing.append(str(path))
            continue
        split = cv_split(int(r["fold"]), test_fold=fold, folds=folds)
        splits[split].append({"wav": str(path), "labels": r["category"], "fold": int(r["fold"])})
    return AdapterOutput(labels=LabelMap.from_mids(c for _, c in classes), splits=splits, missing=missing)
