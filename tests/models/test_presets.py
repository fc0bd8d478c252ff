"""Every preset: forward shape, no NaN, every parameter gets a gradient, published parameter counts."""
import pytest
import torch

from ssamba_lab.models import build_model, get_config, list_models
from ssamba_lab.models.heads import reconstruction_head

PRESETS = list_models()

# Released encoder sizes (SSAMBA_FACTS sections 2 and 4). SSAM's published counts include its
# reconstruction head (Linear-GELU-Linear to 64): encoder alone is ~1% smaller.
PUBLISHED = {
    "ssamba-tiny": 6.92e6, "ssamba-small": 25.35e6, "ssamba-base": 96.70e6,
    "ssam-tiny": 4.76e6, "ssam-small": 17.89e6, "ssam-base": 69.25e6,
}


def small_input(name: str) -> tuple[torch.nn.Module, torch.Tensor]:
    """The preset at its published width and depth, on a short input to keep CPU tests fast."""
    cfg = get_config(name)
    frames = cfg.patch_t * 4  # 4 time patches
    model = build_model(name, input_tdim=frames)
    x = torch.randn(2, frames, cfg.input_fdim, generator=torch.Generator().manual_seed(0))  # [b, T, F]
    return model, x


def test_registry_lists_all_nine_presets():
    assert sorted(PRESETS) == sorted(f"{a}-{s}" for a in ("ssamba", "ssam", "ssast") for s in ("tiny", "small", "base"))


@pytest.mark.parametrize("name", PRESETS)
def test_forward_shape_no_nan_and_gradients(name):
    torch.manual_seed(0)
    model, x = small_input(name)
    cfg = model.config
    out = model(x)  # [b, P + N, D]
    nf, nt = cfg.input_fdim // cfg.patch_f, 4
    assert out.shape == (2, cfg.num_prefix_tokens + nf * nt, cfg.embed_dim)
    assert torch.isfinite(out).all()
    # A loss that depends on every token so that every parameter (prefix tokens included) is reached.
    (out ** 2).mean().backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not no_grad, f"parameters without a finite gradient: {no_grad}"
    zero = [n for n, p in model.named_parameters() if p.grad.abs().max() == 0]
    assert not zero, f"parameters with an all-zero gradient: {zero}"


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameter_counts_match_released_models(name):
    model = build_model(name)
    n = sum(p.numel() for p in model.parameters())
    if name.startswith("ssam-"):
        n += sum(p.numel() for p in reconstruction_head(model.config.embed_dim, model.config.patch_dim).parameters())
    assert abs(n - PUBLISHED[name]) / PUBLISHED[name] < 0.005, f"{name}: {n} parameters vs {PUBLISHED[name]:.0f}"


def test_ssamba_default_token_grid_matches_paper():
    cfg = get_config("ssamba-tiny")
    assert cfg.grid == (8, 64) and cfg.num_patches == 512
    assert get_config("ssamba-tiny", tstride=10, fstride=10).grid == (12, 101)
    assert get_config("ssam-tiny").grid == (5, 50)


def test_unknown_model_and_override_are_named():
    with pytest.raises(ValueError, match="ssamba-tiny"):
        build_model("ssamba-huge")
    with pytest.raises(ValueError, match="embed_dimm"):
        build_model("ssamba-tiny", embed_dimm=3)


def test_wrong_input_shape_is_explained():
    model = build_model("ssamba-tiny", depth=1, input_tdim=32)
    with pytest.raises(AssertionError, match="mel bins"):
        model(torch.randn(1, 32, 80))
    with pytest.raises(AssertionError, match=r"\[batch, frames, bins\]"):
        model(torch.randn(32, 128))
    with pytest.raises(AssertionError, match="8 frames, fewer than one patch"):
        model(torch.randn(1, 8, 128))
