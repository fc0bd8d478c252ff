"""``build_dataloader``: the one entry point trainers call.

>>> from ssamba_lab.tasks import get_task
>>> from ssamba_lab.data import build_dataloader
>>> loader = build_dataloader(get_task("ks1"), split="train", data_root="data/demo", batch_size=32)
>>> batch = next(iter(loader))   # fbank [32, 128, 128], target [32, 12], index [32], row [32]

Manifests are prepared on first use (see :mod:`.prepare`); features are computed in the workers. With
``distributed=True`` (``torch.distributed`` initialised) the sampler shards the split across ranks; call
``loader.sampler.set_epoch(epoch)`` every epoch in both cases.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler, SequentialSampler

from ssamba_lab.features import FbankStats
from ssamba_lab.tasks import TaskRecipe

from .dataset import AudioDataset, DataConfig
from .prepare import PreparedTask, prepare_task
from .samplers import WeightedShardSampler, balanced_weights
from .stats import fbank_stats


class _EpochSampler(RandomSampler):
    """A seeded RandomSampler with ``set_epoch`` (same order for the same seed and epoch)."""

    def __init__(self, data_source, *, seed: int):
        self.seed, self.epoch = seed, 0
        super().__init__(data_source, generator=torch.Generator())

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        self.generator.manual_seed(self.seed + self.epoch)
        return super().__iter__()


def resolve_stats(recipe: TaskRecipe, prepared: PreparedTask, *, max_clips: int = 500) -> FbankStats:
    """The recipe's published stats, or stats of the train split (computed once, kept in ``stats.json``)."""
    if recipe.stats is not None:
        return recipe.stats
    path = prepared.out_dir / "stats.json"
    if path.is_file():
        d = json.loads(path.read_text())
        return FbankStats(d["mean"], d["std"])
    stats = fbank_stats(prepared.manifest("train"), max_clips=max_clips)
    path.write_text(json.dumps({"mean": stats.mean, "std": stats.std, "max_clips": max_clips}))
    return stats


def build_dataset(recipe: TaskRecipe, *, split: str, data_root: str | Path, train: bool | None = None,
                  fold: int | None = None, manifest_dir: str | Path | None = None, cache_dir: str | None = None,
                  audit: bool = True) -> AudioDataset:
    """The :class:`AudioDataset` of one split of ``recipe`` (manifests prepared on first use)."""
    prepared = prepare_task(recipe, data_root=data_root, out_dir=manifest_dir, fold=fold, audit=audit)
    train = (split == "train") if train is None else train
    config = DataConfig(
        target_frames=recipe.target_frames, stats=resolve_stats(recipe, prepared), train=train,
        multilabel=recipe.multilabel, freqm=recipe.freqm, timem=recipe.timem, mixup=recipe.mixup if train else 0.0,
        mixup_alpha=recipe.mixup_alpha, noise=recipe.noise, sequence_seconds=recipe.sequence_seconds,
        cache_dir=cache_dir,
    )
    return AudioDataset(prepared.manifest(split), prepared.labels, config,
                        bad_audio_log=prepared.out_dir / f"bad_audio_{split}.jsonl")


def build_dataloader(recipe: TaskRecipe, *, split: str, data_root: str | Path, batch_size: int | None = None,
                     num_workers: int = 0, train: bool | None = None, distributed: bool = False, seed: int = 0,
                     fold: int | None = None, manifest_dir: str | Path | None = None, cache_dir: str | None = None,
                     drop_last: bool | None = None, audit: bool = True) -> DataLoader:
    """A DataLoader of dict batches (format in :mod:`.dataset`) for ``split`` of ``recipe``.

    ``train`` (default: ``split == "train"``) turns on shuffling, augmentation and, when the recipe says so,
    class-balanced sampling. ``fold``: test fold / session of a cross-validated task. ``cache_dir``: on-disk
    fbank cache. ``audit``: inspect every file once when the manifests are built (turn off for AudioSet-2M).
    """
    train = (split == "train") if train is None else train
    ds = build_dataset(recipe, split=split, data_root=data_root, train=train, fold=fold, manifest_dir=manifest_dir,
                       cache_dir=cache_dir, audit=audit)
    if distributed:
        assert dist.is_available() and dist.is_initialized(), "distributed=True needs torch.distributed initialised"
    if train and recipe.balanced_sampling:
        sampler = WeightedShardSampler(balanced_weights(ds.manifest), seed=seed,
                                       **({} if distributed else {"rank": 0, "world_size": 1}))
    elif distributed:
        sampler = DistributedSampler(ds, shuffle=train, seed=seed, drop_last=train)
    else:
        sampler = _EpochSampler(ds, seed=seed) if train else SequentialSampler(ds)
    return DataLoader(
        ds, batch_size=batch_size or recipe.batch_size, sampler=sampler, num_workers=num_workers,
        drop_last=train if drop_last is None else drop_last, persistent_workers=num_workers > 0,
        generator=torch.Generator().manual_seed(seed), pin_memory=False,
    )
