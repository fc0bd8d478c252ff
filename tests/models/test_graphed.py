"""GraphedInference: a CUDA-graph replay computes what the eager forward computes, for each new input; off CUDA it
is the eager forward; another shape is refused with a message that names both shapes."""
import pytest
import torch

from ssamba_lab.models import GraphedInference, build_model

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


def test_other_shapes_are_refused():
    model = build_model("ssamba-tiny", depth=1, embed_dim=32, input_tdim=32)
    graphed = GraphedInference(model, torch.randn(1, 32, 128))
    with pytest.raises(AssertionError, match=r"captured for \(1, 32, 128\).*got \(2, 32, 128\)"):
        graphed(torch.randn(2, 32, 128))
