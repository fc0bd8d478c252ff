"""Datasets and loaders: shapes, targets, augmentation, mixup, per-second labels, samplers, cache."""
import torch

from ssamba_lab.data import testing_trees as trees
from ssamba_lab.data import build_dataloader, build_dataset
from ssamba_lab.data.augment import mix_waveforms, spec_augment
from ssamba_lab.data.samplers import WeightedShardSampler
from ssamba_lab.features import ESC50_STATS, fbank_features, load_audio
from ssamba_lab.tasks import get_task


def test_eval_features_match_the_reference_frontend(tmp_path):
    trees.esc50(tmp_path / "ESC-50")
    ds = build_dataset(get_task("esc"), split="test", data_root=tmp_path, manifest_dir=tmp_path / "m")
    item = ds[0]
    ref = fbank_features(load_audio(ds.manifest[0]["wav"]), target_length=512, stats=ESC50_STATS)
    assert torch.equal(item["fbank"], ref) and item["fbank"].dtype == torch.float32
    assert item["index"].item() == ds.labels.index(ds.manifest[0]["labels"])


def test_train_augmentation_and_mixup(tmp_path):
    trees.esc50(tmp_path / "ESC-50")
    recipe = get_task("esc", mixup=1.0, noise=False, freqm=0, timem=0)
    ds = build_dataset(recipe, split="train", data_root=tmp_path, manifest_dir=tmp_path / "m")
    torch.manual_seed(0)
    targets = torch.stack([ds[i]["target"] for i in range(8)])  # [8, 3]
    assert torch.allclose(targets.sum(1), torch.ones(8))
    assert ((targets > 0).sum(1) <= 2).all() and (targets.max(1).values < 1).any()  # labels mixed
    aug = spec_augment(torch.ones(100, 128), freqm=48, timem=48)
    assert (aug == 0).any() and aug.shape == (100, 128)
    mixed = mix_waveforms(torch.ones(10), torch.ones(4), 0.5)
    assert mixed.shape == (10,) and abs(mixed.mean().item()) < 1e-6


def test_dasl_per_second_targets(tmp_path):
    trees.urbansound8k(tmp_path / "UrbanSound8K", per_fold=4, seconds=1.5)
    recipe = get_task("dasl", sequence_seconds=4, target_frames=400)
    loader = build_dataloader(recipe, split="test", data_root=tmp_path, manifest_dir=tmp_path / "m", batch_size=2)
    b = next(iter(loader))
    assert b["fbank"].shape == (2, 400, 128) and b["target"].shape == (2, 4, 10) and b["index"].shape == (2, 4)
    t = b["target"][0]  # clips of 1.5 s: second 1 is half clip A, half clip B
    assert torch.allclose(t.sum(1), torch.ones(4)) and t[1].max() == 0.5
    second = b["target"][1]  # the 1.5-s remainder: seconds 0, 1 covered, 2, 3 empty
    assert second[:2].sum(1).tolist() == [1.0, 1.0] and second[2:].sum() == 0 and b["index"][1, 2:].tolist() == [-1, -1]


def test_multilabel_targets(tmp_path):
    trees.audioset(tmp_path / "audioset")
    ds = build_dataset(get_task("as", target_frames=64), split="test", data_root=tmp_path, manifest_dir=tmp_path / "m")
    item = ds[0]
    assert item["target"].sum() == 2 and item["index"] == -1 and item["fbank"].shape == (64, 128)


def test_seeded_shuffle_and_workers(tmp_path):
    trees.esc50(tmp_path / "ESC-50")
    r = get_task("esc", target_frames=32)
    kw = dict(split="train", data_root=tmp_path, manifest_dir=tmp_path / "m", batch_size=6, seed=1)
    a = torch.cat([b["row"] for b in build_dataloader(r, **kw)])
    b = torch.cat([b["row"] for b in build_dataloader(r, num_workers=2, **kw)])
    c = torch.cat([b["row"] for b in build_dataloader(r, **{**kw, "seed": 2})])
    assert torch.equal(a, b) and not torch.equal(a, c) and sorted(a.tolist()) == list(range(18))


def test_balanced_sampler_shards_across_ranks():
    weights = torch.tensor([1.0] * 90 + [9.0] * 10, dtype=torch.double)  # two classes, balanced weights
    shards = [list(WeightedShardSampler(weights, seed=0, rank=r, world_size=2)) for r in range(2)]
    assert len(shards[0]) == len(shards[1]) == 50
    whole = list(WeightedShardSampler(weights, seed=0, rank=0, world_size=1))
    assert sorted(shards[0] + shards[1]) == sorted(whole)
    frac_minority = sum(i >= 90 for i in whole) / len(whole)
    assert 0.3 < frac_minority < 0.7


def test_feature_cache(tmp_path):
    trees.esc50(tmp_path / "ESC-50")
    r = get_task("esc", target_frames=64)
    plain = build_dataset(r, split="test", data_root=tmp_path, manifest_dir=tmp_path / "m")
    cached = build_dataset(r, split="test", data_root=tmp_path, manifest_dir=tmp_path / "m", cache_dir=str(tmp_path / "c"))
    first = cached[0]["fbank"]
    assert len(list((tmp_path / "c").rglob("*.npy"))) == 1
    assert torch.equal(first, cached[0]["fbank"]) and torch.equal(first, plain[0]["fbank"])


def test_stats_computed_when_recipe_has_none(tmp_path):
    trees.voxceleb1(tmp_path / "voxceleb1")
    ds = build_dataset(get_task("sid", target_frames=64), split="train", data_root=tmp_path, manifest_dir=tmp_path / "m")
    assert (tmp_path / "m" / "sid" / "stats.json").is_file()
    assert abs(ds.config.stats.mean) > 0 and ds.config.stats.std > 0
