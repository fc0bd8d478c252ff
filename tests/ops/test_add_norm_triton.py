"""The fused residual add + LayerNorm (``ops/add_norm.py``) against the float64 composition it replaces.

Without CUDA the kernels run through Triton's interpreter (set below before they are imported), with CUDA
compiled. Tolerances against float64 on the same rounded inputs: values 2e-5 absolute (float32 arithmetic, sums
over 24-48 features) plus 2^-7 relative for bf16 outputs (one rounding); gradients 1e-5 of their largest element,
8e-3 for the bf16 branch's gradient (one rounding).
"""
from __future__ import annotations

import os

import pytest
import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")  # must precede the first import of the kernels

pytest.importorskip("triton")

import torch.nn.functional as F  # noqa: E402

from ssamba_lab.ops.add_norm import add_layer_norm_triton  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"

# (branch dtype or None for no branch, stochastic-depth scale, bias, output dtype or None, features)
_CASES = [(torch.float32, False, True, None, 24), (torch.bfloat16, False, True, torch.bfloat16, 24),
          (torch.bfloat16, True, True, None, 48), (torch.float32, True, False, None, 40),
          (None, False, True, None, 24), (None, False, False, torch.bfloat16, 32)]
_IDS = ["fp32", "bf16-branch-bf16-out", "bf16-branch-scaled", "fp32-scaled-no-bias", "no-branch",
        "no-branch-no-bias-bf16-out"]


def _close(got: torch.Tensor, want: torch.Tensor) -> bool:
    """Within 2e-5 absolute, plus one bf16 rounding for bf16: an ulp (2^-7 relative at most), since Triton's
    interpreter (3.8) truncates float32 -> bf16 where compiled CUDA rounds to nearest (half an ulp)."""
    rel = 0.0 if got.dtype == torch.float32 else 2.0 ** -7
    return bool(((got.double() - want).abs() <= 2e-5 + rel * want.abs()).all())


@pytest.mark.parametrize(("x_dtype", "scaled", "has_bias", "out_dtype", "d"), _CASES, ids=_IDS)
def test_add_norm_matches_float64_composition(x_dtype, scaled, has_bias, out_dtype, d):
    g = torch.Generator().manual_seed(d + 7 * scaled)
    b, l = 3, 37  # 111 rows: not a multiple of the forward's rows a program nor of the backward's programs
    res = torch.randn(b, l, d, generator=g).to(DEVICE).requires_grad_()
    x = torch.randn(b, l, d, generator=g).to(DEVICE, x_dtype).requires_grad_() if x_dtype else None
    w = (1 + 0.3 * torch.randn(d, generator=g)).to(DEVICE).requires_grad_()
    bias = (0.1 * torch.randn(d, generator=g)).to(DEVICE).requires_grad_() if has_bias else None
    scale = torch.tensor([1 / 0.9, 0.0, 1 / 0.9], device=DEVICE) if scaled else None
    g_out = torch.randn(b, l, d, generator=g).to(DEVICE)
    g_res = torch.randn(b, l, d, generator=g).to(DEVICE)

    out, r = add_layer_norm_triton(x, res, w, bias, 1e-5, x_scale=scale, out_dtype=out_dtype)
    assert out.shape == res.shape and r.shape == res.shape
    assert out.dtype == (out_dtype or torch.float32) and r.dtype == torch.float32
    loss = (out.float() * g_out).sum() + ((r * g_res).sum() if x is not None else 0.0)
    leaves = [t for t in (x, res, w, bias) if t is not None]
    grads = torch.autograd.grad(loss, leaves)

    ref_leaves = [t.detach().double().requires_grad_() for t in leaves]
    x64, res64 = (ref_leaves[0], ref_leaves[1]) if x is not None else (None, ref_leaves[0])
    w64 = ref_leaves[-2] if has_bias else ref_leaves[-1]
    b64 = ref_leaves[-1] if has_bias else None
    r64 = res64 if x64 is None else res64 + x64 * (scale.double()[:, None, None] if scaled else 1.0)
    out64 = F.layer_norm(r64, (d,), w64, b64, 1e-5)
    # a bf16 output receives its gradient in bf16 (the backward of .float()), as from any bf16 consumer
    loss64 = (out64 * g_out.to(out.dtype).double()).sum() + ((r64 * g_res.double()).sum() if x is not None else 0.0)
    grads64 = torch.autograd.grad(loss64, ref_leaves)

    assert _close(out, out64), "normalised rows"
    assert (r.double() - r64).abs().max().item() < 2e-5, "new residual"
    for name, got, want, leaf in zip(["x", "residual", "weight", "bias"] if x is not None else
                                     ["residual", "weight", "bias"], grads, grads64, leaves):
        assert got.dtype == leaf.dtype, f"d{name} dtype {got.dtype} != {leaf.dtype}"
        err = ((got.double() - want).abs().max() / want.abs().max().clamp_min(1e-12)).item()
        assert err < (1e-5 if got.dtype == torch.float32 else 8e-3), f"d{name}: relative max error {err:.2e}"


