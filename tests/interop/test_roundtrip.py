"""Our checkpoint format: converter output and save/load round trips are bit-exact (weights and outputs)."""
from __future__ import annotations

import json
import re

import pytest
import torch

from ssamba_lab import load_pretrained
from ssamba_lab.checkpoint import CheckpointError, save_checkpoint
from ssamba_lab.interop.classifier import PretrainedClassifier
from ssamba_lab.interop.convert import main as convert_main
from ssamba_lab.interop.geometry import with_geometry
from ssamba_lab.models import MaskedPretrainer, ObjectiveConfig, build_encoder, get_config


def assert_same_state(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert sa[k].dtype == sb[k].dtype and torch.equal(sa[k], sb[k]), k


def test_converter_cli_output_is_bit_exact(make_ssamba_file, tmp_path, capsys):
    path, _ = make_ssamba_file("tiny")
    out = tmp_path / "converted"
    with pytest.warns(UserWarning, match="v.head"):
        convert_main([str(path), str(out)])
    assert "wrote" in capsys.readouterr().out
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["kind"] == "pretrainer" and cfg["encoder"]["official_compat"] is True
    assert cfg["model_name"] == "ssamba-tiny" and cfg["source"]["file"] == path.name
    with pytest.warns(UserWarning):
        original = load_pretrained(path)
    converted = load_pretrained(out)
    assert_same_state(original, converted)
    feats = torch.randn(1, 32, 128)
    mask = torch.zeros(1, 16, dtype=torch.bool)
    mask[0, 3] = True
    with torch.no_grad():
        a = original.forward_encoder(feats, mask)
        b = converted.forward_encoder(feats, mask)
    assert torch.equal(a, b)
    # the explorer's own loader reads the converted directory (same config layout)
    from ssamba_lab.explore.loading import build_pretrainer_from_checkpoint

    explorer_model = build_pretrainer_from_checkpoint(out)
    with torch.no_grad():
        assert torch.equal(explorer_model.forward_encoder(feats, mask), a)


@pytest.mark.parametrize("name", ["ssamba-tiny", "ssam-tiny", "ssast-tiny"])
def test_pretrainer_roundtrip(tmp_path, name):
    torch.manual_seed(0)
    enc = build_encoder(get_config(name, depth=2, input_tdim=40 if name.startswith("ssam-") else 64))
    objective = ObjectiveConfig(objective="reconstruction" if name.startswith("ssam-") else "joint", num_masked=5)
    model = MaskedPretrainer(encoder=enc, objective=objective).eval()
    save_checkpoint(tmp_path / "ck", state_dict=model.state_dict(),
                    config={"kind": "pretrainer", "model_name": name, "encoder": enc.config.to_dict(),
                            "objective": objective.to_dict()})
    back = load_pretrained(tmp_path / "ck")
    assert isinstance(back, MaskedPretrainer) and back.objective == objective and back.encoder.config == enc.config
    assert_same_state(model, back)
    feats = torch.randn(2, enc.config.input_tdim, enc.config.input_fdim)
    with torch.no_grad():
        assert torch.equal(model.encoder(feats), back.encoder(feats))


def test_classifier_and_encoder_roundtrip(tmp_path):
    torch.manual_seed(0)
    enc = build_encoder(get_config("ssamba-tiny", depth=2, input_tdim=64))
    clf = PretrainedClassifier(encoder=enc, num_classes=7).eval()
    save_checkpoint(tmp_path / "clf", state_dict=clf.state_dict(),
                    config={"kind": "classifier", "encoder": enc.config.to_dict(), "head": {"num_classes": 7}})
    save_checkpoint(tmp_path / "enc", state_dict=enc.state_dict(), config={"kind": "encoder", "encoder": enc.config.to_dict()})
    clf_back, enc_back = load_pretrained(tmp_path / "clf"), load_pretrained(tmp_path / "enc")
    assert_same_state(clf, clf_back)
    assert_same_state(enc, enc_back)
    feats = torch.randn(2, 64, 128)
    with torch.no_grad():
        assert torch.equal(clf(feats), clf_back(feats))
        assert torch.equal(enc(feats), enc_back(feats))


def test_geometry_change_keeps_outputs_of_the_on_the_fly_adaptation(make_ssamba_file):
    path, _ = make_ssamba_file("tiny")
    with pytest.warns(UserWarning):
        model = load_pretrained(path)
    short = with_geometry(model.encoder, input_tdim=48)  # 3 time columns: table centre-cropped at load time
    assert short.pos_embed.shape == (1, 1 + 8 * 3, 192)
    feats = torch.randn(1, 48, 128)
    with torch.no_grad():
        assert torch.equal(short(feats), model.encoder(feats))
    with pytest.raises(ValueError, match="stride == patch"), pytest.warns(UserWarning):
        load_pretrained(path, fstride=10, tstride=10)


def test_trainer_per_second_classifier_loads(tmp_path):
    from ssamba_lab.train.classifier import FinetuneModel

    torch.manual_seed(0)
    enc = build_encoder(get_config("ssamba-tiny", depth=2, input_tdim=64))
    model = FinetuneModel(encoder=enc, num_classes=4, num_seconds=3).eval()
    save_checkpoint(tmp_path / "dasl", state_dict=model.state_dict(),
                    config={"kind": "classifier", "encoder": enc.config.to_dict(),
                            "head": {"num_classes": 4, "pool": "mean", "num_seconds": 3}})
    back = load_pretrained(tmp_path / "dasl")
    assert isinstance(back, FinetuneModel)
    assert_same_state(model, back)


@pytest.mark.parametrize("damage", ["junk", "truncated", "empty"])
def test_unreadable_pth_is_named(tmp_path, damage):
    good = tmp_path / "good.pth"
    torch.save({"module.v.layers.0.weight": torch.zeros(4, 4)}, good)
    bad = tmp_path / f"{damage}.pth"
    data = good.read_bytes()
    bad.write_bytes({"junk": b"\x80\x02junk" * 3, "truncated": data[: len(data) // 2], "empty": b""}[damage])
    with pytest.raises(CheckpointError, match=re.escape(str(bad)) + " is not a readable PyTorch checkpoint") as e:
        load_pretrained(bad)
    assert e.value.__cause__ is not None
