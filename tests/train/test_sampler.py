import torch
from torch.utils.data import DistributedSampler

from ssamba_lab.data.samplers import WeightedShardSampler
from ssamba_lab.train.sampler import ResumableSampler, epoch_indices


def test_same_order_as_distributed_sampler():
    data = list(range(23))
    for rank in range(3):
        ref = DistributedSampler(data, num_replicas=3, rank=rank, shuffle=True, seed=7)
        ref.set_epoch(4)
        assert epoch_indices(23, seed=7, epoch=4, shuffle=True, rank=rank, world_size=3) == list(ref)


def test_resume_mid_epoch_and_rank_union():
    s = ResumableSampler(20, seed=1)
    s.set_position(2, 0)
    full = list(s)
    s.set_position(2, 7)
    assert list(s) == full[7:] and len(s) == 13
    per_rank = [epoch_indices(20, seed=1, epoch=2, shuffle=True, rank=r, world_size=2) for r in range(2)]
    assert sorted(per_rank[0] + per_rank[1]) == list(range(20))
    s.set_position(3, 0)
    assert list(s) != full  # a new epoch reshuffles


def test_weighted_order_matches_the_data_package_sampler():
    w = torch.tensor([1.0, 1.0, 4.0, 0.5, 2.0], dtype=torch.double)
    ref = WeightedShardSampler(w, seed=3, rank=1, world_size=2)
    ref.set_epoch(5)
    assert epoch_indices(5, seed=3, epoch=5, shuffle=True, rank=1, world_size=2, weights=w) == list(ref)
