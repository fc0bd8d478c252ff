"""The demo corpus builds in every layout, deterministically, and every task's adapter accepts it."""
import hashlib

import pytest

from ssamba_lab.data import build_dataloader, prepare_task
from ssamba_lab.data.demo import DemoConfig, build_demo_corpus
from ssamba_lab.data.demo.build import _write_one
from ssamba_lab.tasks import get_task, list_tasks


def test_every_layout_written(tiny_demo):
    root, stamp = tiny_demo
    assert set(stamp["datasets"]) == {"speech_commands", "LibriSpeech", "audioset", "ESC-50", "UrbanSound8K",
                                      "voxceleb1", "IEMOCAP_full_release"}
    assert all(d["files"] > 0 for d in stamp["datasets"].values())
    assert (root / "speech_commands" / "yes").is_dir() and (root / "ESC-50" / "meta" / "esc50.csv").is_file()


@pytest.mark.parametrize("task", list_tasks())
def test_every_task_prepares_on_the_demo_corpus(tiny_demo, tmp_path, task):
    root, _ = tiny_demo
    recipe = get_task(task)
    p = prepare_task(recipe, data_root=root, out_dir=tmp_path)
    splits = ("train", "validation") if task == "pretrain" else ("train", "validation", "test")
    assert all(p.counts[s] > 0 for s in splits), p.counts
    assert p.missing == 0
    if task != "pretrain":
        seen = {m for e in p.manifest("train") for m in e["labels"].split(",")}
        assert seen <= set(p.labels.mids) and len(seen) >= 2


def test_ks1_train_split_has_every_class(tiny_demo, tmp_path):
    root, _ = tiny_demo
    p = prepare_task(get_task("ks1"), data_root=root, out_dir=tmp_path)
    seen = {e["labels"] for e in p.manifest("train")}
    assert seen == set(p.labels.mids)  # all 12 classes present in train


def _digest(root, sub):
    return hashlib.sha1(b"".join(p.read_bytes() for p in sorted((root / sub).rglob("*")) if p.is_file())).hexdigest()


def test_deterministic_and_skips_rebuild(tiny_demo, tmp_path):
    root, stamp = tiny_demo
    again = build_demo_corpus(tmp_path / "again", config=DemoConfig.tiny(seed=3))
    for name in stamp["datasets"]:
        assert _digest(root, name) == _digest(tmp_path / "again", name), name
    mtime = (tmp_path / "again" / "demo_corpus.json").stat().st_mtime_ns
    build_demo_corpus(tmp_path / "again", config=DemoConfig.tiny(seed=3))  # same config: nothing rewritten
    assert (tmp_path / "again" / "demo_corpus.json").stat().st_mtime_ns == mtime
    other = tmp_path / "other"
    _write_one("ESC-50", other, DemoConfig.tiny(seed=4))
    assert _digest(other, "ESC-50") != _digest(root, "ESC-50")


def test_ks1_batches_from_the_demo_corpus(tiny_demo, tmp_path):
    root, _ = tiny_demo
    loader = build_dataloader(get_task("ks1"), split="validation", data_root=root, manifest_dir=tmp_path, batch_size=4)
    batch = next(iter(loader))
    assert batch["fbank"].shape == (4, 128, 128) and batch["target"].shape == (4, 12)
    assert (batch["target"].sum(1) == 1).all() and (batch["index"] >= 0).all()
