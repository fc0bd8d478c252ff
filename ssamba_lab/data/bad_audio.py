"""Bad audio: inspect files, repair what can be repaired, skip the rest with the file named in a report.

Problems and what happens to the file:

============  ============================================  =========
problem       meaning                                       action
============  ============================================  =========
missing       listed but not on disk                        skipped
corrupt       cannot be decoded                             skipped
empty         zero samples                                  skipped
nonfinite     NaN or Inf samples                            skipped
silent        peak amplitude below ``silence_peak``          skipped
truncated     a WAV whose data chunk ends past the file     skipped
              (an interrupted download or copy: libsndfile
              reads the part that is there without error)
too_short     shorter than ``min_seconds``                   repaired: zero-padded
stereo        more than one channel                         repaired: channels averaged
sample_rate   not 16 kHz                                    repaired: resampled
============  ============================================  =========

:func:`load_waveform` applies the repairs and raises :class:`~ssamba_lab.features.AudioError` (naming the
file and the problem) for the skip kinds; the dataset catches it, logs it and substitutes another clip, so one
bad file never ends a run. :func:`audit_entries` checks a manifest up front and returns the entries to keep
plus a :class:`BadAudioReport`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import soundfile as sf
import torch
import torch.nn.functional as F

from ssamba_lab.features import SAMPLE_RATE, AudioError, load_audio

from .manifest import write_text_atomic

SKIP = ("missing", "corrupt", "empty", "nonfinite", "silent", "truncated")
REPAIR = ("too_short", "stereo", "sample_rate")


@dataclass(frozen=True)
class AudioCheckConfig:
    """Thresholds for :func:`inspect_file` / :func:`load_waveform`."""

    sample_rate: int = SAMPLE_RATE
    min_seconds: float = 0.1  # shorter clips are zero-padded to this length
    silence_peak: float = 1e-6  # peak |x| below this (full scale 1.0) counts as silent


def inspect_file(path: str | Path, *, config: AudioCheckConfig = AudioCheckConfig()) -> list[str]:
    """The problems of one file (empty list = clean). Decodes the whole file."""
    path = Path(path)
    if not path.is_file():
        return ["missing"]
    try:
        info = sf.info(str(path))
        data, _ = sf.read(str(path), dtype="float32", always_2d=True)  # [samples, channels]
    except Exception:  # libsndfile raises several types for broken files
        return ["corrupt"]
    if data.size == 0:
        return ["empty"]
    if path.suffix.lower() == ".wav" and wav_truncated(path):
        return ["truncated"]
    problems = []
    if not np.isfinite(data).all():
        return ["nonfinite"]
    if np.abs(data).max() < config.silence_peak:
        problems.append("silent")
    if info.channels > 1:
        problems.append("stereo")
    if info.samplerate != config.sample_rate:
        problems.append("sample_rate")
    if data.shape[0] / info.samplerate < config.min_seconds:
        problems.append("too_short")
    return problems


def wav_truncated(path: str | Path) -> bool:
    """A RIFF / WAVE file whose ``data`` chunk declares more bytes than the file holds after it (other formats,
    and streamed WAVs that leave the size 0 or 0xFFFFFFFF, are not judged)."""
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return False
        pos = 12
        while pos + 8 <= size:  # chunks: 4-byte id, 4-byte little-endian size, the body padded to even length
            f.seek(pos)
            chunk = f.read(8)
            n = int.from_bytes(chunk[4:], "little")
            if chunk[:4] == b"data":
                return n not in (0, 0xFFFFFFFF) and pos + 8 + n > size
            pos += 8 + n + (n & 1)
    return False


def _read_window(path: str, start: float | None, duration: float | None, sample_rate: int) -> torch.Tensor:
    if start is None and duration is None:
        return load_audio(path, sample_rate=sample_rate)  # [samples]
    if not Path(path).is_file():
        raise AudioError(f"audio file not found: {path}")
    try:
        info = sf.info(path)
    except Exception as exc:
        raise AudioError(f"cannot decode audio file {path}: {exc}") from exc
    sr = info.samplerate
    first = int(round((start or 0.0) * sr))
    if first >= info.frames > 0:  # (an empty file is load_audio's "empty" error)
        raise AudioError(f"audio window starts past the end of {path}: start {start} s, but the file lasts "
                         f"{info.duration:.3f} s")
    frames = -1 if duration is None else int(round(duration * sr))
    return load_audio(path, sample_rate=sample_rate, start=first, frames=frames)  # [samples]


def load_waveform(entry: dict, *, config: AudioCheckConfig = AudioCheckConfig()) -> torch.Tensor:
    """A manifest entry -> repaired mono waveform ``[samples]`` at ``config.sample_rate``.

    Honours ``start``/``duration`` (seconds) and ``segments`` (concatenated in order, each trimmed or
    zero-padded to its stated duration). Raises ``AudioError`` naming the file for the skip kinds.
    """
    sr = config.sample_rate
    if "segments" in entry:
        parts = []
        for path, offset, dur, _cls in entry["segments"]:
            wav = _read_window(path, offset, dur, sr)  # [samples]
            _check_signal(wav, path, config)
            n = int(round(dur * sr))
            parts.append(F.pad(wav[:n], (0, max(0, n - wav.shape[0]))))  # [n]
        wav = torch.cat(parts)  # [sum of segment samples]
    else:
        wav = _read_window(entry["wav"], entry.get("start"), entry.get("duration"), sr)  # [samples]
        _check_signal(wav, entry["wav"], config)
    min_len = int(config.min_seconds * sr)
    if wav.shape[0] < min_len:
        wav = F.pad(wav, (0, min_len - wav.shape[0]))  # [min_len]
    return wav


def _check_signal(wav: torch.Tensor, path: str, config: AudioCheckConfig) -> None:
    if wav.numel() == 0:
        raise AudioError(f"audio window is empty: {path}")
    if wav.abs().max() < config.silence_peak:
        raise AudioError(f"audio file is silent (peak below {config.silence_peak}): {path}")


@dataclass
class BadAudioReport:
    """Files with problems: ``rows`` of ``{"path", "problems", "action"}`` and how many files were checked."""

    checked: int = 0
    rows: list[dict] = field(default_factory=list)

    @property
    def skipped(self) -> list[dict]:
        return [r for r in self.rows if r["action"] == "skipped"]

    @property
    def repaired(self) -> list[dict]:
        return [r for r in self.rows if r["action"] == "repaired"]

    def add(self, path: str, problems: list[str]) -> str:
        action = "skipped" if any(p in SKIP for p in problems) else "repaired" if problems else "ok"
        if problems:
            self.rows.append({"path": str(path), "problems": problems, "action": action})
        return action

    def summary(self) -> str:
        return (f"checked {self.checked} files: {len(self.skipped)} skipped, {len(self.repaired)} repaired"
                + "".join(f"\n  {r['action']}: {r['path']} ({', '.join(r['problems'])})" for r in self.rows[:50])
                + (f"\n  ... {len(self.rows) - 50} more" if len(self.rows) > 50 else ""))

    def to_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps({"checked": self.checked, "rows": self.rows}, indent=1))
        return path


def audit_entries(entries: Iterable[dict], report: BadAudioReport, *,
                  config: AudioCheckConfig = AudioCheckConfig()) -> Iterator[dict]:
    """Yield the entries whose files are usable (clean or repairable); record every problem in ``report``.

    Each distinct file is inspected once (windows of one file share the verdict).
    """
    verdicts: dict[str, str] = {}
    for entry in entries:
        paths = [s[0] for s in entry["segments"]] if "segments" in entry else [entry["wav"]]
        keep = True
        for p in paths:
            if p not in verdicts:
                report.checked += 1
                verdicts[p] = report.add(p, inspect_file(p, config=config))
            keep = keep and verdicts[p] != "skipped"
        if keep:
            yield entry
