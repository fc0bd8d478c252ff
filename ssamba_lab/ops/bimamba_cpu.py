"""SSAMBA's bidirectional mixer core on CPU: numba convs + PyTorch GEMMs + the fused two-direction scan.

Everything between ``in_proj`` and ``out_proj`` runs channel-last (``[batch, length, channels]``, the layout
``in_proj`` produces), so there are no flips and no transposes: the backward direction's conv is anti-causal
and its scan runs right-to-left over natural-order inputs.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange

from .conv_numba import bidirectional_conv1d_numba
from .scan_numba import _FusedScanFn


def _direction_inputs(u: torch.Tensor, p: dict) -> tuple[torch.Tensor, ...]:
    """u: post-conv ``[b, l, e]`` -> (u, delta, delta_bias, A^T, B, C, D) in the fused scan's layout."""
    r = p["dt_proj_weight"].shape[1]
    n = p["A"].shape[1]
    # Under CPU autocast the projections come out in bf16; the kernel reads float32 arrays.
    x_dbl = F.linear(u, p["x_proj_weight"]).float()  # [b, l, r + 2n]
    delta = F.linear(x_dbl[..., :r], p["dt_proj_weight"]).float()  # [b, l, e]; bias and softplus in the kernel
    B = x_dbl[..., r:r + n]  # [b, l, n], a column slice: the scan reads it in place
    C = x_dbl[..., r + n:]  # [b, l, n]
    return u, delta, p["dt_bias"].float(), p["A"].float().t().contiguous(), B, C, p["D"].float()


def bidirectional_mixer_numba(x: torch.Tensor, z: torch.Tensor, fwd: dict, bwd: dict) -> torch.Tensor:
    """Both SSM directions of a bidirectional ``MambaMixer`` (the ``bidirectional_mixer`` hook of ``ops.backend``).

    x, z: ``[b, e, l]`` (the in_proj halves, any strides); fwd, bwd: ``MambaMixer.direction_params('')`` and
    ``('_b')``. Returns ``[b, e, l]`` = ``silu(z) * (y_fwd + y_bwd) / 2`` with channel-last memory.
    """
    assert x.device.type == "cpu", f"the numba mixer runs on CPU tensors, got {x.device}"
    xc = rearrange(x.float(), "b e l -> b l e")  # [b, l, e], a view: the conv reads it in place
    u_f, u_b = bidirectional_conv1d_numba(xc, fwd["conv_weight"], fwd["conv_bias"], bwd["conv_weight"],
                                          bwd["conv_bias"])  # [b, l, e] each
    zc = rearrange(z.float(), "b e l -> b l e")  # [b, l, e], a view: the scan reads it in place
    y = _FusedScanFn.apply(2, False, True, *_direction_inputs(u_f, fwd), *_direction_inputs(u_b, bwd), zc)  # [b, l, e]
    return rearrange(y, "b l e -> b e l").to(x.dtype)  # [b, e, l], channel-last memory
