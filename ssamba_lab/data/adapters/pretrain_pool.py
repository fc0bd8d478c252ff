"""The unlabeled pretraining pool: LibriSpeech pieces + AudioSet unbalanced train, whichever are present.

``<data_root>/LibriSpeech`` (or ``librispeech``) and ``<data_root>/audioset`` (or ``AudioSet``) with an
``unbalanced_train_segments.csv``. At least one must exist.
"""
from __future__ import annotations

import itertools
from pathlib import Path

from ..layout import LayoutError
from ..manifest import LabelMap
from .audioset import audioset_unbalanced
from .base import AdapterOutput
from .librispeech import librispeech

LIBRISPEECH_DIRS = ("LibriSpeech", "librispeech")
AUDIOSET_DIRS = ("audioset", "AudioSet")


def pretrain_pool(root: Path, *, piece_seconds: float = 10.0, validation_fraction: float = 0.01,
                  **_: object) -> AdapterOutput:
    parts: list[AdapterOutput] = []
    libri = next((root / d for d in LIBRISPEECH_DIRS if (root / d).is_dir()), None)
    aset = next((root / d for d in AUDIOSET_DIRS if (root / d / "unbalanced_train_segments.csv").is_file()), None)
    if libri is not None:
        parts.append(librispeech(libri, piece_seconds=piece_seconds, validation_fraction=validation_fraction))
    if aset is not None:
        parts.append(audioset_unbalanced(aset, validation_fraction=validation_fraction))
    if not parts:
        raise LayoutError(f"pretraining pool: neither {root}/LibriSpeech nor "
                          f"{root}/audioset/unbalanced_train_segments.csv exists")
    missing = parts[-1].missing  # the AudioSet part's list (filled while its entries stream); LibriSpeech has none
    splits = {s: itertools.chain.from_iterable([p.splits.get(s, ()) for p in parts]) for s in ("train", "validation")}
    return AdapterOutput(labels=LabelMap((), ()), splits=splits, missing=missing)
