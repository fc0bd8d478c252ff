"""GraphedInference / GraphedTrainStep: a CUDA-graph replay computes what the eager forward (or training step)
computes, for each new input; off CUDA they are the eager code; another shape is refused with a message that names
both shapes; a training graph needs an optimizer whose state stays on the GPU."""
import copy

import pytest
import torch

from ssamba_lab.models import GraphedInference, GraphedTrainStep, build_model

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


@pytest.mark.parametrize("name", ["ssamba-tiny", "ssast-tiny"])
def test_replays_match_the_eager_forward(name):
    torch.manual_seed(0)
    model = build_model(name, depth=2, input_tdim=64, drop_path=0.0).to(DEVICE).eval()
    x1, x2 = torch.randn(2, 2, 64, 128, device=DEVICE)  # two inputs [b, frames, bins]
    graphed = GraphedInference(model, x1)
    assert (graphed.graph is not None) == (DEVICE == "cuda")
    with torch.inference_mode():
        ref1, ref2 = model(x1), model(x2)
    out2, out1 = graphed(x2), graphed(x1)  # the replay reads each call's input, in any order
    torch.testing.assert_close(out1, ref1, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(out2, ref2, rtol=1e-4, atol=1e-5)
    assert not torch.equal(out1, out2)
    # parameters changed in place after capture (the SSAMBA mixers keep prepared copies of theirs): the next call
    # follows them
    with torch.no_grad():
        for name_, p in model.named_parameters():
            if name_.endswith(("A_b_log", "D_b", "x_proj.weight", "qkv.weight")):
                p.mul_(3.0)
        ref3 = model(x1)
    out3 = graphed(x1)
    assert ((out3 - out1).norm() / out1.norm()) > 1e-3, "the update changes the output"
    torch.testing.assert_close(out3, ref3, rtol=1e-4, atol=1e-5)


def test_other_shapes_are_refused():
    model = build_model("ssamba-tiny", depth=1, embed_dim=32, input_tdim=32)
    graphed = GraphedInference(model, torch.randn(1, 32, 128))
    with pytest.raises(AssertionError, match=r"captured for \(1, 32, 128\).*got \(2, 32, 128\)"):
        graphed(torch.randn(2, 32, 128))


def _loss(out: torch.Tensor) -> torch.Tensor:
    return out.float().pow(2).mean()


@pytest.mark.parametrize("name", ["ssamba-tiny", "ssast-tiny"])
def test_train_replays_match_eager_steps(name):
    torch.manual_seed(0)
    model = build_model(name, depth=2, input_tdim=64, drop_path=0.0).to(DEVICE)
    twin = copy.deepcopy(model)
    x0, x1, x2 = torch.randn(3, 2, 64, 128, device=DEVICE)  # three batches [b, frames, bins]
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, capturable=DEVICE == "cuda")
    step = GraphedTrainStep(model, opt, _loss, x0, warmup=1)  # one real step on x0, then the capture
    assert (step.graph is not None) == (DEVICE == "cuda")
    losses = [step(x1), step(x2)]

    twin.train()
    opt_twin = torch.optim.Adam(twin.parameters(), lr=1e-3, capturable=DEVICE == "cuda")
    ref = []
    for x in (x0, x1, x2):
        opt_twin.zero_grad(set_to_none=True)
        loss = _loss(twin(x))
        loss.backward()
        opt_twin.step()
        ref.append(loss.detach())
    torch.testing.assert_close(torch.stack(losses), torch.stack(ref[1:]), rtol=1e-4, atol=1e-6)
    assert not torch.equal(losses[0], losses[1])
    for (key, p), q in zip(model.named_parameters(), twin.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5, msg=lambda m, key=key: f"{key}: {m}")
    with pytest.raises(AssertionError, match=r"captured for \(2, 64, 128\).*got \(1, 64, 128\)"):
        step(x1[:1])


@pytest.mark.skipif(DEVICE != "cuda", reason="the optimizer check guards the CUDA capture")
def test_train_graph_needs_a_capturable_optimizer():
    model = build_model("ssamba-tiny", depth=1, embed_dim=32, input_tdim=32).to(DEVICE)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    with pytest.raises(AssertionError, match="capturable=True"):
        GraphedTrainStep(model, opt, _loss, torch.randn(1, 32, 128, device=DEVICE))
