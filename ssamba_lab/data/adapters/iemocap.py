"""IEMOCAP (``er``): 4 classes (neutral, happy + excited, sad, angry), leave-one-session-out.

Layout: ``<root>/Session{1..5}/dialog/EmoEvaluation/<dialog>.txt`` with lines
``[6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[2.5, 2.5, 2.5]`` and audio in
``<root>/SessionN/sentences/wav/<dialog>/<utterance>.wav``. Other emotions (fru, sur, fea, dis, oth, xxx) are
dropped. Test = session ``fold``; validation = utterances of the other sessions (``validation_fraction`` of them,
chosen by a hash of the utterance id, at least one); train = the rest.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..layout import hash_fraction, holdout_threshold, require_dir
from ..manifest import LabelMap
from .base import AdapterOutput

EMOTIONS = {"neu": "neutral", "hap": "happy", "exc": "happy", "sad": "sad", "ang": "angry"}
CLASSES = ("neutral", "happy", "sad", "angry")
_LINE = re.compile(r"^\[(\d+\.?\d*) - (\d+\.?\d*)\]\t(\S+)\t(\S+)\t")


def iemocap(root: Path, *, fold: int, folds: tuple[int, ...] = (1, 2, 3, 4, 5), validation_fraction: float = 0.1,
            name: str = "IEMOCAP", **_: object) -> AdapterOutput:
    assert fold in folds, f"IEMOCAP: test session {fold} is not one of {folds}"
    splits: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    missing: list[str] = []
    rows = []
    for session in folds:
        evals = require_dir(root, f"Session{session}/dialog/EmoEvaluation", name)
        wavs = require_dir(root, f"Session{session}/sentences/wav", name)
        for txt in sorted(evals.glob("*.txt")):
            for line in txt.read_text(errors="replace").splitlines():
                m = _LINE.match(line)
                if m is None or m.group(4) not in EMOTIONS:
                    continue
                utt = m.group(3)
                path = wavs / txt.stem / f"{utt}.wav"
                if not path.is_file():
                    missing.append(str(path))
                    continue
                rows.append((session, utt, {"wav": str(path), "labels": EMOTIONS[m.group(4)], "session": session,
                                            "speaker": f"{session}{utt.split('_')[-1][0]}"}))
    t = holdout_threshold((utt for s, utt, _ in rows if s != fold), validation_fraction)
    for session, utt, entry in rows:
        split = "test" if session == fold else "validation" if hash_fraction(utt) < t else "train"
        splits[split].append(entry)
    return AdapterOutput(labels=LabelMap.from_mids(CLASSES), splits=splits, missing=missing)
