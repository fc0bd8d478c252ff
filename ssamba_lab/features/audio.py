"""Audio loading: soundfile decode, stereo mixed down, resampled to 16 kHz with torchaudio."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

SAMPLE_RATE = 16_000


class AudioError(ValueError):
    """A file that cannot be turned into usable audio; the message names the file."""


def load_audio(path: str | Path, *, sample_rate: int = SAMPLE_RATE, start: int = 0, frames: int = -1) -> torch.Tensor:
    """Read an audio file as a mono float32 waveform at ``sample_rate``.

    Returns ``[samples]``. ``start``/``frames`` select a window in the file's own sample rate.
    Raises :class:`AudioError` naming the file for unreadable, empty or non-finite audio.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"audio file not found: {path}")
    try:
        data, sr = sf.read(str(path), start=start, frames=frames, dtype="float32", always_2d=True)  # [samples, ch]
    except Exception as exc:  # soundfile raises LibsndfileError / RuntimeError for corrupt files
        raise AudioError(f"cannot decode audio file {path}: {exc}") from exc
    if data.size == 0:
        if start > 0:  # a window past the end reads nothing from a file that has samples
            total = sf.info(str(path)).frames
            if total > 0:
                raise AudioError(f"audio window starts past the end of {path}: start sample {start}, but the file "
                                 f"has {total} samples")
        raise AudioError(f"audio file is empty: {path}")
    wav = torch.from_numpy(np.ascontiguousarray(data.mean(axis=1)))  # [samples], stereo averaged
    if not torch.isfinite(wav).all():
        raise AudioError(f"audio file contains NaN or Inf samples: {path}")
    return resample(wav, sr, sample_rate)


def resample(wav: torch.Tensor, orig_sr: int, new_sr: int = SAMPLE_RATE) -> torch.Tensor:
    """Resample ``[..., samples]`` with torchaudio's windowed-sinc resampler (no-op when rates match)."""
    if orig_sr == new_sr:
        return wav
    return AF.resample(wav, orig_sr, new_sr)
