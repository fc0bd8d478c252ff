"""``AudioDataset``: manifest rows -> normalised fbank + targets, computed on the fly (in DataLoader workers).

Item / batch format (a dict; the default collate stacks it)::

    fbank   float32 [target_frames, 128]   Kaldi fbank, padded/cropped, (x - mean) / (2 std), augmented (train)
    target  float32 [num_classes]          one-hot (single-label), multi-hot (multi-label), mixed by mixup;
                    [seconds, num_classes] dasl: fraction of each second covered by each class (rows sum
                                           to 1 inside the sequence, 0 after its end)
                    [0]                    pretraining (no labels)
    index   int64   []                     class index for CE (-1 for multi-label / pretraining);
                    [seconds]              dasl: majority class of each second (-1 after the end)
    row     int64   []                     manifest row the item came from

Batched: ``fbank [B, T, 128]``, ``target [B, C]`` (dasl ``[B, S, C]``), ``index [B]`` (dasl ``[B, S]``),
``row [B]``. A file that cannot be used (see :mod:`.bad_audio`) is logged to ``bad_audio_log`` (JSON lines)
and replaced by the next usable row; the run goes on.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import Dataset

from ssamba_lab.features import AudioError, FbankStats, kaldi_fbank, normalize, pad_or_crop

from .augment import fbank_noise, mix_waveforms, sample_mixup_lambda, spec_augment
from .bad_audio import AudioCheckConfig, load_waveform
from .cache import FeatureCache
from .manifest import LabelMap, Manifest


@dataclass(frozen=True)
class DataConfig:
    """Everything the dataset needs from a recipe for one split."""

    target_frames: int
    stats: FbankStats
    train: bool
    multilabel: bool = False
    freqm: int = 0
    timem: int = 0
    mixup: float = 0.0
    mixup_alpha: float = 10.0
    noise: bool = False
    sequence_seconds: int = 0  # > 0: per-second targets (dasl)
    cache_dir: str | None = None
    cache_dtype: str = "float32"
    max_retries: int = 10

    def __post_init__(self) -> None:
        assert self.target_frames > 0, "target_frames must be positive"
        assert not (self.sequence_seconds and self.mixup), "per-second targets do not support mixup"


class AudioDataset(Dataset):
    """Map-style dataset over a streaming :class:`Manifest` (only byte offsets in memory)."""

    def __init__(self, manifest: Manifest, labels: LabelMap, config: DataConfig, *, bad_audio_log: str | Path | None = None,
                 check: AudioCheckConfig = AudioCheckConfig()):
        assert len(manifest) > 0, f"{manifest}: no entries"
        self.manifest, self.labels, self.config, self.check = manifest, labels, config, check
        self.bad_audio_log = Path(bad_audio_log) if bad_audio_log is not None else None
        self.cache = FeatureCache(config.cache_dir, dtype=config.cache_dtype) if config.cache_dir else None

    def __len__(self) -> int:
        return len(self.manifest)

    # -------------------------------------------------------------------------------------------- targets
    def targets(self, entry: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """``(target, index)`` of one entry without mixup (shapes in the module docstring)."""
        c = len(self.labels)
        if self.config.sequence_seconds:
            return self._second_targets(entry)
        idx = self.labels.encode(entry["labels"]) if c else []
        target = torch.zeros(c)  # [C]
        if idx:
            target[idx] = 1.0
        index = torch.tensor(idx[0] if (idx and not self.config.multilabel) else -1)
        return target, index

    def _second_targets(self, entry: dict) -> tuple[torch.Tensor, torch.Tensor]:
        s, c = self.config.sequence_seconds, len(self.labels)
        cover = torch.zeros(s, c)  # [S, C]
        t = 0.0
        for _path, _off, dur, cls in entry["segments"]:
            k = self.labels.index(cls)
            for sec in range(int(t), min(s, math.ceil(t + dur))):
                cover[sec, k] += max(0.0, min(t + dur, sec + 1) - max(t, sec))
            t += dur
        index = torch.where(cover.sum(1) > 0, cover.argmax(1), torch.full((s,), -1))  # [S]
        return cover / cover.sum(1, keepdim=True).clamp_min(1e-8), index

    # ------------------------------------------------------------------------------------------- features
    def _raw_fbank(self, entry: dict) -> torch.Tensor:
        if self.cache is not None:
            cached = self.cache.get(entry)
            if cached is not None:
                return cached
        fb = kaldi_fbank(load_waveform(entry, config=self.check))  # [frames, 128]
        if self.cache is not None:
            self.cache.put(entry, fb)
        return fb

    def _finish(self, fbank: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        x = normalize(pad_or_crop(fbank, cfg.target_frames), cfg.stats)  # [T, 128]
        if cfg.train:
            x = spec_augment(x, freqm=cfg.freqm, timem=cfg.timem)
            if cfg.noise:
                x = fbank_noise(x)
        return x.float().contiguous()

    def load(self, row: int) -> dict:
        """One item, no substitution (raises ``AudioError`` for a bad file)."""
        cfg = self.config
        entry = self.manifest[row]
        target, index = self.targets(entry)
        if cfg.train and cfg.mixup > 0 and torch.rand(()).item() < cfg.mixup:
            other_row = int(torch.randint(0, len(self), ()))
            other = self.manifest[other_row]
            try:
                wav_b = load_waveform(other, config=self.check)  # [samples]
            except AudioError as exc:
                self._log(other, exc)
            else:
                lam = sample_mixup_lambda(cfg.mixup_alpha)
                wav = mix_waveforms(load_waveform(entry, config=self.check), wav_b, lam)  # [samples]
                t_b, _ = self.targets(other)
                target = lam * target + (1.0 - lam) * t_b  # [C]
                return {"fbank": self._finish(kaldi_fbank(wav)), "target": target, "index": index,
                        "row": torch.tensor(row)}
        return {"fbank": self._finish(self._raw_fbank(entry)), "target": target, "index": index,
                "row": torch.tensor(row)}

    def __getitem__(self, row: int) -> dict:
        for attempt in range(self.config.max_retries + 1):
            r = (row + attempt) % len(self)
            try:
                return self.load(r)
            except AudioError as exc:
                self._log(self.manifest[r], exc)
        raise RuntimeError(f"{self.config.max_retries + 1} consecutive unusable files from row {row} of "
                           f"{self.manifest.source}; see {self.bad_audio_log}")

    def _log(self, entry: dict, exc: Exception) -> None:
        if self.bad_audio_log is None:
            return
        self.bad_audio_log.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"path": entry["wav"], "problem": str(exc), "action": "skipped", "pid": os.getpid()})
        with self.bad_audio_log.open("a") as f:  # one short append per line: safe across worker processes
            f.write(line + "\n")
