"""Objectives equal hand-computed values on tiny tensors; a joint pretraining step learns."""
import math

import pytest
import torch

from ssamba_lab import losses
from ssamba_lab.models import MaskedPretrainer, ObjectiveConfig, build_model


def test_info_nce_hand_computed():
    pred = torch.tensor([[[1.0, 0.0], [0.0, 2.0]]])  # [b=1, M=2, P=2]
    target = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    # logits[i, j] = <pred_i, target_j> = [[1, 0], [0, 2]]
    expected = (math.log(1 + math.exp(-1)) + math.log(1 + math.exp(-2))) / 2
    loss, acc = losses.info_nce(pred, target)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert acc.item() == 1.0
    # Swap predictions: both now pick the wrong target.
    loss2, acc2 = losses.info_nce(pred.flip(1), target)
    assert acc2.item() == 0.0 and loss2.item() > loss.item()


def test_info_nce_batch_negatives_hand_computed():
    pred = torch.tensor([[[1.0]], [[2.0]]])  # [b=2, M=1, P=1]
    target = torch.tensor([[[1.0]], [[-1.0]]])
    # logits = pred @ target^T = [[1, -1], [2, -2]]; labels = [0, 1]
    expected = (-math.log(math.exp(1) / (math.exp(1) + math.exp(-1)))
                - math.log(math.exp(-2) / (math.exp(2) + math.exp(-2)))) / 2
    loss, acc = losses.info_nce(pred, target, negatives="batch")
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert acc.item() == 0.5
    # With per-clip negatives a single masked patch is trivially classified.
    loss_clip, acc_clip = losses.info_nce(pred, target, negatives="clip")
    assert loss_clip.item() == pytest.approx(0.0, abs=1e-7) and acc_clip.item() == 1.0


def test_mse_joint_and_reconstruction_hand_computed():
    pred = torch.tensor([[[1.0, 2.0], [0.0, 0.0]]])
    target = torch.tensor([[[0.0, 0.0], [0.0, 1.0]]])
    assert losses.masked_mse(pred, target).item() == pytest.approx((1 + 4 + 0 + 1) / 4)
    assert losses.joint_loss(torch.tensor(0.3), torch.tensor(0.2)).item() == pytest.approx(0.3 + 10 * 0.2)
    mask = torch.tensor([[False, True]])
    assert losses.reconstruction_loss(pred, target, mask).item() == pytest.approx((2.5 + 0.5) / 2)
    assert losses.reconstruction_loss(pred, target, mask, masked_only=True).item() == pytest.approx(0.5)
    # norm_target: target patch [0, 1] -> [-1/sqrt(.5+eps), ...]; prediction equal to it gives ~0.
    t = torch.tensor([[[0.0, 1.0]]])
    normed = (t - 0.5) / math.sqrt(0.5 + 1e-6)
    assert losses.reconstruction_loss(normed, t, torch.tensor([[True]]), norm_target=True).item() < 1e-10


@pytest.mark.parametrize("two_pass", [True, False])
def test_patchify_roundtrip_and_joint_step_lowers_loss(two_pass):
    torch.manual_seed(0)
    enc = build_model("ssamba-tiny", depth=2, embed_dim=32, input_tdim=64, drop_path=0.0)
    model = MaskedPretrainer(encoder=enc, objective=ObjectiveConfig(num_masked=12, two_pass=two_pass))
    t, f = torch.arange(64.0)[:, None], torch.arange(128.0)[None, :]
    # A fixed batch of smooth spectrogram-like patterns: masked patches are predictable from their context.
    x = torch.stack([torch.sin(t / (3 + i) + f / (10 + 3 * i)) for i in range(4)])  # [b, frames, bins]
    patches = model.patchify(x)  # [b, 32, 256]
    assert patches.shape == (4, 32, 256)
    torch.testing.assert_close(model.unpatchify(patches, (8, 4)), x)
    assert torch.equal(patches[0, 1], x[0, 16:32, 0:16].T.reshape(-1))  # token 1 = (f=0, t=1), (pf pt) order
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    history = []
    for step in range(20):
        out = model.forward_loss(x, generator=torch.Generator().manual_seed(step))
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        history.append(out["loss"].item())
    assert set(out) == {"loss", "nce", "mse", "acc"}
    assert sum(history[-3:]) / 3 < 0.8 * sum(history[:3]) / 3, history


def test_ssam_reconstruction_step_lowers_loss():
    torch.manual_seed(0)
    enc = build_model("ssam-tiny", depth=2, embed_dim=64)
    model = MaskedPretrainer(encoder=enc, objective=ObjectiveConfig(objective="reconstruction", mask_strategy="random",
                                                                  num_masked=125))
    t, f = torch.arange(200.0)[:, None], torch.arange(80.0)[None, :]
    x = torch.stack([torch.sin(t / (4 + i) + f / (6 + 2 * i)) for i in range(2)])  # [b, frames, bins]
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for step in range(15):
        loss = model.forward_loss(x, generator=torch.Generator().manual_seed(step))["loss"]
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.8 * first
