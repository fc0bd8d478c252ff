"""Every adapter on a small tree in its official layout: split sizes, label sets, layout errors."""
import collections
import json
from pathlib import Path

import pytest

from ssamba_lab.data import testing_trees as trees
from ssamba_lab.data import LayoutError, prepare_task
from ssamba_lab.data.adapters import ADAPTERS
from ssamba_lab.data.adapters.speech_commands import KS1_WORDS, V2_WORDS
from ssamba_lab.tasks import get_task


def _labels(entries):
    return collections.Counter(l for e in entries for l in e["labels"].split(",") if l)


def test_speech_commands_v1_superb(tmp_path):
    root = trees.speech_commands(tmp_path / "sc", KS1_WORDS + ("bed", "cat"), noise_seconds=10.0)
    out = ADAPTERS["speech_commands_v1"](root)
    s = {k: list(v) for k, v in out.splits.items()}
    assert out.labels.mids == KS1_WORDS + ("_silence_", "_unknown_")
    # 12 words x 5 speakers: s0-s2 train, s3 validation, s4 test; 10 one-second silence windows 80/10/10 by hash
    words = {k: [e for e in v if e["labels"] != "_silence_"] for k, v in s.items()}
    assert [len(words[k]) for k in ("train", "validation", "test")] == [36, 12, 12]
    assert _labels(words["train"])["_unknown_"] == 6 and _labels(words["test"])["yes"] == 1
    silence = [e for v in s.values() for e in v if e["labels"] == "_silence_"]
    assert len(silence) == 10 and all(e["duration"] == 1.0 for e in silence)
    assert sorted(e["start"] for e in silence) == [float(i) for i in range(10)]


def test_speech_commands_v2_needs_all_35_words(tmp_path):
    root = trees.speech_commands(tmp_path / "sc2", V2_WORDS, per_word=5)
    out = ADAPTERS["speech_commands_v2"](root)
    assert len(out.labels) == 35 and [len(out.splits[k]) for k in ("train", "validation", "test")] == [105, 35, 35]
    v1 = trees.speech_commands(tmp_path / "sc1", KS1_WORDS)
    with pytest.raises(LayoutError, match="missing folder .*zero"):
        ADAPTERS["speech_commands_v2"](v1)


def test_esc50_folds(tmp_path):
    root = trees.esc50(tmp_path / "esc")
    for fold, val_fold in ((1, 2), (5, 1)):
        out = ADAPTERS["esc50"](root, fold=fold)
        assert {e["fold"] for e in out.splits["test"]} == {fold}
        assert {e["fold"] for e in out.splits["validation"]} == {val_fold}
        assert [len(out.splits[k]) for k in ("train", "validation", "test")] == [18, 6, 6]
    assert out.labels.mids == ("dog", "rain", "siren")


def test_audioset_balanced_eval_and_missing_audio(tmp_path):
    root = trees.audioset(tmp_path / "as")
    out = ADAPTERS["audioset_balanced"](root, validation_fraction=0.1)
    s = {k: list(v) for k, v in out.splits.items()}
    # 20 balanced rows (2 never downloaded): 10% of the YTIDs (2) by hash -> validation; 6 eval rows, 2 missing
    assert len(s["train"]) + len(s["validation"]) == 18 and 1 <= len(s["validation"]) <= 2 and len(s["test"]) == 4
    assert len(out.missing) == 4 and out.missing[0].startswith("balanced_train/")
    assert _labels(s["test"]).keys() <= {"/m/a", "/m/b", "/m/c"} and len(out.labels) == 3
    unbal = ADAPTERS["audioset_unbalanced"](root, validation_fraction=0.1)
    assert sum(len(list(v)) for v in unbal.splits.values()) == 6


def test_librispeech_pieces(tmp_path):
    root = trees.librispeech(tmp_path / "LibriSpeech")
    out = ADAPTERS["librispeech"](tmp_path, piece_seconds=1.0)  # the parent folder works too
    train = list(out.splits["train"])
    # 2 speakers x (2.5 s -> pieces 1.0, 1.0, 0.5 dropped... kept only if >= 1 s) and (0.5 s -> dropped)
    assert [e["duration"] for e in train] == [1.0, 1.0, 1.0, 1.0]
    assert len(list(out.splits["validation"])) == 2
    nodev = trees.librispeech(tmp_path / "nodev", dev=False)
    out = ADAPTERS["librispeech"](nodev, piece_seconds=10.0, validation_fraction=0.1)
    assert len(list(out.splits["validation"])) == 1 and len(list(out.splits["train"])) == 1


