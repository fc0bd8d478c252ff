"""Clips for the explorer: normalised model-input features plus what is needed to undo the normalisation."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..features import (
    AUDIOSET_STATS,
    FbankStats,
    LogMel,
    crop_frames,
    kaldi_fbank,
    load_audio,
    normalize,
    pad_or_crop,
)
from ..models import EncoderConfig

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
MIN_SAMPLES = 400  # one 25 ms analysis window at 16 kHz (Kaldi fbank and the SSAM log-mel alike)


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
    # a clip shorter than one analysis window (25 ms) is zero-padded to one, as the data pipeline pads short clips
    wav = torch.nn.functional.pad(wav, (0, max(0, MIN_SAMPLES - wav.shape[0])))  # [>= MIN_SAMPLES]
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


def sample_clips(folder: str | Path, count: int) -> dict[str, Path]:
    """``count`` audio files spread over ``folder``'s top-level subfolders (round robin over the sorted file
    lists, so a corpus of several datasets contributes one clip of each before a second of any)."""
    found = find_clips(folder)
    groups: dict[str, list[str]] = {}
    for rel in found:
        groups.setdefault(Path(rel).parts[0] if len(Path(rel).parts) > 1 else ".", []).append(rel)
    picked: list[str] = []
    while len(picked) < min(count, len(found)):
        for names in groups.values():
            if names and len(picked) < count:
                picked.append(names.pop(0))
    return {rel: found[rel] for rel in picked}


def write_synthetic_clips(folder: str | Path, *, seconds: float = 2.56, seed: int = 0) -> dict[str, Path]:
    """Write four procedural 16 kHz clips (harmonic tone, chirp, noise bursts, tone + noise) to ``folder``; a
    stand-in when no corpus is at hand, so the notebook still has something with structure to mask."""
    import numpy as np
    import soundfile as sf

    from ..features import SAMPLE_RATE

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE  # [samples]
    harmonic = sum(np.sin(2 * np.pi * 220 * k * t) / k for k in range(1, 8))
    chirp = np.sin(2 * np.pi * (100 * t + 1200 * t**2))
    bursts = rng.standard_normal(t.size) * (np.sin(2 * np.pi * 2 * t) > 0.6)
    mixed = np.sin(2 * np.pi * 880 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2 + 0.2 * rng.standard_normal(t.size)
    out = {}
    for name, wav in (("harmonic", harmonic), ("chirp", chirp), ("bursts", bursts), ("tone_noise", mixed)):
        path = folder / f"{name}.wav"
        sf.write(path, (0.5 * wav / np.abs(wav).max()).astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
        out[path.name] = path
    return out
