"""Samplers: class-balanced sampling (SUPERB's weighted sampler for ks1), single-process or distributed."""
from __future__ import annotations

import collections
import math

import torch
import torch.distributed as dist
from torch.utils.data import Sampler

from .manifest import Manifest, split_labels


def balanced_weights(manifest: Manifest) -> torch.Tensor:
    """Per-row weight ``1 / count(first label)``: every class is drawn equally often. ``[rows]``."""
    first = [(split_labels(e["labels"]) or [""])[0] for e in manifest]
    counts = collections.Counter(first)
    return torch.tensor([1.0 / counts[c] for c in first], dtype=torch.double)


class WeightedShardSampler(Sampler[int]):
    """Weighted sampling with replacement, ``num_samples`` per epoch, split across ranks.

    Every rank draws the same global sequence (seeded by ``seed + epoch``) and keeps its own stride, so the
    union over ranks is one weighted epoch. Call ``set_epoch`` like ``DistributedSampler``.
    """

    def __init__(self, weights: torch.Tensor, *, num_samples: int | None = None, seed: int = 0,
                 rank: int | None = None, world_size: int | None = None):
        self.weights = weights
        self.seed, self.epoch = seed, 0
        distributed = dist.is_available() and dist.is_initialized()
        self.rank = rank if rank is not None else (dist.get_rank() if distributed else 0)
        self.world = world_size if world_size is not None else (dist.get_world_size() if distributed else 1)
        total = num_samples if num_samples is not None else len(weights)
        self.per_rank = math.ceil(total / self.world)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        rows = torch.multinomial(self.weights, self.per_rank * self.world, replacement=True, generator=g)
        return iter(rows[self.rank::self.world].tolist())

    def __len__(self) -> int:
        return self.per_rank
