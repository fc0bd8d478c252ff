"""The numba CPU kernels against the sequential reference and the torch backend: forward and gradients.

Kernels compute in float32; references run in float64 on the same (float32-representable) inputs, so the
tolerances below are float32 ones. First run compiles the kernels (cached on disk afterwards).
"""
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

numba = pytest.importorskip("numba")

from ssamba_lab import ops  # noqa: E402
from ssamba_lab.models import build_model  # noqa: E402
from ssamba_lab.models.mamba_mixer import MambaMixer  # noqa: E402
from ssamba_lab.ops import causal_conv1d_torch, selective_scan_ref  # noqa: E402
from ssamba_lab.ops.conv_numba import bidirectional_conv1d_numba  # noqa: E402
from ssamba_lab.ops.scan_numba import (  # noqa: E402
    bidirectional_selective_scan_numba, exp2_32, exp32, selective_scan_numba)

RTOL = 2e-5  # float32 kernels vs float64 reference, relative to each tensor's largest entry


def _close(a, b, what):
    scale = b.abs().max().clamp(min=1e-6)
    err = ((a.double() - b.double()).abs().max() / scale).item()
    assert err < RTOL, f"{what}: max error {err:.2e} of the largest entry (> {RTOL:.0e})"


def make_inputs(b, e, l, n, *, seed, with_D=True, with_z=True, with_bias=True, softplus=True):
    """float32-representable values stored in float64 (the reference's precision)."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g).double()  # noqa: E731
    inp = dict(u=r(b, e, l), delta=r(b, e, l) * 0.5, A=-(torch.rand(e, n, generator=g) * 4 + 0.1).double(),
               B=r(b, n, l), C=r(b, n, l), D=r(e) if with_D else None, z=r(b, e, l) if with_z else None,
               delta_bias=r(e) * 0.3 if with_bias else None)
    if not softplus:  # without softplus, delta must stay positive for a decaying recurrence
        inp["delta"] = inp["delta"].abs() + 0.01
        if inp["delta_bias"] is not None:
            inp["delta_bias"] = inp["delta_bias"].abs()
    return inp


def _grads(out, leaves, gout):
    return torch.autograd.grad(out, list(leaves.values()), gout)


def test_exp32_is_within_two_ulp_of_float64():
    x = np.linspace(-87.0, 88.0, 200_001, dtype=np.float32)
    got = np.array([exp32(v) for v in x[::97]], dtype=np.float64)  # scalar calls: the same code the kernels inline
    ref = np.exp(x[::97].astype(np.float64))
    assert np.max(np.abs(got - ref) / ref) < 2 * 2.0 ** -24


def test_exp2_32_is_within_two_ulp_of_float64():
    x = np.linspace(-125.9, 127.0, 200_001, dtype=np.float32)
    got = np.array([exp2_32(v) for v in x[::97]], dtype=np.float64)  # scalar calls: the same code the kernels inline
    ref = np.exp2(x[::97].astype(np.float64))
    assert np.max(np.abs(got - ref) / ref) < 2 * 2.0 ** -24


def test_scan_decays_are_within_float32_product_rounding_of_float64():
    """The kernels' decays exp2_32(dt * (A log2 e)) against float64 exp(dt * A) on the same float32 dt, A: within
    2 ulp plus 2 ulp per unit of |dt A| (the rounding of the products; float32 exp(dt * A) has half of that)."""
    g = np.random.default_rng(0)
    dt = np.log1p(np.exp(g.standard_normal(3000) * 2)).astype(np.float32)  # softplus outputs
    A = (-np.exp(g.uniform(-1, 3, 3000))).astype(np.float32)
    x = dt.astype(np.float64) * A.astype(np.float64)
    keep = x > -80  # results above FLT_MIN
    a2 = A * np.float32(1.4426950408889634)
    got = np.array([exp2_32(d * a) for d, a in zip(dt[keep], a2[keep])], dtype=np.float64)
    rel = np.abs(got - np.exp(x[keep])) / np.exp(x[keep])
    assert np.all(rel <= (2 + 2 * np.abs(x[keep])) * 2.0 ** -24)


CASES = list(itertools.product([False, True], repeat=4))  # D, z, delta_bias, softplus


@pytest.mark.parametrize("with_D,with_z,with_bias,softplus", CASES)
@pytest.mark.parametrize("shape", [(2, 3, 37, 4), (1, 2, 1, 3), (2, 37, 64, 16)])
def test_scan_matches_sequential_reference(shape, with_D, with_z, with_bias, softplus):
    inp = make_inputs(*shape, seed=sum(shape), with_D=with_D, with_z=with_z, with_bias=with_bias, softplus=softplus)
    leaves = {k: v.requires_grad_() for k, v in inp.items() if v is not None}
    out = selective_scan_numba(**{k: v.float() if v is not None else None for k, v in inp.items()},
                               delta_softplus=softplus)
    ref = selective_scan_ref(**inp, delta_softplus=softplus)
    assert out.dtype == torch.float32 and out.shape == ref.shape
    _close(out, ref, "output")
    gout = torch.randn_like(ref)
    for name, a, b in zip(leaves, _grads(out, leaves, gout.float()), _grads(ref, leaves, gout)):
        _close(a, b, f"gradient of {name}")


@pytest.mark.parametrize("length", [1, 2, 33])
def test_reverse_scan_equals_scan_of_flipped_inputs(length):
    inp = make_inputs(2, 5, length, 4, seed=length)
    leaves = {k: v.requires_grad_() for k, v in inp.items()}
    out = selective_scan_numba(**{k: v.float() for k, v in inp.items()}, delta_softplus=True, reverse=True)
    flip = {k: v.flip(-1) if k in ("u", "delta", "B", "C", "z") else v for k, v in inp.items()}
    ref = selective_scan_ref(**flip, delta_softplus=True).flip(-1)
    _close(out, ref, "output")
    gout = torch.randn_like(ref)
    for name, a, b in zip(leaves, _grads(out, leaves, gout.float()), _grads(ref, leaves, gout)):
        _close(a, b, f"gradient of {name}")


@pytest.mark.parametrize("shape", [(2, 37, 29, 4), (1, 8, 1, 16)])
def test_bidirectional_scan_is_mean_of_forward_and_reversed_scans(shape):
    f = make_inputs(*shape, seed=1)
    bwd = make_inputs(*shape, seed=2)
    z = f["z"]
    leaves = {f"{k}_f": v for k, v in f.items()} | {f"{k}_b": v for k, v in bwd.items() if k != "z"}
    leaves = {k: v.requires_grad_() for k, v in leaves.items()}
    args = [leaves[k] for k in ("u_f", "u_b", "z_f", "delta_f", "B_f", "C_f", "A_f", "D_f", "delta_bias_f",
                                "delta_b", "B_b", "C_b", "A_b", "D_b", "delta_bias_b")]
    out = bidirectional_selective_scan_numba(*(a.float() for a in args))
    names = ("u", "delta", "A", "B", "C", "D", "delta_bias")
    y_f = selective_scan_ref(**{k: leaves[f"{k}_f"] for k in names}, z=z, delta_softplus=True)
    flipped = {k: leaves[f"{k}_b"].flip(-1) if k in ("u", "delta", "B", "C") else leaves[f"{k}_b"] for k in names}
    y_b = selective_scan_ref(**flipped, z=z.flip(-1), delta_softplus=True).flip(-1)
    ref = (y_f + y_b) / 2
    _close(out, ref, "output")
    gout = torch.randn_like(ref)
    for name, a, b in zip(leaves, _grads(out, leaves, gout.float()), _grads(ref, leaves, gout)):
        _close(a, b, f"gradient of {name}")


def test_bidirectional_conv_matches_causal_and_flipped_causal_conv():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 37, 70, generator=g).double().requires_grad_()  # [b, e, l]
    w_f, w_b = (torch.randn(37, 4, generator=g).double().requires_grad_() for _ in range(2))
    b_f, b_b = (torch.randn(37, generator=g).double().requires_grad_() for _ in range(2))
    leaves = [x, w_f, b_f, w_b, b_b]
    out_f, out_b = bidirectional_conv1d_numba(x.float().transpose(1, 2), w_f.float(), b_f.float(), w_b.float(),
                                              b_b.float())  # [b, l, e] each
    ref_f = causal_conv1d_torch(x, w_f, b_f)  # [b, e, l]
    ref_b = causal_conv1d_torch(x.flip(-1), w_b, b_b).flip(-1)  # [b, e, l]
    _close(out_f.transpose(1, 2), ref_f, "causal conv")
    _close(out_b.transpose(1, 2), ref_b, "anti-causal conv")
    g_f, g_b = torch.randn_like(ref_f), torch.randn_like(ref_b)
    got = torch.autograd.grad((out_f * g_f.float().transpose(1, 2)).sum() + (out_b * g_b.float().transpose(1, 2)).sum(),
                              leaves)
    ref = torch.autograd.grad((ref_f * g_f).sum() + (ref_b * g_b).sum(), leaves)
    for name, a, b in zip(("x", "w_f", "b_f", "w_b", "b_b"), got, ref):
        _close(a, b, f"gradient of {name}")


def _perturbed(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Move every parameter off its init (A_log, D, conv...) so parity covers generic values."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.05)
    return module


def _run(module, x, backend):
    module.zero_grad(set_to_none=True)
    for m in module.modules():
        if isinstance(m, MambaMixer):
            m.scan_backend = backend
    x = x.clone().requires_grad_()
    out = module(x)
    out.pow(2).mean().backward()
    return out.detach(), x.grad, {n: p.grad.clone() for n, p in module.named_parameters()}


def _assert_same(module, x, rtol):
    out_t, gx_t, g_t = _run(module, x, "torch")
    out_n, gx_n, g_n = _run(module, x, "numba")
    torch.testing.assert_close(out_n, out_t, rtol=rtol, atol=rtol * out_t.abs().max().item())
    torch.testing.assert_close(gx_n, gx_t, rtol=rtol, atol=rtol * gx_t.abs().max().item())
    assert g_n.keys() == g_t.keys()
    for name in g_t:
        scale = g_t[name].abs().max().clamp(min=1e-8)
        err = ((g_n[name] - g_t[name]).abs().max() / scale).item()
        assert err < rtol, f"gradient of {name}: max error {err:.2e} of its largest entry"


@pytest.mark.parametrize("length", [1, 23])
def test_bidirectional_mixer_matches_torch_backend(length):
    torch.manual_seed(0)
    mixer = _perturbed(MambaMixer(dim=24, d_state=8, bidirectional=True), seed=length)
    _assert_same(mixer, torch.randn(2, length, 24), rtol=1e-4)


def test_bidirectional_mixer_with_16_states_matches_torch_backend():
    """d_state 16 takes the scan's unrolled state update; the conv and scan read x, z, B and C in place."""
    torch.manual_seed(0)
    mixer = _perturbed(MambaMixer(dim=24, d_state=16, bidirectional=True), seed=16)
    _assert_same(mixer, torch.randn(2, 37, 24), rtol=1e-4)


