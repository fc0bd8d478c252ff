"""Speech Commands v0.01 (``ks1``, SUPERB protocol) and v0.02 (``ks2``, 35 words).

Official layout::

    <root>/validation_list.txt   testing_list.txt   (relative paths "word/xxxx_nohash_n.wav")
    <root>/<word>/*.wav          one folder per word
    <root>/_background_noise_/*.wav

ks1: labels = 10 words + ``_silence_`` + ``_unknown_`` (every other word). ``_silence_`` entries are the
consecutive 1-s windows of the background-noise files, assigned 80/10/10 to train/validation/test by a
hash of ``file:index``. ks2: the 35 words of v0.02; a missing word folder is a layout error.
"""
from __future__ import annotations

from pathlib import Path

from ..layout import LayoutError, hash_fraction, require_dir, require_file
from ..manifest import LabelMap
from .base import AdapterOutput, audio_seconds

KS1_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
SILENCE, UNKNOWN = "_silence_", "_unknown_"
V1_WORDS = KS1_WORDS + ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "bed",
                        "bird", "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow")
V2_WORDS = V1_WORDS + ("backward", "forward", "follow", "learn", "visual")
NOISE_DIR = "_background_noise_"


def _lists(root: Path, name: str) -> tuple[set[str], set[str]]:
    val = require_file(root, "validation_list.txt", name).read_text().split()
    test = require_file(root, "testing_list.txt", name).read_text().split()
    return set(val), set(test)


def _word_files(root: Path) -> list[tuple[str, Path]]:
    return [(d.name, p) for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith("_")
            for p in sorted(d.glob("*.wav"))]


def _split_of(rel: str, val: set[str], test: set[str]) -> str:
    return "test" if rel in test else "validation" if rel in val else "train"


def speech_commands_v1(root: Path, *, name: str = "speech_commands_v0.01", **_: object) -> AdapterOutput:
    """ks1 manifests (SUPERB protocol) from a v0.01 tree."""
    val, test = _lists(root, name)
    for word in KS1_WORDS:
        require_dir(root, word, name)
    noise_dir = require_dir(root, NOISE_DIR, name)
    splits: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    for word, path in _word_files(root):
        label = word if word in KS1_WORDS else UNKNOWN
        splits[_split_of(f"{word}/{path.name}", val, test)].append({"wav": str(path), "labels": label, "word": word})
    noise_files = sorted(noise_dir.glob("*.wav"))
    if not noise_files:
        raise LayoutError(f"{name}: no .wav files in {noise_dir} (needed for the _silence_ class)")
    bad: list[tuple[str, list[str]]] = []
    for path in noise_files:
        seconds = audio_seconds(path, bad)  # an unreadable noise file is reported and skipped like any clip
        for i in range(int(seconds or 0)):
            h = hash_fraction(f"{path.name}:{i}")
            split = "train" if h < 0.8 else "validation" if h < 0.9 else "test"
            splits[split].append({"wav": str(path), "labels": SILENCE, "start": float(i), "duration": 1.0})
    if len(bad) == len(noise_files):
        raise LayoutError(f"{name}: no readable .wav file in {noise_dir} (needed for the _silence_ class): "
                          + ", ".join(f"{p} ({', '.join(k)})" for p, k in bad))
    labels = LabelMap.from_mids(KS1_WORDS + (SILENCE, UNKNOWN))
    return AdapterOutput(labels=labels, splits=splits, bad=bad)


def speech_commands_v2(root: Path, *, name: str = "speech_commands_v0.02", **_: object) -> AdapterOutput:
    """ks2 manifests (35 words, official lists) from a v0.02 tree."""
    val, test = _lists(root, name)
    for word in V2_WORDS:
        require_dir(root, word, name)
    splits: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    for word, path in _word_files(root):
        if word in V2_WORDS:
            splits[_split_of(f"{word}/{path.name}", val, test)].append({"wav": str(path), "labels": word})
    return AdapterOutput(labels=LabelMap.from_mids(V2_WORDS), splits=splits)