def test_urbansound8k_sequences(tmp_path):
    root = trees.urbansound8k(tmp_path / "us8k", per_fold=4, seconds=1.5)
    out = ADAPTERS["urbansound8k_dasl"](root, fold=3, sequence_seconds=4)
    test = out.splits["test"]
    # 4 clips x 1.5 s = 6 s per fold -> one 4-s sequence (third clip trimmed to 1 s) + a 1.5-s remainder
    assert [e["seconds"] for e in test] == [4.0, 1.5] and {e["fold"] for e in test} == {3}
    assert [s[2] for s in test[0]["segments"]] == [1.5, 1.5, 1.0]
    assert {e["fold"] for e in out.splits["validation"]} == {4} and len(out.splits["train"]) == 16
    again = ADAPTERS["urbansound8k_dasl"](root, fold=3, sequence_seconds=4)
    assert again.splits["test"] == test  # deterministic


def test_voxceleb1_iden_split(tmp_path):
    out = ADAPTERS["voxceleb1"](trees.voxceleb1(tmp_path / "vox"))
    assert [len(out.splits[k]) for k in ("train", "validation", "test")] == [6, 3, 3]
    assert out.labels.mids == ("id10001", "id10002", "id10003")


def test_iemocap_four_classes_leave_one_session_out(tmp_path):
    root = trees.iemocap(tmp_path / "iemocap")
    out = ADAPTERS["iemocap"](root, fold=2, validation_fraction=0.1)
    s = out.splits
    assert out.labels.mids == ("neutral", "happy", "sad", "angry")
    assert len(s["test"]) == 10 and {e["session"] for e in s["test"]} == {2}  # 5 kept emotions x 2 speakers
    assert len(s["train"]) + len(s["validation"]) == 40 and len(s["validation"]) == 4
    assert _labels(s["test"]) == {"neutral": 2, "happy": 4, "sad": 2, "angry": 2}  # excited merged into happy


@pytest.mark.parametrize("task", ["ks1", "ks2", "esc", "as", "sid", "er", "dasl", "pretrain"])
def test_wrong_layout_fails_naming_what_is_missing(tmp_path, task):
    (tmp_path / "empty").mkdir()
    with pytest.raises(LayoutError, match=str(tmp_path / "empty")):
        prepare_task(get_task(task), data_root=tmp_path / "empty", out_dir=tmp_path / "m")


def test_missing_data_root(tmp_path):
    with pytest.raises(LayoutError, match="does not exist"):
        prepare_task(get_task("esc"), data_root=tmp_path / "nope", out_dir=tmp_path / "m")


def test_prepare_writes_and_reuses(tmp_path):
    trees.esc50(tmp_path / "ESC-50")
    p = prepare_task(get_task("esc"), data_root=tmp_path, out_dir=tmp_path / "m", fold=2)
    assert p.counts == {"train": 18, "validation": 6, "test": 6} and p.out_dir == (tmp_path / "m" / "esc" / "fold2")
    assert {e["fold"] for e in p.manifest("test")} == {2}
    mtime = p.manifest_path("train").stat().st_mtime_ns
    prepare_task(get_task("esc"), data_root=tmp_path, out_dir=tmp_path / "m", fold=2)
    assert p.manifest_path("train").stat().st_mtime_ns == mtime
    with pytest.raises(AssertionError, match="fold must be one of"):
        prepare_task(get_task("esc"), data_root=tmp_path, out_dir=tmp_path / "m", fold=6)


def test_ks1_corrupt_background_noise_is_skipped_and_reported(tmp_path):
    root = trees.speech_commands(tmp_path / "speech_commands_v0.01", KS1_WORDS, noise_seconds=4.0)
    noise = root / "_background_noise_"
    (noise / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 3)
    p = prepare_task(get_task("ks1"), data_root=tmp_path, out_dir=tmp_path / "m")
    silence = [e for s in ("train", "validation", "test") for e in p.manifest(s) if e["labels"] == "_silence_"]
    assert len(silence) == 4 and {e["wav"] for e in silence} == {str(noise / "white_noise.wav")}
    rows = json.loads(p.bad_audio_report.read_text())["rows"]
    assert rows == [{"path": str(noise / "broken.wav"), "problems": ["corrupt"], "action": "skipped"}]
    (noise / "white_noise.wav").unlink()  # nothing usable left: a layout error naming the folder and the file
    with pytest.raises(LayoutError, match=f"no readable .wav file in {noise}.*broken.wav \\(corrupt\\)"):
        prepare_task(get_task("ks1"), data_root=tmp_path, out_dir=tmp_path / "m")


def test_librispeech_unreadable_file_is_reported(tmp_path):
    root = trees.librispeech(tmp_path / "LibriSpeech")
    bad = next(root.glob("train-*/*/*/*.flac"))
    bad.write_bytes(b"fLaC garbage")
    out = ADAPTERS["librispeech"](root, piece_seconds=1.0)
    assert all(e["wav"] != str(bad) for e in out.splits["train"])
    assert out.bad == [(str(bad), ["corrupt"])]
