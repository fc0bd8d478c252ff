"""Released SSAMBA layout: strict loading, config inference and the original forward, checked against a plain
re-implementation of SSAMBA_FACTS section 2 written here from the raw tensors (no package model code)."""
from __future__ import annotations

import math
import os

import pytest
import torch
import torch.nn.functional as F

from ssamba_lab import load_pretrained
from ssamba_lab.checkpoint import CheckpointError
from ssamba_lab.interop.key_map import map_released_keys
from ssamba_lab.interop.pretrained import build_from_config, spec_from_released_state
from ssamba_lab.models import MaskedPretrainer
from ssamba_lab.ops import selective_scan_ref


# ---- the reference: section 2, straight from the state dict ---------------------------------------------
def ref_mixer(sd: dict, p: str, x: torch.Tensor, dt_rank: int) -> torch.Tensor:
    """Vim v2 bidirectional mixer. x: [b, l, d] -> [b, l, d]."""
    e = sd[p + "in_proj.weight"].shape[0] // 2
    xz = x @ sd[p + "in_proj.weight"].T  # [b, l, 2e]
    u, z = xz[..., :e].transpose(1, 2), xz[..., e:].transpose(1, 2)  # [b, e, l]

    def direction(u, z, s):
        w = sd[p + f"conv1d{s}.weight"]  # [e, 1, 4]
        uc = F.silu(F.conv1d(u, w, sd[p + f"conv1d{s}.bias"], padding=w.shape[-1] - 1, groups=e)[..., : u.shape[-1]])
        dbl = uc.transpose(1, 2) @ sd[p + f"x_proj{s}.weight"].T  # [b, l, r + 2n]
        n = (dbl.shape[-1] - dt_rank) // 2
        dt, B, C = dbl[..., :dt_rank], dbl[..., dt_rank:dt_rank + n], dbl[..., dt_rank + n:]
        dt = (dt @ sd[p + f"dt_proj{s}.weight"].T).transpose(1, 2)  # [b, e, l]
        A = -torch.exp(sd[p + ("A_log" if s == "" else "A_b_log")])
        return selective_scan_ref(uc, dt, A, B.transpose(1, 2), C.transpose(1, 2), sd[p + f"D{s}"], z,
                                  sd[p + f"dt_proj{s}.bias"], True)  # [b, e, l]

    y = (direction(u, z, "") + direction(u.flip(-1), z.flip(-1), "_b").flip(-1)) / 2  # [b, e, l]
    return y.transpose(1, 2) @ sd[p + "out_proj.weight"].T  # [b, l, d]


def ref_official_forward(sd: dict, feats: torch.Tensor, mask: torch.Tensor, *, grid_t: int) -> torch.Tensor:
    """The released model's token outputs. feats [b, frames, 128], mask [b, N] bool -> [b, 1 + N, d]."""
    sd = {k[len("module."):]: v for k, v in sd.items()}
    d = sd["v.cls_token"].shape[-1]
    dt_rank = sd["v.layers.0.mixer.dt_proj.weight"].shape[1]
    x = F.conv2d(feats.transpose(1, 2).unsqueeze(1), sd["v.patch_embed.proj.weight"], sd["v.patch_embed.proj.bias"],
                 stride=16)  # [b, d, 8, T]
    x = x.flatten(2).transpose(1, 2)  # [b, 8T, d] frequency-major
    keep = (~mask).float().unsqueeze(-1)  # the original: x * mask_dense + (1 - mask_dense) * mask_tokens
    x = x * keep + (1 - keep) * sd["mask_embed"]
    x = torch.cat([sd["v.cls_token"].expand(x.shape[0], -1, -1), x], dim=1)  # [b, 1 + N, d]
    pos = sd["v.pos_embed"]  # [1, 513, d]
    grid = pos[:, 1:].reshape(1, 8, 64, d)
    start = 64 // 2 - grid_t // 2  # centre crop in time for a shorter input
    pos = torch.cat([pos[:, :1], grid[:, :, start:start + grid_t].reshape(1, -1, d)], dim=1)
    x = x + pos

    def layer(i, hidden, residual):  # Vim block: add -> norm -> mixer, returns (hidden, residual)
        residual = hidden if residual is None else residual + hidden
        normed = F.layer_norm(residual, (d,), sd[f"v.layers.{i}.norm.weight"], sd[f"v.layers.{i}.norm.bias"], 1e-5)
        return ref_mixer(sd, f"v.layers.{i}.mixer.", normed, dt_rank), residual

    hidden, residual = x, None
    for i in range(12):
        h_f, r_f = layer(2 * i, hidden, residual)
        h_b, r_b = layer(2 * i + 1, hidden.flip(1), None if residual is None else residual.flip(1))
        hidden, residual = h_f + h_b.flip(1), r_f + r_b.flip(1)
    norm_f = lambda t: F.layer_norm(t, (d,), sd["v.norm_f.weight"], sd["v.norm_f.bias"], 1e-5)  # noqa: E731
    return norm_f(norm_f(residual + hidden))


