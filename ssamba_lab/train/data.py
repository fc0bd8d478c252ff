"""Recipe + data folder -> the :class:`~ssamba_lab.train.batches.BatchSource` s and loaders the trainers use.

Datasets come from :mod:`ssamba_lab.data` (manifests prepared on first use, fbank + augmentation in the
dataset); this module only adds the resumable, seeded, rank-sharded order and the SSAM log-mel variant.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, Subset

from ssamba_lab.data import build_dataset
from ssamba_lab.data.dataset import AudioDataset
from ssamba_lab.data.manifest import split_labels
from ssamba_lab.data.samplers import balanced_weights
from ssamba_lab.features import LogMel, crop_frames, per_clip_normalize
from ssamba_lab.tasks import TaskRecipe

from .batches import LoaderSource
from .distributed import DistInfo


class LogMelDataset(Dataset):
    """SSAM's frontend over an :class:`AudioDataset`'s rows: 80-bin log-mel, per-clip normalised, random
    (train) or centre (eval) crop to ``frames``. Items: ``{"fbank": [frames, 80], "row": []}``."""

    def __init__(self, base: AudioDataset, *, frames: int, train: bool):
        self.base, self.frames, self.train = base, frames, train
        self.logmel = LogMel()

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, row: int) -> dict:
        from ssamba_lab.data.bad_audio import load_waveform

        wav = load_waveform(self.base.manifest[row], config=self.base.check)  # [samples]
        with torch.no_grad():
            feats = per_clip_normalize(self.logmel(wav))  # [frames_all, 80]
        return {"fbank": crop_frames(feats, self.frames, train=self.train).contiguous(), "row": torch.tensor(row)}


def first_n(dataset: Dataset, n: int) -> Dataset:
    """The first ``n`` items (all when ``n`` is 0 or larger than the dataset): deterministic small subsets."""
    return dataset if n <= 0 or n >= len(dataset) else Subset(dataset, range(n))


def _manifest(dataset: Dataset):
    base = dataset.dataset if isinstance(dataset, Subset) else dataset
    base = getattr(base, "base", base)  # LogMelDataset wraps an AudioDataset
    manifest = getattr(base, "manifest", None)
    assert manifest is not None, f"{type(base).__name__} has no manifest: class-aware subsets need manifest labels"
    return manifest


def class_spread_subset(dataset: Dataset, n: int) -> Dataset:
    """``n`` items spread evenly over the classes (all when ``n`` is 0 or covers the dataset): round robin over
    classes (by first label) in manifest order, so the subset is deterministic and nested (n=24 is part of n=48).
    Manifests are sorted by class, so the first ``n`` rows would be a single class: useless for label-scarce
    experiments."""
    if n <= 0 or n >= len(dataset):
        return dataset
    rows_by_class: dict[str, list[int]] = {}
    for i, entry in enumerate(_manifest(dataset)):
        rows_by_class.setdefault((split_labels(entry["labels"]) or [""])[0], []).append(i)
    picked: list[int] = []
    for k in range(max(len(r) for r in rows_by_class.values())):
        picked += [rows[k] for rows in rows_by_class.values() if k < len(rows)]
    return Subset(dataset, sorted(picked[:n]))


def split_dataset(recipe: TaskRecipe, *, split: str, data_root: str | Path, fold: int | None = None,
                  manifest_dir: str | Path | None = None, frontend: str = "fbank", train: bool | None = None,
                  cache_dir: str | None = None) -> Dataset:
    """One split's dataset; ``train`` (default ``split == 'train'``) turns augmentation on; ``cache_dir``
    keeps computed fbanks on disk (the data package's feature cache)."""
    train = (split == "train") if train is None else train
    ds = build_dataset(recipe, split=split, data_root=data_root, train=train, fold=fold, manifest_dir=manifest_dir,
                       cache_dir=cache_dir)
    if frontend == "logmel":
        return LogMelDataset(ds, frames=recipe.target_frames, train=train)
    assert frontend == "fbank", f"frontend must be 'fbank' or 'logmel', got {frontend!r}"
    return ds


def train_source(dataset: Dataset, *, recipe: TaskRecipe, batch_size: int, seed: int, dist: DistInfo,
                 num_workers: int = 0, balanced: bool = False) -> LoaderSource:
    """Shuffled (or class-balanced, SUPERB's ks1 sampler) training batches, sharded over ranks."""
    weights = None
    if balanced:
        base = dataset.dataset if isinstance(dataset, Subset) else dataset
        assert isinstance(base, AudioDataset), "balanced sampling needs an AudioDataset (manifest labels)"
        rows = list(dataset.indices) if isinstance(dataset, Subset) else range(len(base))
        # Class counts of the rows actually trained on: a subset's own balance, not the full split's.
        weights = balanced_weights([base.manifest[i] for i in rows])  # [rows]
    return LoaderSource(dataset, batch_size=batch_size, seed=seed, shuffle=True, drop_last=len(dataset) >= batch_size * dist.world_size,
                        num_workers=num_workers, rank=dist.rank, world_size=dist.world_size, weights=weights)


def eval_loader(dataset: Dataset, *, batch_size: int, num_workers: int = 0) -> DataLoader:
    """In-order, unaugmented batches of a whole split (evaluation runs on one rank)."""
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
