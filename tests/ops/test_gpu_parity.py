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
    """fp32, the whole ssamba-tiny, every gradient, each CUDA backend against the PyTorch backend (every result
    checked before any assert, so one backend's failure does not hide another's). The worst gradient is always
    patch_embed.proj.weight, which sums every layer's gradient over every token, in an order that float32 atomics
    vary from run to run. Limits, with the H200 measurements they cover: Triton with exact softplus (the seq
    kernels' ``seq_fast_math=False``) 1e-4 (2.2e-5, benchmarks/results/gpu_seq_bwd_h200_r9); the Triton defaults,
    whose softplus goes through MUFU ``lg2.approx``, 3e-4 (5.7e-5 and 1.0e-4 in two runs of the same inputs);
    mamba-ssm 2e-4 (1.007e-4 in results/gpu_issue8_h200_r22, a hair over the 1e-4 it had been held to)."""
    from ssamba_lab.ops import scan_triton as st

    others = [b for b in ops.available_backends("cuda") if b != "torch"]
    if not others:
        pytest.skip("no CUDA scan backend besides torch is installed")
    limits = {"triton": 1e-4, "mamba_ssm": 2e-4}
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(0)
    model = build_model("ssamba-tiny", drop_path=0.0, input_tdim=256).cuda()
    x = torch.randn(2, 256, 128, device="cuda")
    prev = st.set_launch_config(st.TritonScanConfig(seq_fast_math=False))
    try:
        results = backend_parity(model, x, others)
    finally:
        st.set_launch_config(prev)
    if "triton" in others:
        (fast,) = backend_parity(model, x, ["triton"])
        results.append(fast)
    print(*results, sep="\n")  # the measured errors, shown by pytest -rP
    failed = [r for r in results[:len(others)] if not r.passes(limits.get(r.backend, 1e-4))]
    failed += [r for r in results[len(others):] if not r.passes(3e-4)]
    assert not failed, failed


def test_parity_helper_on_cpu_compares_every_gradient():
    """The helper itself: torch vs torch is exact, and it sees every parameter."""
    model = build_model("ssamba-tiny", depth=2, embed_dim=32, input_tdim=32, drop_path=0.0)
    x = torch.randn(1, 32, 128)
    (r,) = backend_parity(model, x, ["torch"])
    assert r.forward_rel_err == 0.0 and r.max_grad_rel_err == 0.0
    assert r.n_params_checked == len(list(model.parameters()))