def test_add_norm_without_gradients_stores_no_statistics_and_gives_the_same_rows(monkeypatch):
    from ssamba_lab.ops import add_norm as an

    stats = []
    fwd = an._fwd
    monkeypatch.setattr(an, "_fwd", lambda *a: stats.append(a[-1]) or fwd(*a))  # its last argument: store_stats
    g = torch.Generator().manual_seed(3)
    res = torch.randn(2, 9, 24, generator=g).to(DEVICE)
    x = torch.randn(2, 9, 24, generator=g).to(DEVICE, torch.bfloat16)
    w = torch.randn(24, generator=g).to(DEVICE).requires_grad_()  # a parameter, but no gradients are asked for
    bias = torch.randn(24, generator=g).to(DEVICE)
    with torch.no_grad():
        out, r = add_layer_norm_triton(x, res, w, bias, 1e-5)
    with torch.inference_mode():
        add_layer_norm_triton(None, res, w, bias, 1e-5)
    add_layer_norm_triton(x, res, w, bias, 1e-5)
    assert stats == [False, False, True]
    want = F.layer_norm(res + x.float(), (24,), w.detach(), bias, 1e-5)
    torch.testing.assert_close(r, res + x.float(), rtol=0, atol=1e-6)
    torch.testing.assert_close(out, want, rtol=0, atol=2e-5)


def test_add_norm_rejects_mismatched_shapes_naming_them():
    res = torch.zeros(2, 3, 8, device=DEVICE)
    with pytest.raises(AssertionError, match=r"branch x \(2, 3, 4\) and residual \(2, 3, 8\)"):
        add_layer_norm_triton(torch.zeros(2, 3, 4, device=DEVICE), res, torch.ones(8, device=DEVICE), None, 1e-5)
    with pytest.raises(AssertionError, match=r"weight \(4,\)"):
        add_layer_norm_triton(None, res, torch.ones(4, device=DEVICE), None, 1e-5)
    with pytest.raises(AssertionError, match=r"x_scale \(3,\) must be \[batch\] = \[2\]"):
        add_layer_norm_triton(res, res, torch.ones(8, device=DEVICE), None, 1e-5,
                              x_scale=torch.ones(3, device=DEVICE))


@pytest.fixture
def add_norm_backend(monkeypatch):
    """A backend 'add_norm_test' for this test's device: the torch backend's scan and conv plus the Triton
    backend's add_norm hook (CPU: interpreted), so that only the hook differs from the torch backend."""
    from ssamba_lab.ops import backend as be
    from ssamba_lab.ops import scan_triton as st

    def load():
        scan, conv = be._load_torch()
        return be.Ops(scan, conv, add_norm=st.add_layer_norm)

    monkeypatch.setattr(be, "_REGISTRY", dict(be._REGISTRY))
    be.register_backend(be.Backend("add_norm_test", (DEVICE,), lambda: True, load))
    return "add_norm_test"


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "unfused-ops"])
def test_encoder_with_the_add_norm_hook_matches_its_blocks_unfused(add_norm_backend, fused):
    """A training step of a 3-block SSAMBA (stochastic depth on) through the hook equals the block-by-block
    forward of the torch backend: output and every parameter's gradient (float32)."""
    from dataclasses import replace

    from ssamba_lab.models import build_model
    from ssamba_lab.ops import scan_triton as st

    torch.manual_seed(0)
    model = build_model("ssamba-tiny", depth=3, embed_dim=32, input_tdim=32, drop_path=0.5).to(DEVICE).train()
    x = torch.randn(3, 32, 128, device=DEVICE)
    results = []
    previous = st.set_launch_config(replace(st.TritonScanConfig(), fused_add_norm=fused))
    try:
        for backend in (add_norm_backend, "torch"):
            model.set_scan_backend(backend)
            model.zero_grad()
            torch.manual_seed(1)  # the same stochastic-depth draws
            out = model(x)  # [b, tokens, 32]
            (out * torch.linspace(-1, 1, out.shape[-1], device=DEVICE)).square().sum().backward()
            results.append((out.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}))
    finally:
        st.set_launch_config(previous)
    (out_f, grads_f), (out_u, grads_u) = results
    torch.testing.assert_close(out_f, out_u, rtol=1e-5, atol=1e-5)
    dropped = sum(1 for blk in model.layers if blk.drop_path.p > 0)
    assert dropped == 2, "stochastic depth must be on in the blocks after the first"
    for name, g in grads_u.items():
        scale = g.abs().max().clamp_min(1e-12)
        err = ((grads_f[name] - g).abs().max() / scale).item()
        assert err < 1e-4, f"{name}: relative max gradient error {err:.2e}"
