"""On a CUDA machine: every CUDA backend agrees with the PyTorch backend (fp32, forward and gradients).
Skipped on CPU-only machines; the committed run is benchmarks/results/gpu_backend_parity.json."""
import pytest
import torch

from ssamba_lab import ops
from ssamba_lab.models import build_model

pytestmark = pytest.mark.gpu


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("backend", [b for b in ops.available_backends("cuda") if b != "torch"] or ["none"])
def test_cuda_backend_matches_torch_backend(backend):
    if backend == "none":
        pytest.skip("no CUDA scan backend besides torch is installed")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(0)
    model = build_model("ssamba-tiny", drop_path=0.0, input_tdim=256).cuda()
    x = torch.randn(2, 256, 128, device="cuda")
    results = {}
    for name in ("torch", backend):
        model.set_scan_backend(name)
        model.zero_grad(set_to_none=True)
        out = model(x)
        out.pow(2).mean().backward()
        results[name] = (out.detach(), {n: p.grad.clone() for n, p in model.named_parameters()})
    (o_ref, g_ref), (o, g) = results["torch"], results[backend]
    assert ((o - o_ref).abs().max() / o_ref.abs().max()) < 1e-4
    for n in g_ref:
        assert ((g[n] - g_ref[n]).abs().max() / g_ref[n].abs().max().clamp(min=1e-12)) < 1e-4, n
