"""Dataset statistics: fbank mean/std over (a deterministic sample of) a manifest, and class balance."""
from __future__ import annotations

import collections
from typing import Iterator

import torch

from ssamba_lab.features import AudioError, FbankStats, compute_stats, kaldi_fbank

from .bad_audio import load_waveform
from .manifest import LabelMap, Manifest, split_labels


def _sample_rows(n: int, max_clips: int | None, seed: int) -> list[int]:
    if max_clips is None or n <= max_clips:
        return list(range(n))
    g = torch.Generator().manual_seed(seed)
    return sorted(torch.randperm(n, generator=g)[:max_clips].tolist())


def fbank_stats(manifest: Manifest, *, max_clips: int | None = 500, seed: int = 0) -> FbankStats:
    """Mean/std of raw fbank values over up to ``max_clips`` rows (unusable files are left out)."""

    def feats() -> Iterator[torch.Tensor]:
        for row in _sample_rows(len(manifest), max_clips, seed):
            try:
                yield kaldi_fbank(load_waveform(manifest[row]))  # [frames, 128]
            except AudioError:
                continue

    return compute_stats(feats())


def class_counts(manifest: Manifest, labels: LabelMap) -> dict[str, int]:
    """How many entries carry each label (``display_name`` -> count, label-map order; all classes listed)."""
    counts = collections.Counter(m for e in manifest for m in split_labels(e["labels"]))
    return {name: counts.get(mid, 0) for mid, name in zip(labels.mids, labels.names)}
