"""The PyTorch scan against the plain sequential definition: forward and gradients."""
import itertools

import pytest
import torch

from ssamba_lab import ops
from ssamba_lab.ops import causal_conv1d_torch, linear_scan, selective_scan_ref, selective_scan_torch


def make_inputs(b, e, l, n, *, seed, with_D, with_z, with_bias, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=dtype)  # noqa: E731
    return dict(
        u=r(b, e, l), delta=r(b, e, l) * 0.5, A=-torch.rand(e, n, generator=g, dtype=dtype) * 4 - 0.1,
        B=r(b, n, l), C=r(b, n, l),
        D=r(e) if with_D else None, z=r(b, e, l) if with_z else None, delta_bias=r(e) * 0.3 if with_bias else None,
    )


CASES = list(itertools.product([False, True], repeat=4))  # D, z, delta_bias, softplus


@pytest.mark.parametrize("with_D,with_z,with_bias,softplus", CASES)
@pytest.mark.parametrize("shape", [(2, 3, 37, 4), (1, 2, 1, 3), (2, 4, 64, 16)])
def test_forward_and_gradients_match_sequential(shape, with_D, with_z, with_bias, softplus):
    inp = make_inputs(*shape, seed=hash(shape) % 1000, with_D=with_D, with_z=with_z, with_bias=with_bias)
    if not softplus:  # without softplus, delta must stay positive for a decaying recurrence
        inp["delta"] = inp["delta"].abs() + 0.01
        if inp["delta_bias"] is not None:
            inp["delta_bias"] = inp["delta_bias"].abs()
    leaves = {k: v.requires_grad_() for k, v in inp.items() if v is not None}
    out = selective_scan_torch(**inp, delta_softplus=softplus)
    ref = selective_scan_ref(**inp, delta_softplus=softplus)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    gout = torch.randn_like(ref)
    g_out = torch.autograd.grad(out, list(leaves.values()), gout)
    g_ref = torch.autograd.grad(ref, list(leaves.values()), gout)
    for name, a, b in zip(leaves, g_out, g_ref):
        scale = b.abs().max().clamp(min=1e-6)
        assert (a - b).abs().max() / scale < 1e-5, f"gradient of {name} differs"


def test_long_sequences_stay_finite_and_exact():
    """Strong decays over 4096 steps: the doubling scan never forms exp(+cumsum) and matches the loop."""
    inp = make_inputs(1, 2, 4096, 4, seed=3, with_D=True, with_z=False, with_bias=True, dtype=torch.float32)
    inp["A"] = inp["A"] * 10  # decays down to exp(-40 * delta)
    out = selective_scan_torch(**inp, delta_softplus=True)
    ref = selective_scan_ref(**inp, delta_softplus=True)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("length", [1, 2, 5, 16, 33])
def test_linear_scan_matches_loop(length):
    g = torch.Generator().manual_seed(length)
    a, b = torch.rand(3, length, 2, generator=g), torch.randn(3, length, 2, generator=g)
    h, expected = torch.zeros(3, 2), []
    for t in range(length):
        h = a[:, t] * h + b[:, t]
        expected.append(h)
    torch.testing.assert_close(linear_scan(a, b), torch.stack(expected, 1))
    rev = linear_scan(a.flip(1), b.flip(1)).flip(1)
    torch.testing.assert_close(linear_scan(a, b, reverse=True), rev)


def test_bf16_inputs_return_bf16():
    inp = make_inputs(1, 2, 8, 4, seed=0, with_D=True, with_z=True, with_bias=True, dtype=torch.bfloat16)
    out = selective_scan_torch(**inp, delta_softplus=True)
    ref = selective_scan_ref(**{k: (v.float() if v is not None else None) for k, v in inp.items()}, delta_softplus=True)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), ref, rtol=2e-2, atol=2e-2)


def test_causal_conv_sees_only_the_past():
    x = torch.zeros(1, 2, 10)
    x[0, :, 5] = 1.0
    w, b = torch.randn(2, 4), torch.zeros(2)
    out = causal_conv1d_torch(x, w, b, activation=None)
    assert out[0, :, :5].abs().max() == 0  # nothing before the impulse
    torch.testing.assert_close(out[0, :, 5:9], w.flip(-1))  # impulse response = reversed taps


def test_backend_selection(monkeypatch):
    assert ops.resolve_backend("cpu") in ops.available_backends("cpu")
    assert ops.resolve_backend("cpu", "torch") == "torch"
    with pytest.raises(ValueError, match="valid: auto"):
        ops.resolve_backend("cpu", "cudnn-magic")
    with pytest.raises(ValueError, match="runs on"):
        ops.resolve_backend("cpu", "mamba_ssm")
    monkeypatch.setenv(ops.ENV_VAR, "nonsense")
    with pytest.raises(ValueError, match=ops.ENV_VAR):
        ops.resolve_backend("cpu")
    monkeypatch.setenv(ops.ENV_VAR, "torch")
    assert ops.resolve_backend("cpu") == "torch"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU machine's path")
def test_mamba_ssm_is_never_imported_on_cpu(monkeypatch):
    """Loading any CPU backend, and a model's forward and backward, never try to import mamba-ssm or causal-conv1d on
    a machine without CUDA (importing them there fails, or worse, half-loads a CUDA extension). A finder placed
    first on ``sys.meta_path`` records every attempt, installed or not; the backends' cached availability
    checks are cleared first so that they run again."""
    import importlib.abc
    import sys

    from ssamba_lab.models import build_model
    from ssamba_lab.ops import backend

    cuda_only = ("mamba_ssm", "causal_conv1d")
    tried = []

    class Recorder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in cuda_only:
                tried.append(name)
            return None  # the other finders decide

    for name in [m for m in sys.modules if m.split(".")[0] in cuda_only]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [Recorder(), *sys.meta_path])
    for entry in backend._REGISTRY.values():
        getattr(entry.is_available, "cache_clear", lambda: None)()
    backend._load.cache_clear()
    assert "mamba_ssm" not in ops.available_backends("cpu")
    for name in ops.available_backends("cpu"):  # every CPU backend loaded, not only auto's picks
        ops.get_ops("cpu", name)
    model = build_model("ssamba-tiny", depth=1, embed_dim=32, input_tdim=32)
    model(torch.randn(1, 32, 128)).sum().backward()  # [b, frames, bins]
    assert tried == [], f"tried to import {tried} on a CPU machine"
