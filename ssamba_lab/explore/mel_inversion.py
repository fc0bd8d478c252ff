"""Listen to features: normalised log-mel -> waveform by mel-filterbank pseudo-inversion + Griffin-Lim.

The Kaldi fbank is approximated by librosa's HTK mel filterbank (Kaldi's triangles are linear in mel, librosa's
in Hz; close enough for listening). librosa's ``mel_to_audio`` solves the mel -> STFT step with NNLS, which takes
~15 s per 2.5 s clip on our CPUs; the pseudo-inverse (clipped at 0) costs milliseconds and sounds the same
through Griffin-Lim's phase noise.
"""
from __future__ import annotations

import io
import warnings
from functools import lru_cache

import librosa
import numpy as np
import soundfile as sf
import torch

from ..features import SAMPLE_RATE
from .clips import FeatureScale

HOP = 160
WIN = 400
# frontend -> (n_fft, fmin): Kaldi pads the 400-sample window to 512; SSAM's MelSpectrogram uses n_fft 400, f_min 50.
FRONTEND_STFT = {"fbank": (512, 20.0), "logmel": (400, 50.0)}


@lru_cache(maxsize=8)
def _mel_pinv(frontend: str, n_mels: int) -> tuple[np.ndarray, int]:
    """Pseudo-inverse of the frontend's mel filterbank ``[n_fft//2 + 1, n_mels]`` and its ``n_fft``."""
    n_fft, fmin = FRONTEND_STFT[frontend]
    with warnings.catch_warnings():  # 128 HTK bands at n_fft 512 leave a few empty low bands (as Kaldi's do)
        warnings.simplefilter("ignore", UserWarning)
        fb = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=SAMPLE_RATE / 2,
                                 htk=True, norm=None)  # [n_mels, n_fft//2 + 1]
    return np.linalg.pinv(fb).astype(np.float32), n_fft


def features_to_audio(features: torch.Tensor | np.ndarray, scale: FeatureScale, *, n_iter: int = 32,
                      seed: int = 0, peak: float | None = 0.9) -> np.ndarray:
    """Normalised features ``[frames, bins]`` -> mono float32 waveform ``[samples]`` at 16 kHz.

    Steps: undo the normalisation (``scale``), exp to mel power, pseudo-inverse to linear power, sqrt to
    magnitude, Griffin-Lim phase (``n_iter`` iterations, seeded). ``peak`` rescales the result's maximum
    amplitude (None keeps the raw scale). NaN entries (e.g. masked-out cells) are treated as silence.
    """
    feats = torch.as_tensor(features, dtype=torch.float32)  # [frames, bins]
    assert feats.dim() == 2, f"features must be [frames, bins], got shape {tuple(feats.shape)}"
    log_mel = scale.denormalize(feats).numpy().T  # [bins, frames]
    mel_power = np.nan_to_num(np.exp(log_mel), nan=0.0)  # [bins, frames]
    pinv, n_fft = _mel_pinv(scale.frontend, log_mel.shape[0])
    magnitude = np.sqrt(np.maximum(pinv @ mel_power, 0.0))  # [n_fft//2 + 1, frames]
    wav = librosa.griffinlim(magnitude, n_iter=n_iter, hop_length=HOP, win_length=WIN, n_fft=n_fft,
                             window="hann", random_state=seed).astype(np.float32)  # [samples]
    if peak is not None:
        top = float(np.abs(wav).max())
        wav = wav * (peak / top) if top > 0 else wav
    return wav


def wav_bytes(wav: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """A mono float waveform ``[samples]`` as 16-bit PCM WAV file bytes (for ``ipywidgets.Audio``)."""
    buf = io.BytesIO()
    sf.write(buf, np.clip(wav, -1.0, 1.0), sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()
