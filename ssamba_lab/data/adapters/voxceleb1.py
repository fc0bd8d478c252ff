"""VoxCeleb1 identification (``sid``): ``iden_split.txt`` + ``wav/idXXXXX/<video>/<nnnnn>.wav``.

``iden_split.txt`` lines are ``<1|2|3> id10001/1zcIwhmdeo4/00001.wav`` (1 train, 2 validation, 3 test); it
may sit in ``<root>`` or ``<root>/meta``. Labels: every speaker id in the split file, sorted.
"""
from __future__ import annotations

from pathlib import Path

from ..layout import LayoutError, require_dir
from ..manifest import LabelMap
from .base import AdapterOutput

SPLIT_CODES = {"1": "train", "2": "validation", "3": "test"}


def voxceleb1(root: Path, *, name: str = "VoxCeleb1", **_: object) -> AdapterOutput:
    split_file = next((p for p in (root / "iden_split.txt", root / "meta" / "iden_split.txt") if p.is_file()), None)
    if split_file is None:
        raise LayoutError(f"{name}: missing file {root / 'iden_split.txt'} (is {root} the dataset's root folder?)")
    wav = require_dir(root, "wav", name)
    splits: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    speakers: set[str] = set()
    missing: list[str] = []
    for line in split_file.read_text().splitlines():
        if not line.strip():
            continue
        code, rel = line.split()
        assert code in SPLIT_CODES, f"{split_file}: split code must be 1, 2 or 3, got {line!r}"
        spk = rel.split("/")[0]
        speakers.add(spk)
        path = wav / rel
        if not path.is_file():
            missing.append(str(path))
            continue
        splits[SPLIT_CODES[code]].append({"wav": str(path), "labels": spk, "speaker": spk})
    return AdapterOutput(labels=LabelMap.from_mids(sorted(speakers)), splits=splits, missing=missing)
