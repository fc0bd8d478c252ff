"""``auto`` may prefer another backend when gradients are needed (on CUDA: mamba-ssm's faster backward)."""
import pytest
import torch

from ssamba_lab import ops
from ssamba_lab.models import build_model
from ssamba_lab.ops import backend


@pytest.fixture
def cpu_orders(monkeypatch):
    """Inference prefers numba-if-present, training prefers torch, on CPU (mirrors the CUDA split)."""
    monkeypatch.delenv(ops.ENV_VAR, raising=False)
    monkeypatch.setitem(backend.AUTO_ORDER, "cpu", ["numba", "torch"])
    monkeypatch.setitem(backend.AUTO_ORDER_TRAIN, "cpu", ["torch"])
    loaded = []
    real_load = backend._load
    monkeypatch.setattr(backend, "_load", lambda name: loaded.append(name) or real_load(name))
    return loaded


def test_resolve_backend_uses_the_training_order(cpu_orders):
    assert ops.resolve_backend("cpu", training=True) == "torch"
    explicit = "numba" if "numba" in ops.available_backends("cpu") else "torch"
    assert ops.resolve_backend("cpu", explicit, training=True) == explicit  # an explicit name is never replaced
    inference = ops.resolve_backend("cpu")
    assert inference == ("numba" if "numba" in ops.available_backends("cpu") else "torch")


def test_mixer_asks_for_the_training_backend_only_when_grads_flow(cpu_orders):
    if "numba" not in ops.available_backends("cpu"):
        pytest.skip("needs two CPU backends (numba is in the cpu extra)")
    model = build_model("ssamba-tiny", depth=1, embed_dim=32, input_tdim=32)
    x = torch.randn(1, 32, 128)  # [b, T, F]
    model(x).sum().backward()
    assert set(cpu_orders) == {"torch"}
    cpu_orders.clear()
    with torch.no_grad():
        model(x)
    assert set(cpu_orders) == {ops.resolve_backend("cpu")}
