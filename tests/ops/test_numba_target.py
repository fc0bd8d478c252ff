"""numba's vector width (``ssamba_lab.ops.numba_target``): applied only on AVX-512 hosts, never over the user's own
setting. The forward is bit-identical (it computes per channel; only the lanes per instruction change); the
backward's B / C gradients are sums over channel blocks, which are 64 wide with 512-bit vectors and 32 without,
so they agree to float32 rounding, not bit for bit."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("numba")
import llvmlite.binding as llvm

from ssamba_lab.ops.numba_target import host_has_avx512

HAS_AVX512 = host_has_avx512()

_PROBE = r"""
import json, sys, torch
from ssamba_lab.ops.numba_target import wide_vectors_applied
from ssamba_lab.models import build_model
torch.manual_seed(0)
m = build_model("ssamba-tiny", depth=2)
m.set_scan_backend("numba")
x = torch.randn(2, 96, 128)
out = m(x)  # train mode: the numba backward runs too
out.pow(2).mean().backward()
g = torch.cat([p.grad.flatten() for p in m.parameters() if p.grad is not None])
torch.save((out.detach(), g), sys.argv[1])
print(json.dumps({"applied": wide_vectors_applied()}))
"""


def _probe(tmp_path, name: str, env_extra: dict) -> tuple[dict, object]:
    import torch

    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CPU")} | env_extra
    path = tmp_path / f"{name}.pt"
    res = subprocess.run([sys.executable, "-c", _PROBE, str(path)], env=env, capture_output=True, text=True,
                         timeout=600, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout.strip().splitlines()[-1]), torch.load(path)


def test_wide_vectors_follow_the_host_and_give_identical_numbers(tmp_path):
    own = llvm.get_host_cpu_features().flatten()  # the host's features, as numba would pick them itself
    wide, (out_w, g_w) = _probe(tmp_path, "default", {})
    user, (out_u, g_u) = _probe(tmp_path, "user", {"NUMBA_CPU_FEATURES": own})
    assert wide["applied"] is HAS_AVX512, f"applied={wide['applied']} on a host with avx512f={HAS_AVX512}"
    assert user["applied"] is False, "a user's NUMBA_CPU_FEATURES must win"
    assert out_w.equal(out_u), f"outputs differ: max {(out_w - out_u).abs().max().item():.3e}"
    rel = ((g_w.double() - g_u.double()).norm() / g_u.double().norm()).item()
    assert rel < 1e-6, f"gradients differ by {rel:.2e} (relative)"
