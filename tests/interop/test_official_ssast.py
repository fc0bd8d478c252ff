"""Released SSAST layout (DeiT template, cls + distillation tokens): strict load and a plain ViT reference."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ssamba_lab import load_pretrained
from ssamba_lab.models import MaskedPretrainer


def ref_vit(sd: dict, feats: torch.Tensor, *, heads: int) -> torch.Tensor:
    """timm DeiT forward on [b, frames, 128] -> normalised tokens [b, 2 + N, d] (explicit attention)."""
    sd = {k[len("module."):]: v for k, v in sd.items()}
    d = sd["v.cls_token"].shape[-1]
    x = F.conv2d(feats.transpose(1, 2).unsqueeze(1), sd["v.patch_embed.proj.weight"], sd["v.patch_embed.proj.bias"],
                 stride=16).flatten(2).transpose(1, 2)  # [b, N, d]
    b = x.shape[0]
    x = torch.cat([sd["v.cls_token"].expand(b, -1, -1), sd["v.dist_token"].expand(b, -1, -1), x], 1) + sd["v.pos_embed"]
    ln = lambda t, n: F.layer_norm(t, (d,), sd[n + ".weight"], sd[n + ".bias"], 1e-6)  # noqa: E731
    lin = lambda t, n: t @ sd[n + ".weight"].T + sd[n + ".bias"]  # noqa: E731
    i = 0
    while f"v.blocks.{i}.norm1.weight" in sd:
        p = f"v.blocks.{i}."
        q, k, v = lin(ln(x, p + "norm1"), p + "attn.qkv").reshape(b, -1, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
        att = ((q @ k.transpose(-2, -1)) * (d // heads) ** -0.5).softmax(-1)  # [b, h, l, l]
        x = x + lin((att @ v).transpose(1, 2).reshape(b, -1, d), p + "attn.proj")
        x = x + lin(F.gelu(lin(ln(x, p + "norm2"), p + "mlp.fc1")), p + "mlp.fc2")
        i += 1
    return ln(x, "v.norm")


def test_released_ssast_tiny_loads_and_matches_reference(tmp_path, make_ssast_state):
    sd = make_ssast_state(dim=192, depth=12, tdim=64)  # a 64-frame pretraining table keeps the check fast
    path = tmp_path / "SSAST-Tiny-Patch-400.pth"
    torch.save(sd, path)
    with pytest.warns(UserWarning, match=r"v\.head\.weight.*v\.head_dist\.weight|v\.head_dist.*v\.head\."):
        model = load_pretrained(path)
    assert isinstance(model, MaskedPretrainer)
    c = model.encoder.config
    assert (c.arch, c.embed_dim, c.depth, c.num_heads, c.num_prefix_tokens, c.input_tdim) == (
        "transformer", 192, 12, 3, 2, 64)
    assert model.objective.num_masked == 400
    assert torch.equal(model.mask_embed, sd["module.mask_embed"])
    feats = torch.randn(2, 64, 128)
    with torch.no_grad():
        torch.testing.assert_close(model.encoder(feats), ref_vit(sd, feats, heads=3), rtol=1e-4, atol=1e-4)


def test_released_ssast_unknown_key_rejected(tmp_path, make_ssast_state):
    from ssamba_lab.checkpoint import CheckpointError

    sd = make_ssast_state(dim=192, depth=2, tdim=64)
    sd["module.v.fc_norm.weight"] = torch.ones(192)
    torch.save(sd, tmp_path / "x.pth")
    with pytest.raises(CheckpointError, match="fc_norm"), pytest.warns(UserWarning):
        load_pretrained(tmp_path / "x.pth")
