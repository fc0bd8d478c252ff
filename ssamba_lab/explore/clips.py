"""Clips for the explorer: normalised model-input features plus what is needed to undo the normalisation."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..features import AUDIOSET_STATS, FbankStats, LogMel, crop_frames, kaldi_fbank, load_audio, normalize, pad_or_crop
from ..models import EncoderConfig

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")


@dataclass(frozen=True)
class FeatureScale:
    """How model-input features map back to natural-log mel power: ``log_mel = x * factor * std + mean``.

    Kaldi fbank (SSAMBA / SSAST): dataset stats, ``factor = 2``; SSAM log-mel: the clip's own mean/std, ``factor = 1``.
    """

    frontend: str  # 'fbank' | 'logmel'
    mean: float
    std: float
    factor: float

    def denormalize(self, feats: torch.Tensor) -> torch.Tensor:
        """Normalised ``[..., frames, bins]`` -> log mel power, same shape."""
        return feats * (self.factor * self.std) + self.mean


@dataclass(frozen=True)
class Clip:
    """``features``: normalised ``[frames, bins]`` exactly as the encoder sees them."""

    name: str
    features: torch.Tensor
    scale: FeatureScale
    source: Path | None = None


def clip_from_features(name: str, features: torch.Tensor, scale: FeatureScale | None = None) -> Clip:
    """Wrap already-normalised features ``[frames, bins]``; ``scale`` defaults to fbank with AudioSet stats."""
    assert features.dim() == 2, f"clip features must be [frames, bins], got shape {tuple(features.shape)}"
    scale = scale or FeatureScale("fbank", AUDIOSET_STATS.mean, AUDIOSET_STATS.std, 2.0)
    return Clip(name=name, features=features.float(), scale=scale)


def load_clip(path: str | Path, *, config: EncoderConfig, frames: int | None = None,
              stats: FbankStats | None = None, name: str | None = None) -> Clip:
    """Audio file -> :class:`Clip` with the frontend of ``config`` (``frames`` defaults to ``config.input_tdim``).

    fbank: Kaldi fbank padded/cropped from the start, normalised with ``stats`` (default: the AudioSet /
    pretraining stats). logmel: SSAM log-mel, centre crop, per-clip normalisation.
    """
    path = Path(path)
    frames = frames or config.input_tdim
    wav = load_audio(path)  # [samples]
    if config.frontend == "fbank":
        assert config.input_fdim == 128, f"the Kaldi fbank frontend gives 128 bins, encoder wants {config.input_fdim}"
        stats = stats or AUDIOSET_STATS
        feats = normalize(pad_or_crop(kaldi_fbank(wav), frames), stats)  # [frames, 128]
        scale = FeatureScale("fbank", stats.mean, stats.std, 2.0)
    else:
        logmel = crop_frames(LogMel(n_mels=config.input_fdim)(wav), frames, train=False)  # [frames, bins]
        mean, std = float(logmel.mean()), float(logmel.std()) + 1e-8  # per_clip_normalize's eps
        feats = (logmel - mean) / std  # [frames, bins]
        scale = FeatureScale("logmel", mean, std, 1.0)
    return Clip(name=name or path.stem, features=feats.float(), scale=scale, source=path)


def find_clips(folder: str | Path, *, limit: int | None = None) -> dict[str, Path]:
    """Audio files under ``folder`` (recursive, sorted), keyed by their path relative to it."""
    folder = Path(folder)
    assert folder.is_dir(), f"clip folder not found: {folder}"
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())
    return {str(p.relative_to(folder)): p for p in files[:limit]}
