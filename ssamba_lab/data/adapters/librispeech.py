"""LibriSpeech (pretraining pool): utterances cut into fixed-length pieces, no labels.

Layout: ``<root>/<subset>/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac`` with subsets such as
``train-clean-100``, ``train-clean-360``, ``train-other-500``, ``dev-clean``, ``dev-other``, ``test-clean``
(``<root>`` may be the ``LibriSpeech`` folder or its parent). ``train-*`` -> train, ``dev-*`` -> validation,
``test-*`` -> test. With no ``dev-*`` subset, speakers whose id hashes below ``validation_fraction`` go to
validation. Each utterance becomes pieces ``{"start": k * piece, "duration": piece}``; a last remainder of at
least one second is kept as a shorter piece.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ..layout import LayoutError, hash_fraction, holdout_threshold
from ..manifest import LabelMap
from .base import AdapterOutput, audio_seconds

PREFIXES = {"train": "train-", "validation": "dev-", "test": "test-"}


def find_root(root: Path) -> Path:
    for cand in (root, root / "LibriSpeech"):
        if cand.is_dir() and any(p.is_dir() and p.name.startswith(tuple(PREFIXES.values())) for p in cand.iterdir()):
            return cand
    raise LayoutError(f"LibriSpeech: no subset folder (train-*, dev-*, test-*) in {root} or {root / 'LibriSpeech'}")


def _pieces(path: Path, piece_seconds: float, bad: list) -> Iterator[dict]:
    dur = audio_seconds(path, bad)  # None: unreadable, reported via AdapterOutput.bad
    if dur is None:
        return
    start = 0.0
    while dur - start >= min(1.0, piece_seconds):
        length = min(piece_seconds, dur - start)
        yield {"wav": str(path), "labels": "", "start": round(start, 4), "duration": round(length, 4),
               "speaker": path.name.split("-")[0]}
        start += piece_seconds


def _subset_entries(root: Path, prefix: str, piece_seconds: float, keep, bad: list) -> Iterator[dict]:
    for subset in sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(prefix)):
        for path in sorted(subset.glob("*/*/*.flac")):
            if keep(path.name.split("-")[0]):
                yield from _pieces(path, piece_seconds, bad)


def librispeech(root: Path, *, piece_seconds: float = 10.0, validation_fraction: float = 0.01,
                **_: object) -> AdapterOutput:
    root = find_root(root)
    assert piece_seconds > 0, f"piece_seconds must be positive, got {piece_seconds}"
    bad: list[tuple[str, list[str]]] = []
    has_dev = any(p.name.startswith("dev-") for p in root.iterdir() if p.is_dir())
    if has_dev:
        train = _subset_entries(root, "train-", piece_seconds, lambda s: True, bad)
        val = _subset_entries(root, "dev-", piece_seconds, lambda s: True, bad)
    else:
        spks = {p.name for sub in root.iterdir() if sub.name.startswith("train-") for p in sub.iterdir() if p.is_dir()}
        t = holdout_threshold((f"spk{s}" for s in spks), validation_fraction)
        is_val = lambda s: hash_fraction(f"spk{s}") < t  # noqa: E731
        train = _subset_entries(root, "train-", piece_seconds, lambda s: not is_val(s), bad)
        val = _subset_entries(root, "train-", piece_seconds, is_val, bad)
    test = _subset_entries(root, "test-", piece_seconds, lambda s: True, bad)
    return AdapterOutput(labels=LabelMap((), ()), splits={"train": train, "validation": val, "test": test}, bad=bad)
