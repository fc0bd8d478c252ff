"""Waveform -> un-windowed features for an encoder, with the time (ms) of each feature frame's centre.

fbank (SSAMBA / SSAST): Kaldi fbank, 25 ms window, 10 ms shift, frames start at sample 0 -> frame ``f`` is centred
at ``10 f + 12.5`` ms; padding is zeros *before* normalisation, as in the originals.
logmel (SSAM): centred STFT frames (frame ``f`` at ``10 f`` ms); per-clip normalisation over the real frames,
padding with zeros after it.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..config_checks import check_field_types, check_positive
from ..features import AUDIOSET_STATS, FbankStats, LogMel, kaldi_fbank, normalize, per_clip_normalize

FRAME_SHIFT_MS = 10.0
KALDI_WINDOW = 400  # samples (25 ms): shorter waveforms are zero-padded to one frame
LOGMEL_MIN = 201  # the centred STFT reflect-pads n_fft/2 = 200 samples: it needs more than that


@dataclass
class Frontend:
    """``kind``: 'fbank' or 'logmel'; ``stats``: fbank normalisation (default: the pretraining mix's)."""

    kind: str
    stats: FbankStats = AUDIOSET_STATS
    bins: int = 128

    def __post_init__(self) -> None:
        check_field_types(self)
        check_positive(self, "bins")
        assert self.kind in ("fbank", "logmel"), f"frontend must be 'fbank' or 'logmel', got {self.kind!r}"
        self._logmel = LogMel(n_mels=self.bins) if self.kind == "logmel" else None

    @property
    def first_centre_ms(self) -> float:
        return 12.5 if self.kind == "fbank" else 0.0

    def frame_centre_ms(self, frame: torch.Tensor | float) -> torch.Tensor | float:
        """Centre time of (fractional) frame index ``frame``."""
        return frame * FRAME_SHIFT_MS + self.first_centre_ms

    def num_frames(self, n_samples: int) -> int:
        """Real frames of a waveform of ``n_samples`` (before padding), as :meth:`features` produces them."""
        if self.kind == "fbank":
            return 1 + (max(n_samples, KALDI_WINDOW) - KALDI_WINDOW) // 160
        return 1 + max(n_samples, LOGMEL_MIN) // 160

    def features(self, wav: torch.Tensor, *, pad_to: int) -> torch.Tensor:
        """wav ``[samples]`` (16 kHz mono) -> normalised features ``[max(pad_to, frames), bins]``."""
        assert wav.dim() == 1, f"one waveform [samples] at a time, got shape {tuple(wav.shape)}"
        wav = wav.float().cpu()
        if self.kind == "fbank":
            if wav.numel() < KALDI_WINDOW:
                wav = F.pad(wav, (0, KALDI_WINDOW - wav.numel()))
            feats = kaldi_fbank(wav, num_mel_bins=self.bins)  # [frames, bins]
            feats = F.pad(feats, (0, 0, 0, max(0, pad_to - feats.shape[0])))  # zeros before normalisation
            return normalize(feats, self.stats)  # [T, bins]
        if wav.numel() < LOGMEL_MIN:
            wav = F.pad(wav, (0, LOGMEL_MIN - wav.numel()))
        feats = per_clip_normalize(self._logmel(wav))  # [frames, bins]
        return F.pad(feats, (0, 0, 0, max(0, pad_to - feats.shape[0])))  # [T, bins]


def frontend_for(encoder, *, stats: FbankStats | None = None) -> Frontend:
    """The frontend an encoder was trained with (``config.frontend``)."""
    c = encoder.config
    return Frontend(kind=c.frontend, stats=stats or AUDIOSET_STATS, bins=c.input_fdim)
