"""The SSAST / SSAMBA Kaldi fbank frontend and the published per-dataset normalisation statistics."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import torch
import torch.nn.functional as F
import torchaudio.compliance.kaldi as kaldi

from ..config_checks import check_field_types
from .audio import SAMPLE_RATE

NUM_MEL_BINS = 128


@dataclass(frozen=True)
class FbankStats:
    """Dataset-level fbank statistics used as ``(x - mean) / (2 * std)``."""

    mean: float
    std: float

    def __post_init__(self):
        check_field_types(self)


# Published constants (SSAST / SSAMBA recipes); see SSAMBA_FACTS section 1.
AUDIOSET_STATS = FbankStats(-4.2677393, 4.5689974)  # also the AudioSet + LibriSpeech pretraining mix
ESC50_STATS = FbankStats(-6.6268077, 5.358466)
SPEECHCOMMANDS_STATS = FbankStats(-6.845978, 5.5654526)
URBANSOUND8K_STATS = FbankStats(-5.138443946838379, 4.229961395263672)

PUBLISHED_STATS: dict[str, FbankStats] = {
    "audioset": AUDIOSET_STATS,
    "pretrain": AUDIOSET_STATS,
    "esc50": ESC50_STATS,
    "speechcommands": SPEECHCOMMANDS_STATS,
    "urbansound8k": URBANSOUND8K_STATS,
}


def kaldi_fbank(wav: torch.Tensor, *, sample_rate: int = SAMPLE_RATE, num_mel_bins: int = NUM_MEL_BINS) -> torch.Tensor:
    """Kaldi-compatible log mel filterbank exactly as SSAST/SSAMBA compute it.

    ``wav``: ``[samples]`` mono at 16 kHz. Returns ``[frames, num_mel_bins]`` (10 ms shift, 25 ms window).
    """
    assert wav.dim() == 1, f"kaldi_fbank expects a mono waveform [samples], got shape {tuple(wav.shape)}"
    wav = wav - wav.mean()  # DC removal as in the originals
    return kaldi.fbank(
        wav.unsqueeze(0),  # [1, samples]
        htk_compat=True,
        sample_frequency=sample_rate,
        use_energy=False,
        window_type="hanning",
        num_mel_bins=num_mel_bins,
        dither=0.0,
        frame_shift=10,
    )  # [frames, mel]


def pad_or_crop(feats: torch.Tensor, target_length: int) -> torch.Tensor:
    """Zero-pad or crop ``[frames, bins]`` to ``[target_length, bins]`` (from the start, as the originals)."""
    n = feats.shape[0]
    if n < target_length:
        return F.pad(feats, (0, 0, 0, target_length - n))  # [target_length, bins]
    return feats[:target_length]


def normalize(feats: torch.Tensor, stats: FbankStats) -> torch.Tensor:
    """``(x - mean) / (2 * std)``, the SSAST normalisation."""
    return (feats - stats.mean) / (2.0 * stats.std)


def fbank_features(wav: torch.Tensor, *, target_length: int, stats: FbankStats | None) -> torch.Tensor:
    """Waveform -> padded/cropped (then normalised when ``stats`` is given) fbank ``[target_length, 128]``."""
    feats = pad_or_crop(kaldi_fbank(wav), target_length)  # [T, 128]
    return normalize(feats, stats) if stats is not None else feats


def compute_stats(features: Iterable[torch.Tensor]) -> FbankStats:
    """Mean and standard deviation over every value of every ``[frames, bins]`` array (streaming, float64).

    Pass un-normalised, un-padded fbanks (e.g. ``kaldi_fbank(load_audio(p))`` over a manifest).
    """
    total, total_sq, count = 0.0, 0.0, 0
    for feats in features:
        f64 = feats.double()
        total += f64.sum().item()
        total_sq += (f64 * f64).sum().item()
        count += f64.numel()
    if count == 0:
        raise ValueError("compute_stats received no features")
    mean = total / count
    var = max(total_sq / count - mean * mean, 0.0)
    return FbankStats(mean=mean, std=var**0.5)
