"""Fixtures: random checkpoints in the released SSAMBA / SSAST layouts, shapes taken from the reference files."""
from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest
import torch

# The released SSAMBA checkpoints' key names, shapes and dtypes (the team's reference file
# official_ssamba_keys.json, gzipped), committed so that a clone anywhere runs these tests instead of skipping them
KEYS_FILE = Path(__file__).parent / "data" / "official_ssamba_keys.json.gz"


def _keys_json() -> dict:
    return json.loads(gzip.decompress(KEYS_FILE.read_bytes()))


@pytest.fixture(scope="session")
def ssamba_keys() -> dict:
    """``{size: {d_model, d_inner, dt_rank, n_tensors, ..., keys: {name: {shape, dtype}}}}``."""
    return _keys_json()


def random_tensor(name: str, shape: list[int], g: torch.Generator) -> torch.Tensor:
    """Plausible random values per tensor family (keeps a 24-layer forward finite and non-degenerate)."""
    if name.endswith("p_input_fdim"):
        return torch.tensor(128)
    if name.endswith("p_input_tdim"):
        return torch.tensor(1024)
    if name.endswith(("A_log", "A_b_log")):
        base = torch.log(torch.arange(1, shape[1] + 1, dtype=torch.float32)).repeat(shape[0], 1)
        return base + 0.1 * torch.randn(shape, generator=g)
    if name.endswith(("norm.weight", "norm_f.weight", "norm1.weight", "norm2.weight", "mlp_head.0.weight")):
        return 1.0 + 0.1 * torch.randn(shape, generator=g)
    if ".dt_proj" in name and name.endswith("bias"):
        dt = torch.exp(torch.rand(shape, generator=g) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
        return dt + torch.log(-torch.expm1(-dt))
    fan_in = shape[-1] if len(shape) >= 2 else 1
    if len(shape) == 4:
        fan_in = shape[1] * shape[2] * shape[3]
    scale = 0.02 if len(shape) < 2 or "pos_embed" in name or "token" in name or "mask_embed" in name else fan_in ** -0.5
    return scale * torch.randn(shape, generator=g)


def released_ssamba_state(keys: dict, *, seed: int = 0) -> dict[str, torch.Tensor]:
    """A random state dict with exactly the released keys and shapes (``module.`` prefix included)."""
    g = torch.Generator().manual_seed(seed)
    return {k: random_tensor(k, v["shape"], g) for k, v in keys["keys"].items()}


@pytest.fixture
def make_ssamba_file(ssamba_keys, tmp_path):
    """``make(size='tiny', name='amba_tiny_400.pth', edit=None) -> (path, state)``; ``edit(state)`` may change it."""

    def make(size: str = "tiny", name: str | None = None, edit=None, seed: int = 0):
        state = released_ssamba_state(ssamba_keys[size], seed=seed)
        if edit is not None:
            edit(state)
        path = tmp_path / (name or f"amba_{size}_400.pth")
        torch.save(state, path)
        return path, state

    return make


def ssast_state(*, dim: int = 192, depth: int = 12, tdim: int = 1024, pretrain: bool = True, seed: int = 0
                ) -> dict[str, torch.Tensor]:
    """Random weights in the released SSAST layout (timm DeiT distilled template, 16x16 patches)."""
    nf, nt = 8, tdim // 16
    shapes: dict[str, list[int]] = {
        "module.v.cls_token": [1, 1, dim], "module.v.dist_token": [1, 1, dim],
        "module.v.pos_embed": [1, 2 + nf * nt, dim],
        "module.v.patch_embed.proj.weight": [dim, 1, 16, 16], "module.v.patch_embed.proj.bias": [dim],
        "module.v.norm.weight": [dim], "module.v.norm.bias": [dim],
        "module.v.head.weight": [1000, dim], "module.v.head.bias": [1000],
        "module.v.head_dist.weight": [1000, dim], "module.v.head_dist.bias": [1000],
    }
    for i in range(depth):
        b = f"module.v.blocks.{i}."
        shapes.update({b + "norm1.weight": [dim], b + "norm1.bias": [dim], b + "attn.qkv.weight": [3 * dim, dim],
                       b + "attn.qkv.bias": [3 * dim], b + "attn.proj.weight": [dim, dim], b + "attn.proj.bias": [dim],
                       b + "norm2.weight": [dim], b + "norm2.bias": [dim], b + "mlp.fc1.weight": [4 * dim, dim],
                       b + "mlp.fc1.bias": [4 * dim], b + "mlp.fc2.weight": [dim, 4 * dim], b + "mlp.fc2.bias": [dim]})
    if pretrain:
        shapes.update({"module.p_input_fdim": [], "module.p_input_tdim": [], "module.mask_embed": [1, 1, dim]})
        for head in ("cpredlayer", "gpredlayer"):
            shapes.update({f"module.{head}.0.weight": [dim, dim], f"module.{head}.0.bias": [dim],
                           f"module.{head}.2.weight": [256, dim], f"module.{head}.2.bias": [256]})
    g = torch.Generator().manual_seed(seed)
    state = {k: random_tensor(k, s, g) for k, s in shapes.items()}
    if pretrain:
        state["module.p_input_tdim"] = torch.tensor(tdim)
    return state


@pytest.fixture
def make_ssast_state():
    """``make(dim=, depth=, tdim=, pretrain=, seed=) -> state`` in the released SSAST layout."""
    return ssast_state