def test_unidirectional_mixer_matches_torch_backend():
    torch.manual_seed(0)
    mixer = _perturbed(MambaMixer(dim=24, d_state=8, bidirectional=False), seed=3)
    _assert_same(mixer, torch.randn(2, 19, 24), rtol=1e-4)


def test_small_ssamba_encoder_matches_torch_backend():
    torch.manual_seed(0)
    enc = _perturbed(build_model("ssamba-tiny", embed_dim=32, depth=3, input_tdim=64, drop_path=0.0), seed=4)
    _assert_same(enc, torch.randn(2, 64, 128), rtol=2e-4)


def test_numba_is_the_cpu_default_and_torch_stays_selectable(monkeypatch):
    monkeypatch.delenv(ops.ENV_VAR, raising=False)
    assert "numba" in ops.available_backends("cpu")
    assert ops.resolve_backend("cpu") == "numba"
    monkeypatch.setenv(ops.ENV_VAR, "torch")
    assert ops.resolve_backend("cpu") == "torch"
    scan, conv = ops.get_ops("cpu")  # Ops still unpacks as the (scan, conv) pair
    assert ops.get_ops("cpu").bidirectional_mixer is None and scan is ops.selective_scan_torch
    assert ops.get_ops("cpu", "numba").bidirectional_mixer is not None


