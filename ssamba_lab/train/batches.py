"""What the training loop consumes: a :class:`BatchSource` gives the batches of an epoch from any position.

A batch is a dict of tensors, at least ``{"fbank": [batch, frames, bins]}`` plus ``"label"`` (``[batch]`` class
indices or ``[batch, classes]`` (soft) targets, ``[batch, seconds, classes]`` for DASL) when fine-tuning.
:class:`LoaderSource` wraps any map-style dataset of such dicts in a ``DataLoader`` with a
:class:`~ssamba_lab.train.sampler.ResumableSampler`, so the order is a function of (seed, epoch) and an epoch can
be resumed at any batch.
"""
from __future__ import annotations

import random
from typing import Callable, Iterable, Protocol

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .sampler import ResumableSampler


class BatchSource(Protocol):
    def num_batches(self) -> int:
        """Batches per epoch on this rank."""

    def batches(self, *, epoch: int, start: int = 0) -> Iterable[dict]:
        """The batches ``start, start+1, ...`` of ``epoch``."""


def _seed_worker(worker_id: int) -> None:
    """DataLoader seeds torch and ``random`` per worker; numpy too, so dataset augmentations are reproducible."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


class LoaderSource:
    """Batches of a map-style ``dataset`` (items: dicts of tensors) through a ``DataLoader``.

    Worker seeds derive from ``(seed, epoch, start, rank)``, so augmentation in workers is reproducible per epoch;
    with ``num_workers=0`` augmentation draws from the main process' RNGs, which checkpoints save, so a
    resumed run is bit-identical to an uninterrupted one.
    """

    def __init__(self, dataset: Dataset, *, batch_size: int, seed: int, shuffle: bool, drop_last: bool = False,
                 num_workers: int = 0, rank: int = 0, world_size: int = 1,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 weights: torch.Tensor | None = None):
        assert batch_size > 0, f"batch_size must be positive, got {batch_size}"
        self.dataset, self.batch_size, self.seed, self.drop_last = dataset, batch_size, seed, drop_last
        self.num_workers, self.collate_fn, self.pin_memory, self.rank = num_workers, collate_fn, pin_memory, rank
        # drop_last at the sampler keeps every rank's sample count equal (DDP needs equal step counts)
        self.sampler = ResumableSampler(len(dataset), seed=seed, shuffle=shuffle, rank=rank, world_size=world_size,
                                        drop_last=drop_last and world_size > 1, weights=weights)

    def num_batches(self) -> int:
        n = self.sampler.per_rank()
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def batches(self, *, epoch: int, start: int = 0) -> Iterable[dict]:
        assert 0 <= start <= self.num_batches(), f"start batch {start} outside epoch of {self.num_batches()}"
        self.sampler.set_position(epoch, start * self.batch_size)
        # seeds the workers' RNGs (augmentation with num_workers > 0): per rank, or every rank draws the same masks
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch * 10_007 + start + self.rank * 998_244_353)
        return DataLoader(self.dataset, batch_size=self.batch_size, sampler=self.sampler, drop_last=self.drop_last,
                          num_workers=self.num_workers, collate_fn=self.collate_fn, generator=g,
                          worker_init_fn=_seed_worker if self.num_workers else None, pin_memory=self.pin_memory,
                          persistent_workers=False)


class TensorDictDataset(Dataset):
    """In-memory dataset of equal-length tensors: ``TensorDictDataset(fbank=[n, T, F], label=[n])``."""

    def __init__(self, **tensors: torch.Tensor):
        assert tensors, "give at least one tensor"
        lengths = {k: len(v) for k, v in tensors.items()}
        assert len(set(lengths.values())) == 1, f"tensors differ in length: {lengths}"
        self.tensors = tensors

    def __len__(self) -> int:
        return len(next(iter(self.tensors.values())))

    def __getitem__(self, i: int) -> dict:
        return {k: v[i] for k, v in self.tensors.items()}
