"""SSAST's encoder: a DeiT-style ViT (names as in the released weights), explicit or SDPA attention."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .config import EncoderConfig
from .encoder import AudioEncoder
from .layers import DropPath


class Attention(nn.Module):
    def __init__(self, *, dim: int, num_heads: int, impl: str):
        super().__init__()
        self.num_heads, self.impl = num_heads, impl
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: ``[batch, length, dim]`` -> same."""
        q, k, v = rearrange(self.qkv(x), "b l (three h d) -> three b h l d", three=3, h=self.num_heads)  # [b,h,l,d]
        if self.impl == "sdpa":
            out = F.scaled_dot_product_attention(q, k, v)  # [b, h, l, d] (flash / memory-efficient kernels)
        else:  # the explicit O(L^2)-memory attention of the published comparison
            attn = (q @ k.transpose(-2, -1)) * self.scale  # [b, h, l, l]
            out = attn.softmax(dim=-1) @ v  # [b, h, l, d]
        return self.proj(rearrange(out, "b h l d -> b l (h d)"))  # [b, l, dim]


class Mlp(nn.Module):
    def __init__(self, *, dim: int, hidden: int):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class TransformerBlock(nn.Module):
    def __init__(self, *, config: EncoderConfig, drop_path: float):
        super().__init__()
        c = config
        self.norm1 = nn.LayerNorm(c.embed_dim, eps=c.norm_eps)
        self.attn = Attention(dim=c.embed_dim, num_heads=c.num_heads, impl=c.attn_impl)
        self.norm2 = nn.LayerNorm(c.embed_dim, eps=c.norm_eps)
        self.mlp = Mlp(dim=c.embed_dim, hidden=int(c.embed_dim * c.mlp_ratio))
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))  # [b, l, dim]
        return x + self.drop_path(self.mlp(self.norm2(x)))  # [b, l, dim]


class TransformerEncoder(AudioEncoder):
    def __init__(self, *, config: EncoderConfig):
        super().__init__(config=config)
        c = config
        rates = torch.linspace(0, c.drop_path, c.depth).tolist()
        self.blocks = nn.ModuleList([TransformerBlock(config=c, drop_path=r) for r in rates])
        self.norm = nn.LayerNorm(c.embed_dim, eps=c.norm_eps)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)

    def forward_blocks(self, h: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            h = block(h)
        return self.norm(h)

    def set_attention(self, impl: str) -> "TransformerEncoder":
        assert impl in ("sdpa", "explicit"), f"attention impl must be 'sdpa' or 'explicit', got {impl!r}"
        for block in self.blocks:
            block.attn.impl = impl
        return self