def test_torch_thread_count_survives_numba_calls():
    """numba's OpenMP pool shares the OpenMP runtime with torch; starting it must not change torch's setting."""
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        inp = make_inputs(1, 4, 9, 2, seed=0)
        selective_scan_numba(**{k: v.float() for k, v in inp.items()}, delta_softplus=True)
        assert torch.get_num_threads() == 1
        assert numba.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_softplus_matches_torch_exactly_in_the_scan_input():
    """delta's softplus runs in PyTorch, so a zero-state scan (A -> -inf) returns delta * B * C * u exactly."""
    inp = make_inputs(1, 3, 5, 1, seed=5, with_D=False, with_z=False)
    inp = {k: (v.float() if v is not None else None) for k, v in inp.items()}
    inp["A"] = torch.full_like(inp["A"], -1e4)  # exp(dt * A) underflows: no memory
    out = selective_scan_numba(**inp, delta_softplus=True)
    dt = F.softplus(inp["delta"] + inp["delta_bias"][None, :, None])  # [b, e, l]
    expected = dt * inp["u"] * inp["B"] * inp["C"]  # [b, e, l] with n = 1
    torch.testing.assert_close(out, expected, rtol=1e-6, atol=1e-6)


def test_softplus32_matches_torch_softplus():
    from ssamba_lab.ops.scan_numba import softplus32

    x = torch.cat([torch.linspace(-100, 30, 4001), torch.tensor([-1e-6, 0.0, 1e-6, 19.99, 20.0, 20.01])])
    got = torch.tensor([softplus32(np.float32(v)) for v in x.tolist()], dtype=torch.float64)
    ref = F.softplus(x.double())
    rel = ((got - ref).abs() / ref.clamp(min=1e-30)).max().item()
    assert rel < 4 * 2.0 ** -24, f"softplus32 relative error {rel:.2e}"


def test_numba_mixer_under_cpu_bf16_autocast_matches_torch_backend():
    """CPU autocast hands the fused mixer bf16 projections; it must run and agree with the torch path."""
    from ssamba_lab.models import build_model

    torch.manual_seed(0)
    model = build_model("ssamba-tiny", depth=1, embed_dim=32, input_tdim=32, drop_path=0.0)
    x = torch.randn(2, 32, 128)
    outs = {}
    for backend in ("numba", "torch"):
        model.set_scan_backend(backend)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(x)
        out.float().pow(2).mean().backward()
        outs[backend] = out.float().detach()
        assert all(p.grad is not None for p in model.parameters())
        model.zero_grad()
    torch.testing.assert_close(outs["numba"], outs["torch"], rtol=5e-2, atol=5e-2)