def ref_head(sd: dict, name: str, h: torch.Tensor) -> torch.Tensor:
    w0, b0, w2, b2 = (sd[f"module.{name}.{i}.{t}"] for i, t in ((0, "weight"), (0, "bias"), (2, "weight"), (2, "bias")))
    return F.relu(h @ w0.T + b0) @ w2.T + b2


# ---- inference from the keys file (all sizes, nothing allocated) ------------------------------------------
@pytest.mark.parametrize("size", ["tiny", "small", "base"])
def test_config_inferred_from_released_keys(ssamba_keys, size):
    info = ssamba_keys[size]
    state = {k[len("module."):]: (torch.tensor(128 if k.endswith("fdim") else 1024) if k.endswith(("_fdim", "_tdim"))
                                   else torch.empty(v["shape"], device="meta")) for k, v in info["keys"].items()}
    spec = spec_from_released_state(state, source=f"amba_{size}_400.pth")
    enc = spec.encoder
    assert (spec.family, spec.kind, spec.model_name) == ("ssamba", "pretrainer", f"ssamba-{size}")
    assert (enc.embed_dim, enc.d_inner, enc.resolved_dt_rank) == (info["d_model"], info["d_inner"], info["dt_rank"])
    assert (enc.depth, enc.input_fdim, enc.input_tdim, enc.grid, enc.official_compat) == (24, 128, 1024, (8, 64), True)
    assert spec.objective.num_masked == 400
    # a 2-layer model of the inferred width gives the per-layer shapes without allocating 24 layers of "base"
    cfg = dict(spec.config, encoder=enc.replace(depth=2).to_dict())
    ours = {k: tuple(v.shape) for k, v in build_from_config(cfg, source=size).state_dict().items()}
    expected = {k: s for k, s in ours.items() if ".layers." not in k}
    for i in range(enc.depth):
        expected.update({k.replace(".layers.0.", f".layers.{i}."): s for k, s in ours.items() if ".layers.0." in k})
    with pytest.warns(UserWarning, match="v.head"):
        mapped = map_released_keys(state, kind=spec.kind, source=size)
    assert {k: tuple(v.shape) for k, v in mapped.items()} == expected
    n_encoder = sum(math.prod(s) for k, s in expected.items() if k.startswith("encoder."))
    assert n_encoder == info["backbone_elements_without_v_head"]
    assert len(mapped) + 2 + 2 == info["n_tensors"]  # + v.head.{weight,bias} + p_input_{fdim,tdim}


