"""MambaEncoder: SSAMBA (bidirectional, 24 layers) and SSAM (unidirectional, 12 layers) encoders."""
from __future__ import annotations

import math

import torch
from torch import nn

from .config import EncoderConfig
from .encoder import AudioEncoder
from .layers import DropPath
from .mamba_mixer import MambaMixer


class MambaBlock(nn.Module):
    """Pre-norm residual block ``h + drop_path(mixer(norm(h)))`` (names as in the released weights). With a
    backend that has the ``add_norm`` hook (Triton), ``MambaEncoder`` runs the same blocks with each add and the
    following norm fused (``_forward_blocks_fused``) instead of calling this forward."""

    def __init__(self, *, config: EncoderConfig, drop_path: float):
        super().__init__()
        c = config
        self.norm = nn.LayerNorm(c.embed_dim, eps=c.norm_eps)
        self.mixer = MambaMixer(dim=c.embed_dim, d_state=c.d_state, d_conv=c.d_conv, expand=c.expand,
                                dt_rank=c.resolved_dt_rank, bidirectional=c.bidirectional)
        self.drop_path = DropPath(drop_path)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """h: ``[batch, length, dim]`` -> same."""
        return h + self.drop_path(self.mixer(self.norm(h)))


class MambaEncoder(AudioEncoder):
    def __init__(self, *, config: EncoderConfig):
        super().__init__(config=config)
        c = config
        rates = torch.linspace(0, c.drop_path, c.depth).tolist()  # stochastic depth grows linearly with depth
        self.layers = nn.ModuleList([MambaBlock(config=c, drop_path=r) for r in rates])
        self.norm_f = nn.LayerNorm(c.embed_dim, eps=c.norm_eps)
        self.apply(self._init_weights)
        for block in self.layers:  # GPT-2 style rescale of the residual output projection
            nn.init.kaiming_uniform_(block.mixer.out_proj.weight, a=math.sqrt(5))
            with torch.no_grad():
                block.mixer.out_proj.weight /= math.sqrt(c.depth)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, nn.Linear) and m.bias is not None and not getattr(m.bias, "_no_reinit", False):
            nn.init.zeros_(m.bias)

    def forward_blocks(self, h: torch.Tensor) -> torch.Tensor:
        """h: ``[batch, length, dim]`` (prefix + patches, positions added) -> normalised ``[batch, length, dim]``."""
        if self.config.official_compat:  # released SSAMBA weights need their original (paired-layer) forward
            from ..interop.official_forward import official_forward_blocks

            return official_forward_blocks(self, h)
        if self.config.residual_in_fp32:
            h = h.float()  # keep the residual stream in fp32 under autocast (SSAM)
        add_norm = self.layers[0].mixer.backend_ops(h).add_norm if len(self.layers) else None
        if add_norm is not None:
            return self._forward_blocks_fused(h, add_norm)
        for block in self.layers:
            h = block(h)
        return self.norm_f(h)

    def _forward_blocks_fused(self, h: torch.Tensor, add_norm) -> torch.Tensor:
        """The blocks of :meth:`forward_blocks` with each residual add, stochastic depth and the next norm as one
        backend op (``ops.backend``'s ``add_norm``): h is the residual stream, x the last mixer's output."""
        dev = h.device.type
        cast = torch.get_autocast_dtype(dev) if torch.is_autocast_enabled(dev) else None  # what in_proj reads
        x, scale = None, None
        for block in self.layers:
            n = block.norm
            normed, h = add_norm(x, h, n.weight, n.bias, n.eps, x_scale=scale, out_dtype=cast)  # [b, l, d] each
            x = block.mixer(normed)  # [b, l, d]
            scale = block.drop_path.sample_scale(x)  # [b] or None
        n = self.norm_f
        out_dtype = torch.float32 if cast is not None else None  # F.layer_norm's output under autocast
        return add_norm(x, h, n.weight, n.bias, n.eps, x_scale=scale, out_dtype=out_dtype)[0]  # [b, l, d]

    def set_scan_backend(self, name: str | None) -> "MambaEncoder":
        """Force a scan backend (``'torch'``, ``'mamba_ssm'``, ...) for every mixer; ``None`` = automatic."""
        for block in self.layers:
            block.mixer.scan_backend = name
        return self
