"""EncoderConfig: every architectural choice of an encoder, one frozen dataclass."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Literal

from ..config_checks import check_field_types, check_non_negative, check_positive


@dataclass(frozen=True)
class EncoderConfig:
    """Architecture of an SSAMBA / SSAM (Mamba) or SSAST (transformer) encoder.

    Input features are ``[batch, frames, mel_bins]`` = ``[batch, input_tdim, input_fdim]``.
    """

    arch: Literal["mamba", "transformer"] = "mamba"
    embed_dim: int = 192
    depth: int = 24
    # --- Mamba mixer ---
    bidirectional: bool = True
    d_state: int = 16
    d_conv: int = 4
    expand: int = 2
    dt_rank: int | None = None  # None -> ceil(embed_dim / 16); 0 is refused (MambaMixer would read it as None)
    residual_in_fp32: bool = False
    # --- transformer ---
    num_heads: int = 3
    mlp_ratio: float = 4.0
    attn_impl: Literal["sdpa", "explicit"] = "sdpa"
    # --- tokens ---
    num_prefix_tokens: int = 1  # CLS (+ distillation token for SSAST's DeiT layout)
    input_fdim: int = 128
    input_tdim: int = 1024
    patch_f: int = 16
    patch_t: int = 16
    fstride: int = 16
    tstride: int = 16
    token_order: Literal["freq_major", "time_major"] = "freq_major"
    pos_embed: Literal["learned", "sincos"] = "learned"
    # --- regularisation / norms ---
    norm_eps: float = 1e-5
    drop_path: float = 0.0
    frontend: Literal["fbank", "logmel"] = "fbank"
    # Released SSAMBA weights only work with their original forward (layer pairs, doubled residual, final norm
    # twice: SSAMBA_FACTS section 2); see ssamba_lab/interop/official_forward.py.
    official_compat: bool = False

    def __post_init__(self):
        check_field_types(self)
        check_positive(self, "embed_dim", "depth", "d_state", "d_conv", "expand", "dt_rank", "num_heads", "mlp_ratio",
                       "input_fdim", "input_tdim", "patch_f", "patch_t", "fstride", "tstride", "norm_eps")
        check_non_negative(self, "num_prefix_tokens")
        assert 0.0 <= self.drop_path < 1.0, f"EncoderConfig.drop_path is a probability in [0, 1), got {self.drop_path!r}"
        assert self.arch in ("mamba", "transformer"), f"arch must be 'mamba' or 'transformer', got {self.arch!r}"
        assert self.token_order in ("freq_major", "time_major"), f"bad token_order {self.token_order!r}"
        assert self.pos_embed in ("learned", "sincos"), f"bad pos_embed {self.pos_embed!r}"
        assert self.attn_impl in ("sdpa", "explicit"), f"attn_impl must be 'sdpa' or 'explicit', got {self.attn_impl!r}"
        assert self.input_fdim >= self.patch_f and self.input_tdim >= self.patch_t, (
            f"input {self.input_tdim}x{self.input_fdim} (frames x bins) is smaller than one patch "
            f"{self.patch_t}x{self.patch_f}")
        assert not self.official_compat or (self.arch == "mamba" and self.bidirectional and self.depth % 2 == 0), (
            "official_compat is the released SSAMBA forward: it needs a bidirectional Mamba encoder of even depth")
        if self.arch == "transformer":
            assert self.embed_dim % self.num_heads == 0, "embed_dim must be divisible by num_heads"

    @property
    def d_inner(self) -> int:
        return self.expand * self.embed_dim

    @property
    def resolved_dt_rank(self) -> int:
        return self.dt_rank if self.dt_rank is not None else math.ceil(self.embed_dim / 16)

    @property
    def grid(self) -> tuple[int, int]:
        """Patch grid (frequency rows, time columns) for the configured input size."""
        return grid_size(self.input_fdim, self.input_tdim, self.patch_f, self.patch_t, self.fstride, self.tstride)

    @property
    def num_patches(self) -> int:
        f, t = self.grid
        return f * t

    @property
    def patch_dim(self) -> int:
        return self.patch_f * self.patch_t

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "EncoderConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown EncoderConfig fields {sorted(unknown)}; valid: {sorted(known)}")
        return cls(**d)

    def replace(self, **overrides) -> "EncoderConfig":
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ValueError(f"unknown encoder override(s) {sorted(unknown)}; valid: {sorted(known)}")
        return replace(self, **overrides)


def grid_size(fdim: int, tdim: int, patch_f: int, patch_t: int, fstride: int, tstride: int) -> tuple[int, int]:
    """Number of (frequency, time) patch positions of a strided ``Conv2d`` over a ``tdim x fdim`` input."""
    return (fdim - patch_f) // fstride + 1, (tdim - patch_t) // tstride + 1