# ---- a real tiny file: strict load and the original forward ------------------------------------------------
def test_released_tiny_loads_strictly_and_matches_reference_forward(make_ssamba_file):
    path, sd = make_ssamba_file("tiny")
    with pytest.warns(UserWarning, match=r"v\.head\.weight"):
        model = load_pretrained(path)
    assert isinstance(model, MaskedPretrainer) and not model.training
    assert model.encoder.config.official_compat
    loaded = model.state_dict()
    for key, value in sd.items():  # every tensor arrived unchanged
        if key.startswith(("module.v.head.", "module.p_input")):
            continue
        name = key[len("module."):].replace("v.", "encoder.", 1) if key.startswith("module.v.") else key[len("module."):]
        assert torch.equal(loaded[name], value), name

    g = torch.Generator().manual_seed(1)
    frames = 32  # 2 time columns x 8 bands (reduced length: the 513-row table is centre-cropped)
    feats = torch.randn(2, frames, 128, generator=g)
    mask = torch.zeros(2, 16, dtype=torch.bool)
    mask[0, [1, 5, 9]] = True
    mask[1, [0, 2, 15]] = True
    with torch.no_grad():
        ours = model.encoder(feats, mask=mask, mask_token=model.mask_embed)  # [2, 17, 192]
        ref = ref_official_forward(sd, feats, mask, grid_t=2)
        torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(model.cpredlayer(ours[:, 1:]), ref_head(sd, "cpredlayer", ref[:, 1:]),
                                   rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(model.gpredlayer(ours[:, 1:]), ref_head(sd, "gpredlayer", ref[:, 1:]),
                                   rtol=1e-4, atol=1e-4)


def test_clean_forward_differs_from_released_forward(make_ssamba_file):
    """Guards the test above against a compat path that silently falls back to the clean forward."""
    from ssamba_lab.models import build_encoder
    from ssamba_lab.checkpoint import load_state_strict

    path, _ = make_ssamba_file("tiny")
    with pytest.warns(UserWarning):
        model = load_pretrained(path)
    clean = build_encoder(model.encoder.config.replace(official_compat=False)).eval()
    load_state_strict(clean, model.encoder.state_dict(), source="test")
    feats = torch.randn(1, 16, 128)
    with torch.no_grad():
        assert not torch.allclose(clean(feats), model.encoder(feats), atol=1e-3)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("SSAMBA_SLOW_TESTS"), reason="full 1024-frame forward: ~1 min on a shared CPU")
def test_released_tiny_full_length_matches_reference(make_ssamba_file):
    path, sd = make_ssamba_file("tiny")
    with pytest.warns(UserWarning):
        model = load_pretrained(path)
    feats = torch.randn(1, 1024, 128)
    mask = torch.zeros(1, 512, dtype=torch.bool)
    mask[0, torch.randperm(512)[:400]] = True
    with torch.no_grad():
        ours = model.encoder(feats, mask=mask, mask_token=model.mask_embed)
        torch.testing.assert_close(ours, ref_official_forward(sd, feats, mask, grid_t=64), rtol=1e-4, atol=1e-4)


# ---- strictness ---------------------------------------------------------------------------------------------
def test_unknown_key_is_an_error(make_ssamba_file):
    path, _ = make_ssamba_file("tiny", edit=lambda s: s.__setitem__("module.v.extra_thing", torch.zeros(3)))
    with pytest.raises(CheckpointError, match="extra_thing"), pytest.warns(UserWarning):
        load_pretrained(path)


def test_missing_key_is_an_error(make_ssamba_file):
    path, _ = make_ssamba_file("tiny", edit=lambda s: s.pop("module.v.layers.7.mixer.D_b"))
    with pytest.raises(CheckpointError, match=r"layers\.7\.mixer\.D_b"), pytest.warns(UserWarning):
        load_pretrained(path)


def test_shape_mismatch_is_an_error(make_ssamba_file):
    path, _ = make_ssamba_file("tiny", edit=lambda s: s.__setitem__("module.v.norm_f.bias", torch.zeros(191)))
    with pytest.raises(CheckpointError, match="norm_f.bias"), pytest.warns(UserWarning):
        load_pretrained(path)


# ---- fine-tuned layout ----------------------------------------------------------------------------------------
def test_finetuned_released_file_loads_as_classifier(make_ssamba_file):
    def to_finetuned(s):
        for k in [k for k in s if k.startswith(("module.mask_embed", "module.cpred", "module.gpred", "module.p_input"))]:
            del s[k]
        s["module.v.pos_embed"] = 0.02 * torch.randn(1, 1 + 12 * 101, 192)  # stride 10, 1024 frames
        s["module.mlp_head.0.weight"], s["module.mlp_head.0.bias"] = torch.ones(192), torch.zeros(192)
        s["module.mlp_head.1.weight"], s["module.mlp_head.1.bias"] = 0.02 * torch.randn(527, 192), torch.zeros(527)

    path, sd = make_ssamba_file("tiny", name="amba_tiny_as.pth", edit=to_finetuned)
    with pytest.warns(UserWarning, match="v.head"):
        model = load_pretrained(path)
    c = model.encoder.config
    assert (c.fstride, c.tstride, c.input_tdim, c.grid) == (10, 10, 1024, (12, 101))
    assert torch.equal(model.head.mlp_head[1].weight, sd["module.mlp_head.1.weight"])
    with torch.no_grad():
        assert model(torch.randn(1, 36, 128)).shape == (1, 527)
