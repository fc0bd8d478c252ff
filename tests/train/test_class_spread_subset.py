"""Label-scarce subsets: ``train_clips`` spreads clips over classes, and balanced sampling weighs the subset."""
import collections

import torch
from torch.utils.data import Subset

from ssamba_lab.data.dataset import AudioDataset
from ssamba_lab.train.data import class_spread_subset, train_source
from ssamba_lab.train.distributed import DistInfo


class _Rows(AudioDataset):
    """A manifest sorted by class, like the prepared ones: 10 'a', 5 'b', 2 'c'."""

    def __init__(self):  # no audio behind it: only the manifest matters here
        self.manifest = [{"labels": c} for c in "a" * 10 + "b" * 5 + "c" * 2]

    def __len__(self):
        return len(self.manifest)

    def __getitem__(self, i):
        return i


def _classes(sub):
    return collections.Counter(sub.dataset.manifest[i]["labels"] for i in sub.indices)


def test_subset_spreads_over_classes_and_is_nested():
    ds = _Rows()
    six = class_spread_subset(ds, 6)
    assert _classes(six) == {"a": 2, "b": 2, "c": 2}
    nine = class_spread_subset(ds, 9)
    assert _classes(nine) == {"a": 4, "b": 3, "c": 2}  # 'c' runs out after two rounds
    assert set(six.indices) <= set(nine.indices)
    assert class_spread_subset(ds, 0) is ds and class_spread_subset(ds, 17) is ds


def test_balanced_sampling_weighs_the_subset_not_the_full_split():
    ds = _Rows()
    sub = class_spread_subset(ds, 6)  # 2 per class: every row equally likely
    src = train_source(sub, recipe=None, batch_size=2, seed=0, dist=DistInfo(), balanced=True)
    assert torch.allclose(src.sampler.weights, torch.full((6,), 0.5, dtype=torch.double))
    full = train_source(ds, recipe=None, batch_size=2, seed=0, dist=DistInfo(), balanced=True)
    per_class = collections.defaultdict(float)
    for i, w in enumerate(full.sampler.weights.tolist()):
        per_class[ds.manifest[i]["labels"]] += w
    assert all(abs(v - 1.0) < 1e-9 for v in per_class.values())  # each class weighs the same in total
    assert isinstance(sub, Subset)
