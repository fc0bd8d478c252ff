"""On a CUDA machine: every CUDA backend agrees with the PyTorch backend (fp32, forward and gradients).
Skipped on CPU-only machines; the committed run is benchmarks/results/gpu_backend_parity.json."""
import pytest
import torch

from ssamba_lab import ops
from ssamba_lab.models import build_model
from ssamba_lab.ops.parity import backend_parity

pytestmark = pytest.mark.gpu


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_backends_match_torch_backend():
    others = [b for b in ops.available_backends("cuda") if b != "torch"]
    if not others:
        pytest.skip("no CUDA scan backend besides torch is installed")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(0)
    model = build_model("ssamba-tiny", drop_path=0.0, input_tdim=256).cuda()
    x = torch.randn(2, 256, 128, device="cuda")
    for r in backend_parity(model, x, others):
        assert r.passes(1e-4), r


def test_parity_helper_on_cpu_compares_every_gradient():
    """The helper itself: torch vs torch is exact, and it sees every parameter."""
    model = build_model("ssamba-tiny", depth=2, embed_dim=32, input_tdim=32, drop_path=0.0)
    x = torch.randn(1, 32, 128)
    (r,) = backend_parity(model, x, ["torch"])
    assert r.forward_rel_err == 0.0 and r.max_grad_rel_err == 0.0
    assert r.n_params_checked == len(list(model.parameters()))
