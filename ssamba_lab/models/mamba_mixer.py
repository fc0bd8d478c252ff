"""The (bidirectional) Mamba mixer with the parameter names of the released SSAMBA weights.

Shared ``in_proj`` / ``out_proj``; per direction ``conv1d, x_proj, dt_proj, A_log, D`` and, for the backward
direction, ``conv1d_b, x_proj_b, dt_proj_b, A_b_log, D_b``. Output ``out_proj((y_fwd + y_bwd) / 2)``.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .. import ops


def _init_dt_proj(dt_proj: nn.Linear, dt_rank: int, *, dt_min: float = 1e-3, dt_max: float = 1e-1,
                  dt_init_floor: float = 1e-4) -> None:
    """Mamba's init: weight ~ U(+-dt_rank^-0.5); bias so that softplus(bias) is log-uniform in [dt_min, dt_max]."""
    std = dt_rank ** -0.5
    nn.init.uniform_(dt_proj.weight, -std, std)
    d = dt_proj.bias.shape[0]
    dt = torch.exp(torch.rand(d) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)).clamp(min=dt_init_floor)
    with torch.no_grad():
        dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # inverse softplus
    dt_proj.bias._no_reinit = True


class MambaMixer(nn.Module):
    """Selective-SSM mixer. ``[batch, length, dim] -> [batch, length, dim]``."""

    def __init__(self, *, dim: int, d_state: int = 16, d_conv: int = 4, expand: int = 2, dt_rank: int | None = None,
                 bidirectional: bool = True):
        super().__init__()
        self.dim, self.d_state, self.d_conv, self.d_inner = dim, d_state, d_conv, expand * dim
        self.dt_rank = dt_rank or math.ceil(dim / 16)
        self.bidirectional = bidirectional
        self.scan_backend: str | None = None  # None -> ops' auto choice (or SSAMBA_SCAN_BACKEND)
        self._inference_cache: tuple | None = None  # (key, fwd, bwd, weights): see inference_params
        self.in_proj = nn.Linear(dim, 2 * self.d_inner, bias=False)
        for suffix in ("", "_b") if bidirectional else ("",):
            self._add_direction(suffix)
        self.out_proj = nn.Linear(self.d_inner, dim, bias=False)

    def _add_direction(self, suffix: str) -> None:
        e, n, r = self.d_inner, self.d_state, self.dt_rank
        conv = nn.Conv1d(e, e, kernel_size=self.d_conv, groups=e, padding=self.d_conv - 1,
                         bias=True)
        setattr(self, f"conv1d{suffix}", conv)
        setattr(self, f"x_proj{suffix}", nn.Linear(e, r + 2 * n, bias=False))
        dt_proj = nn.Linear(r, e, bias=True)
        _init_dt_proj(dt_proj, r)
        setattr(self, f"dt_proj{suffix}", dt_proj)
        A = torch.arange(1, n + 1, dtype=torch.float32).repeat(e, 1)  # [e, n]: S4D-real init
        a_name = "A_log" if suffix == "" else "A_b_log"
        setattr(self, a_name, nn.Parameter(torch.log(A)))
        setattr(self, f"D{suffix}", nn.Parameter(torch.ones(e)))
        getattr(self, a_name)._no_weight_decay = True
        getattr(self, f"D{suffix}")._no_weight_decay = True

    def backend_ops(self, x: torch.Tensor) -> ops.Ops:
        """The scan backend's ops for ``x``; ``auto`` may pick another backend when gradients are needed."""
        return ops.get_ops(x.device, self.scan_backend, training=torch.is_grad_enabled() and x.requires_grad)

    def direction_params(self, suffix: str) -> dict[str, torch.Tensor]:
        """The tensors of one direction ('' forward, '_b' backward) in the form the scan ops take."""
        conv, x_proj, dt_proj = (getattr(self, f"{m}{suffix}") for m in ("conv1d", "x_proj", "dt_proj"))
        A_log = self.A_log if suffix == "" else self.A_b_log
        return dict(conv_weight=rearrange(conv.weight, "e 1 k -> e k"), conv_bias=conv.bias,
                    x_proj_weight=x_proj.weight, dt_proj_weight=dt_proj.weight, dt_bias=dt_proj.bias,
                    A=-torch.exp(A_log.float()), D=getattr(self, f"D{suffix}").float())

    def inference_params(self, ops_: ops.Ops) -> tuple[dict, dict, object | None]:
        """``direction_params`` of both directions and the backend's ``prepare_mixer`` weights (None without that
        hook), for calls without gradients: kept until a parameter changes (another storage or an in-place update:
        keyed on ``data_ptr`` and ``_version``), so that a short input does not pay ~8 small launches a layer for
        stacking and exponentiating them again (benchmarks/results/GPU_AHEAD_2026-12-03.md)."""
        assert not torch.is_grad_enabled(), "inference_params is for calls without gradients"
        key = (ops_.prepare_mixer, tuple((p.data_ptr(), p._version) for p in self.parameters()))
        if self._inference_cache is None or self._inference_cache[0] != key:
            fwd, bwd = self.direction_params(""), self.direction_params("_b")
            weights = None if ops_.prepare_mixer is None else ops_.prepare_mixer(fwd, bwd)
            self._inference_cache = (key, fwd, bwd, weights)
        return self._inference_cache[1:]

    def ssm(self, x: torch.Tensor, z: torch.Tensor, suffix: str) -> torch.Tensor:
        """One direction: conv + SiLU, input-dependent (dt, B, C), selective scan gated by silu(z).

        x, z: ``[batch, d_inner, length]`` -> ``[batch, d_inner, length]``.
        """
        p = self.direction_params(suffix)
        scan, conv = self.backend_ops(x)
        x = conv(x, p["conv_weight"], p["conv_bias"], "silu")  # [b, e, l]
        x_dbl = F.linear(rearrange(x, "b e l -> b l e"), p["x_proj_weight"])  # [b, l, r + 2n]
        dt, B, C = torch.split(x_dbl, [self.dt_rank, self.d_state, self.d_state], dim=-1)
        dt = rearrange(F.linear(dt, p["dt_proj_weight"]), "b l e -> b e l")  # [b, e, l]
        B = rearrange(B, "b l n -> b n l").contiguous()  # [b, n, l]
        C = rearrange(C, "b l n -> b n l").contiguous()  # [b, n, l]
        return scan(x, dt, p["A"], B, C, p["D"], z, p["dt_bias"].float(), True)  # [b, e, l]

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """hidden: ``[batch, length, dim]`` -> ``[batch, length, dim]``."""
        xz = self.in_proj(hidden)  # [b, l, 2e]
        # chunk, not an unbind of "b l (two e) -> two b e l": the same views, but the backward is one cat along
        # channels instead of a stack plus a transposing copy (~0.3 s of a CPU training step at batch 8)
        x, z = (rearrange(h, "b l e -> b e l") for h in xz.chunk(2, dim=-1))  # [b, e, l] each
        ops_ = self.backend_ops(x)
        fused = ops_.bidirectional_mixer if self.bidirectional else None
        if fused is not None:  # both directions in one backend call (ops.backend documents the contract)
            if torch.is_grad_enabled():
                y = fused(x, z, self.direction_params(""), self.direction_params("_b"))  # [b, e, l]
            else:
                fwd, bwd, weights = self.inference_params(ops_)
                y = fused(x, z, fwd, bwd) if weights is None else fused(x, z, fwd, bwd, weights=weights)
            return self.out_proj(rearrange(y, "b e l -> b l e"))  # [b, l, dim]
        y = self.ssm(x, z, "")  # [b, e, l]
        if self.bidirectional:
            y_b = self.ssm(x.flip(-1), z.flip(-1), "_b").flip(-1)  # [b, e, l], scanned right-to-left
            y = (y + y_b) / 2
        return self.out_proj(rearrange(y, "b e l -> b l e"))  # [b, l, dim]
