"""Fine-tuning building blocks without data: losses, checkpoint -> encoder at a new stride, probe, optimiser."""
import pytest
import torch
import torch.nn.functional as F

from ssamba_lab.checkpoint import CheckpointError, save_checkpoint
from ssamba_lab.models import MaskedPretrainer, ObjectiveConfig, adapt_pos_embed, build_model
from ssamba_lab.tasks import get_task
from ssamba_lab.train.overrides import parse_overrides
from ssamba_lab.train.classifier import FinetuneModel
from ssamba_lab.train.finetune import FinetuneConfig, make_optimizer, resolve_config_init
from ssamba_lab.train.task_loss import task_loss
from ssamba_lab.train.init_from import build_finetune_encoder, resolve_init
from ssamba_lab.train.published import published_for
from ssamba_lab.train.report import check_task, resolve_checkpoint

from .conftest import TINY_MODEL


def test_soft_cross_entropy_matches_cross_entropy_and_skips_empty_seconds():
    logits, labels = torch.randn(5, 4), torch.tensor([0, 3, 1, 1, 2])
    assert task_loss(logits, F.one_hot(labels, 4).float(), "ce") == pytest.approx(float(F.cross_entropy(logits, labels)))
    seq = torch.randn(2, 3, 4)  # [b, S, C]
    target = torch.zeros(2, 3, 4)
    target[0, 0, 1] = target[0, 1, 2] = target[1, 0, 3] = 1.0  # the other seconds lie past the sequences' ends
    valid = target.sum(-1) > 0
    expected = F.cross_entropy(seq[valid], target[valid].argmax(-1))
    assert task_loss(seq, target, "ce") == pytest.approx(float(expected))


def test_pretrainer_checkpoint_loads_at_the_finetuning_stride(tmp_path):
    enc = build_model("ssamba-tiny", input_tdim=64, **TINY_MODEL)  # 8 x 4 grid at stride 16
    pre = MaskedPretrainer(encoder=enc, objective=ObjectiveConfig(num_masked=8))
    save_checkpoint(tmp_path / "ck", state_dict=pre.state_dict(),
                    config={"kind": "pretrainer", "model_name": "ssamba-tiny", "encoder": enc.config.to_dict()})
    init = resolve_init(str(tmp_path / "ck"), model="ssamba-tiny", model_overrides={})
    assert init.pretrained and init.model_name == "ssamba-tiny"
    new = build_finetune_encoder(init, input_tdim=64, fstride=10, tstride=10)  # 12 x 5 grid
    assert new.config.grid == (12, 5)
    want = adapt_pos_embed(enc.pos_embed.detach(), (8, 4), (12, 5), num_prefix_tokens=1)
    assert torch.equal(new.pos_embed.detach(), want)
    assert torch.equal(new.layers[0].mixer.in_proj.weight, enc.layers[0].mixer.in_proj.weight)
    with pytest.raises(AssertionError, match="only"):
        build_finetune_encoder(init, depth=3)
    with pytest.raises(AssertionError, match="architecture comes from the checkpoint"):
        resolve_config_init(FinetuneConfig(checkpoint=str(tmp_path / "ck"), model_overrides={"depth": 3}))
    with pytest.raises(CheckpointError, match="not found"):
        resolve_init(str(tmp_path / "missing"), model="ssamba-tiny", model_overrides={})
    with pytest.warns(UserWarning, match=r"model='ssast-base' is ignored.*\(ssamba-tiny\)"):
        resolve_config_init(FinetuneConfig(checkpoint=str(tmp_path / "ck"), model="ssast-base"))


def test_linear_probe_leaves_the_encoder_untouched_and_head_lr_is_multiplied():
    enc = build_model("ssamba-tiny", input_tdim=32, **TINY_MODEL)
    model = FinetuneModel(encoder=enc, num_classes=3, frozen_encoder=True).train()
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    opt = make_optimizer(model, get_task("as"), head_lr_mult=3.0)
    assert [g["lr"] for g in opt.param_groups] == [pytest.approx(3e-4)]  # head only
    loss = task_loss(model(torch.randn(2, 32, 128)), torch.eye(3)[:2], "bce")
    loss.backward()
    opt.step()
    assert all(torch.equal(v, model.encoder.state_dict()[k]) for k, v in before.items())
    assert not model.encoder.training
    full = FinetuneModel(encoder=build_model("ssamba-tiny", input_tdim=32, **TINY_MODEL), num_classes=3)
    assert [g["lr"] for g in make_optimizer(full, get_task("as"), 3.0).param_groups] == pytest.approx([1e-4, 3e-4])


def test_choices_published_numbers_and_overrides(tmp_path):
    with pytest.raises(ValueError, match="valid tasks: as, esc, ks1"):
        check_task("ks3")
    with pytest.raises(FileNotFoundError, match="use 'auto', 'scratch'"):
        resolve_checkpoint(str(tmp_path / "nope"), search_root=str(tmp_path))
    assert resolve_checkpoint("auto", default=str(tmp_path / "none")) is None
    assert published_for("ks1", "ssamba-tiny") == 94.0 and published_for("esc", "ssast-base") == 88.8
    assert published_for("dasl", "ssast-base") is None
    assert parse_overrides(["depth=4", "betas=(0.9,0.95)", "mask_strategy=random", "two_pass=False"]) == {
        "depth": 4, "betas": (0.9, 0.95), "mask_strategy": "random", "two_pass": False}
