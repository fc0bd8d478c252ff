"""Plain sequential selective scan: the readable definition every backend is tested against.

A Python loop over time steps; used only by tests and as documentation of the maths:

    h_t = exp(delta_t * A) * h_{t-1} + delta_t * u_t * B_t        (per channel e, state n)
    y_t = <C_t, h_t> + D * u_t,   out_t = y_t * silu(z_t)
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def selective_scan_ref(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False):
    """Sequential reference with mamba-ssm's signature.

    u, delta, z: ``[batch, channels, length]``; A: ``[channels, state]``; B, C: ``[batch, state, length]``;
    D, delta_bias: ``[channels]``. Returns ``[batch, channels, length]`` in ``u``'s dtype.
    """
    dtype = u.dtype
    u, delta, A, B, C = (t.float() for t in (u, delta, A, B, C))
    if delta_bias is not None:
        delta = delta + delta_bias.float()[None, :, None]
    if delta_softplus:
        delta = F.softplus(delta)
    batch, channels, length = u.shape
    h = u.new_zeros(batch, channels, A.shape[1])  # [b, e, n]
    ys = []
    for t in range(length):
        dA = torch.exp(delta[:, :, t, None] * A)  # [b, e, n]
        dBu = delta[:, :, t, None] * u[:, :, t, None] * B[:, None, :, t]  # [b, e, n]
        h = dA * h + dBu  # [b, e, n]
        ys.append((h * C[:, None, :, t]).sum(-1))  # [b, e]
    y = torch.stack(ys, dim=-1)  # [b, e, l]
    if D is not None:
        y = y + u * D.float()[None, :, None]
    if z is not None:
        y = y * F.silu(z.float())
    return y.to(dtype)
