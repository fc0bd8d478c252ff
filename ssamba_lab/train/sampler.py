"""A seeded, resumable, distributed sampler: data order is a pure function of (seed, epoch, rank, world).

It draws the same permutation as ``torch.utils.data.DistributedSampler`` (``randperm`` from a generator seeded
with ``seed + epoch``, padded to a multiple of ``world_size``, then ``rank::world_size``) and can start in the
middle of an epoch, which is what exact resumption needs.
"""
from __future__ import annotations

import math
from typing import Iterator

import torch
from torch.utils.data import Sampler


def epoch_indices(n: int, *, seed: int, epoch: int, shuffle: bool, rank: int = 0, world_size: int = 1,
                  drop_last: bool = False, weights: torch.Tensor | None = None) -> list[int]:
    """This rank's sample indices for ``epoch`` (``DistributedSampler``'s order; with ``weights`` ``[n]``:
    ``n`` rows drawn with replacement, as the data package's ``WeightedShardSampler`` (class-balanced ks1))."""
    assert 0 <= rank < world_size, f"rank {rank} outside world of {world_size}"
    if weights is not None:
        assert len(weights) == n, f"{len(weights)} weights for {n} samples"
        per_rank = math.ceil(n / world_size)
        g = torch.Generator().manual_seed(seed + epoch)
        rows = torch.multinomial(weights.double(), per_rank * world_size, replacement=True, generator=g)
        return rows[rank::world_size].tolist()
    if shuffle:
        g = torch.Generator().manual_seed(seed + epoch)
        order = torch.randperm(n, generator=g).tolist()
    else:
        order = list(range(n))
    if drop_last and n % world_size:
        per_rank = n // world_size
        order = order[: per_rank * world_size]
    else:
        per_rank = math.ceil(n / world_size)
        pad = per_rank * world_size - n
        order += (order * math.ceil(pad / max(n, 1)))[:pad]
    return order[rank::world_size]


class ResumableSampler(Sampler[int]):
    """``set_position(epoch, start)`` then iterate: yields this rank's indices of ``epoch`` from ``start`` on."""

    def __init__(self, n: int, *, seed: int, shuffle: bool = True, rank: int = 0, world_size: int = 1,
                 drop_last: bool = False, weights: torch.Tensor | None = None):
        assert n > 0, "cannot sample from an empty dataset"
        self.weights = weights
        self.n, self.seed, self.shuffle, self.rank, self.world_size = n, seed, shuffle, rank, world_size
        self.drop_last = drop_last
        self.epoch, self.start = 0, 0

    def set_position(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = epoch, start

    def set_epoch(self, epoch: int) -> None:  # DistributedSampler's interface
        self.set_position(epoch, 0)

    def per_rank(self) -> int:
        if self.weights is not None:
            return math.ceil(self.n / self.world_size)
        return self.n // self.world_size if self.drop_last and self.n % self.world_size else math.ceil(self.n / self.world_size)

    def __len__(self) -> int:
        return self.per_rank() - self.start

    def __iter__(self) -> Iterator[int]:
        idx = epoch_indices(self.n, seed=self.seed, epoch=self.epoch, shuffle=self.shuffle, rank=self.rank,
                            world_size=self.world_size, drop_last=self.drop_last, weights=self.weights)
        return iter(idx[self.start:])
