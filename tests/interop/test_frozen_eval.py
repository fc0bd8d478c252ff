"""The MLP probe on synthetic embeddings, the seed statistics, and the frozen-evaluation entry point."""
from __future__ import annotations

import json

import pytest
import torch

from ssamba_lab.eval import MLPProbe, ProbeConfig, mean_ci95, probe_over_seeds, train_probe
from ssamba_lab.eval.metrics import mean_average_precision

FAST = ProbeConfig(hidden=64, max_epochs=60, patience=10, lr=1e-2)


def test_probe_architecture_is_the_protocols():
    m = MLPProbe(dim=10, num_classes=3)
    kinds = [type(layer).__name__ for layer in m.net]
    assert kinds == ["Linear", "BatchNorm1d", "Dropout", "ReLU", "Linear"]
    assert m.net[0].out_features == 1024 and m.net[2].p == 0.1
    assert ProbeConfig().lr == 1e-4


def test_probe_learns_separable_clusters_and_not_random_labels():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(4, 16, generator=g) * 3.0

    def split(seed):
        gg = torch.Generator().manual_seed(seed)
        y = torch.arange(4).repeat_interleave(20)
        return centres[y] + torch.randn(len(y), 16, generator=gg), y

    tr, va, te = split(1), split(2), split(3)
    good = train_probe(tr, va, te, num_classes=4, multilabel=False, config=FAST, seed=0)
    assert good.test > 0.9
    shuffled = (tr[0], tr[1][torch.randperm(len(tr[1]), generator=torch.Generator().manual_seed(5))])
    noise = train_probe(shuffled, va, te, num_classes=4, multilabel=False, config=FAST, seed=0)
    assert noise.test < good.test - 0.3
    again = train_probe(tr, va, te, num_classes=4, multilabel=False, config=FAST, seed=0)
    assert again == good  # a seed fixes the run


def test_multilabel_probe_scores_map():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(120, 8, generator=g)
    y = torch.stack([(x[:, 0] > 0), (x[:, 1] > 0), (x[:, 0] + x[:, 1] > 1)], 1).float()  # [n, 3]
    tr, va, te = (x[:40], y[:40]), (x[40:80], y[40:80]), (x[80:], y[80:])
    res = train_probe(tr, va, te, num_classes=3, multilabel=True, config=FAST, seed=0)
    chance = mean_average_precision(torch.rand(40, 3, generator=g), y[80:])
    assert res.test > 0.85 and res.test > chance + 0.2


def test_mean_ci95_matches_scipy_interval():
    from scipy import stats

    scores = [0.71, 0.74, 0.69, 0.75, 0.72]
    mean, half = mean_ci95(scores)
    lo, hi = stats.t.interval(0.95, len(scores) - 1, loc=sum(scores) / len(scores), scale=stats.sem(scores))
    assert mean == pytest.approx((lo + hi) / 2) and half == pytest.approx((hi - lo) / 2)
    assert mean_ci95([0.5]) == (0.5, 0.0)


def test_probe_over_seeds_varies_with_seed():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(90, 6, generator=g), torch.randint(0, 3, (90,), generator=g)
    x[:, 0] += y * 0.8  # weakly informative: seeds disagree
    s = probe_over_seeds((x[:50], y[:50]), (x[50:70], y[50:70]), (x[70:], y[70:]), num_classes=3,
                         multilabel=False, seeds=[0, 1, 2], config=FAST)
    assert len(s.scores) == 3 and len(set(s.results)) > 1
    assert s.mean == pytest.approx(sum(s.scores) / 3)


def test_frozen_entry_point_on_a_small_esc_tree(tmp_path):
    from ssamba_lab.checkpoint import save_checkpoint
    from ssamba_lab.data.testing_trees import esc50
    from ssamba_lab.eval.frozen import main
    from ssamba_lab.models import build_encoder, get_config

    esc50(tmp_path / "data" / "ESC-50", categories=("dog", "rain", "siren"), per_fold=2)
    torch.manual_seed(0)
    enc = build_encoder(get_config("ssamba-tiny", depth=2, input_tdim=64))
    save_checkpoint(tmp_path / "ck", state_dict=enc.state_dict(), config={"kind": "encoder", "encoder": enc.config.to_dict()})
    out = tmp_path / "res.json"
    res = main(["--task", "esc", "--checkpoint", str(tmp_path / "ck"), "--data-root", str(tmp_path / "data"),
                "--folds", "1,2", "--seeds", "2", "--max-epochs", "5", "--patience", "2",
                "--manifest-dir", str(tmp_path / "manifests"), "--device", "cpu", "--out", str(out)])
    saved = json.loads(out.read_text())
    assert saved["mean"] == pytest.approx(res["mean"]) and len(saved["per_seed"]) == 2
    assert set(saved["folds"]) == {"1", "2"} and saved["embedding_dim"] == 192
    assert all(0.0 <= s <= 1.0 for s in saved["per_seed"])
    assert saved["folds"]["1"]["counts"]["test"] > 0
