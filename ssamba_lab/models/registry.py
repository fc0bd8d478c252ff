"""Named presets (timm-style): ``build_model('ssamba-tiny', tstride=10)``."""
from __future__ import annotations

from .config import EncoderConfig

_SIZES = {"tiny": (192, 3), "small": (384, 6), "base": (768, 12)}  # embed_dim, SSAST heads

# SSAMBA (SSAMBA_FACTS section 2): 24 bidirectional Mamba layers, 16x16 patches, freq-major, one CLS token.
_SSAMBA = EncoderConfig(arch="mamba", depth=24, bidirectional=True, d_state=16, d_conv=4, expand=2,
                        num_prefix_tokens=1, input_fdim=128, input_tdim=1024, patch_f=16, patch_t=16,
                        fstride=16, tstride=16, token_order="freq_major", pos_embed="learned", norm_eps=1e-5,
                        drop_path=0.1)
# SSAM / Audio Mamba (section 4): 12 unidirectional layers, 200x80 log-mel, 4-frame x 16-bin patches, time-major.
_SSAM = EncoderConfig(arch="mamba", depth=12, bidirectional=False, d_state=24, d_conv=4, expand=3,
                      residual_in_fp32=True, num_prefix_tokens=1, input_fdim=80, input_tdim=200, patch_f=16,
                      patch_t=4, fstride=16, tstride=4, token_order="time_major", pos_embed="sincos",
                      norm_eps=1e-6, frontend="logmel")
# SSAST (section 3): DeiT-style ViT, 12 layers, cls + distillation tokens.
_SSAST = EncoderConfig(arch="transformer", depth=12, mlp_ratio=4.0, attn_impl="sdpa", num_prefix_tokens=2,
                       input_fdim=128, input_tdim=1024, patch_f=16, patch_t=16, fstride=16, tstride=16,
                       token_order="freq_major", pos_embed="learned", norm_eps=1e-6)

PRESETS: dict[str, EncoderConfig] = {}
for _size, (_dim, _heads) in _SIZES.items():
    PRESETS[f"ssamba-{_size}"] = _SSAMBA.replace(embed_dim=_dim)
    PRESETS[f"ssam-{_size}"] = _SSAM.replace(embed_dim=_dim)
    PRESETS[f"ssast-{_size}"] = _SSAST.replace(embed_dim=_dim, num_heads=_heads)


def list_models() -> list[str]:
    return list(PRESETS)


def get_config(name: str, **overrides) -> EncoderConfig:
    """The preset's config with ``overrides`` applied; unknown names/fields raise listing the valid ones."""
    if name not in PRESETS:
        raise ValueError(f"unknown model {name!r}; valid: {', '.join(PRESETS)}")
    return PRESETS[name].replace(**overrides)


def build_encoder(config: EncoderConfig):
    from .mamba_encoder import MambaEncoder
    from .transformer_encoder import TransformerEncoder

    return (MambaEncoder if config.arch == "mamba" else TransformerEncoder)(config=config)


def build_model(name: str, **overrides):
    """Build the encoder of a preset (no task heads). Input ``[batch, frames, bins]`` -> ``[batch, tokens, dim]``."""
    return build_encoder(get_config(name, **overrides))
