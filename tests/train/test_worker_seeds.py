"""Augmentation drawn in DataLoader workers: reproducible per (seed, epoch, start), and different per rank."""
import torch
from torch.utils.data import Dataset

from ssamba_lab.train.batches import LoaderSource


class _Draws(Dataset):
    """Item i: a random draw made in the worker (as SpecAugment, noise and mixup are)."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return {"draw": torch.rand(())}


def _draws(rank: int, *, epoch: int = 0, workers: int = 1) -> list[float]:
    source = LoaderSource(_Draws(), batch_size=2, seed=3, shuffle=False, num_workers=workers, rank=rank,
                          world_size=2)
    return [float(v) for b in source.batches(epoch=epoch) for v in b["draw"]]


def test_each_rank_draws_its_own_augmentation():
    assert _draws(0) == _draws(0)  # reproducible
    assert _draws(0) != _draws(1), "every rank drew the same augmentation"
    assert _draws(0, epoch=1) != _draws(0)
