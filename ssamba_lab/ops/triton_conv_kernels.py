"""Triton kernels of the bidirectional depthwise conv (+ SiLU) of the bidirectional Mamba mixer.

Direction 0 is the usual causal conv, ``pre_f[t] = bias_f + sum_i w_f[i] x[t - (K-1) + i]``. Direction 1 is the
backward direction's causal conv applied to the flipped sequence and flipped back, which equals an anti-causal conv
in natural order: ``pre_b[t] = bias_b + sum_i w_b[i] x[t + (K-1) - i]``. One launch computes both from one read of
``x`` and writes ``u = silu(pre)`` as ``[2, batch, length, channels]`` (channels contiguous, what the projections
and the fused scan read without transposes).
"""
from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def conv_bidir_fwd_kernel(x_ptr, sx_b, sx_l, sx_e, w_ptr, bias_ptr, o_ptr, batch, L, E,
                          K: tl.constexpr, BT: tl.constexpr, BE: tl.constexpr, ONLY: tl.constexpr = -1):
    """Grid ``(cdiv(L, BT), cdiv(E, BE), batch)``; w ``[2, E, K]``, bias ``[2, E]`` contiguous; out ``[2, b, L, E]``.
    ``ONLY`` 0 or 1: that direction alone, into an out of ``[1, b, L, E]`` (the low-memory inference path)."""
    pid_t, pid_e = tl.program_id(0), tl.program_id(1)
    b = tl.program_id(2).to(tl.int64)
    t = pid_t * BT + tl.arange(0, BT)  # [BT]
    e = pid_e * BE + tl.arange(0, BE)  # [BE]
    mask_e = e < E
    m2 = (t < L)[:, None] & mask_e[None, :]  # [BT, BE]
    acc_f = tl.zeros([BT, BE], dtype=tl.float32) + tl.load(bias_ptr + e, mask=mask_e, other=0.0)[None, :]
    acc_b = tl.zeros([BT, BE], dtype=tl.float32) + tl.load(bias_ptr + E + e, mask=mask_e, other=0.0)[None, :]
    xb = x_ptr + b * sx_b
    for i in tl.static_range(K):
        tf = t - (K - 1) + i  # [BT]
        xf = tl.load(xb + tf[:, None] * sx_l + e[None, :] * sx_e, mask=((tf >= 0) & (tf < L))[:, None] & mask_e[None, :],
                     other=0.0).to(tl.float32)  # [BT, BE]
        acc_f += xf * tl.load(w_ptr + e * K + i, mask=mask_e, other=0.0)[None, :]
        tb = t + (K - 1) - i
        xr = tl.load(xb + tb[:, None] * sx_l + e[None, :] * sx_e, mask=((tb >= 0) & (tb < L))[:, None] & mask_e[None, :],
                     other=0.0).to(tl.float32)
        acc_b += xr * tl.load(w_ptr + E * K + e * K + i, mask=mask_e, other=0.0)[None, :]
    offs = t[:, None] * E + e[None, :]  # [BT, BE]
    o_f = o_ptr + b * L * E
    o_b = o_ptr + (b if ONLY == 1 else batch + b) * L * E
    if ONLY != 1:
        tl.store(o_f + offs, (acc_f * tl.sigmoid(acc_f)).to(o_ptr.dtype.element_ty), mask=m2)
    if ONLY != 0:
        tl.store(o_b + offs, (acc_b * tl.sigmoid(acc_b)).to(o_ptr.dtype.element_ty), mask=m2)


@triton.jit
def _pre_grad(xb, sx_l, sx_e, gu_ptr, w_ptr, bias, t, e, mask_e, L, E, REVERSE: tl.constexpr, K: tl.constexpr):
    """d loss / d pre at positions t ([BT]) of one direction (0 outside [0, L)): gu * silu'(pre), pre recomputed."""
    acc = tl.zeros([t.shape[0], e.shape[0]], dtype=tl.float32) + bias[None, :]
    for i in tl.static_range(K):
        ts = t + (K - 1) - i if REVERSE else t - (K - 1) + i
        xs = tl.load(xb + ts[:, None] * sx_l + e[None, :] * sx_e, mask=((ts >= 0) & (ts < L))[:, None] & mask_e[None, :],
                     other=0.0).to(tl.float32)
        acc += xs * tl.load(w_ptr + e * K + i, mask=mask_e, other=0.0)[None, :]
    m2 = ((t >= 0) & (t < L))[:, None] & mask_e[None, :]
    g = tl.load(gu_ptr + t[:, None] * E + e[None, :], mask=m2, other=0.0).to(tl.float32)
    s = tl.sigmoid(acc)
    return tl.where(m2, g * s * (1.0 + acc * (1.0 - s)), 0.0)  # [BT, BE]


@triton.jit
def conv_bidir_bwd_kernel(x_ptr, sx_b, sx_l, sx_e, w_ptr, bias_ptr, gu_ptr, gx_ptr, sgx_b, sgx_l, sgx_e,
                          gw_ptr, gbias_ptr, batch, L, E, K: tl.constexpr, BT: tl.constexpr, BE: tl.constexpr):
    """Grid as the forward. gu ``[2, b, L, E]`` contiguous; gx written; gw ``[2, E, K]``, gbias ``[2, E]`` float32
    zeroed (atomic sums). The pre-activation gradient at the K-1 neighbours is recomputed, not stored."""
    pid_t, pid_e = tl.program_id(0), tl.program_id(1)
    b = tl.program_id(2).to(tl.int64)
    t = pid_t * BT + tl.arange(0, BT)
    e = pid_e * BE + tl.arange(0, BE)
    mask_e = e < E
    m2 = (t < L)[:, None] & mask_e[None, :]
    xb = x_ptr + b * sx_b
    gx = tl.zeros([BT, BE], dtype=tl.float32)
    for d in tl.static_range(2):
        wd = w_ptr + d * E * K
        bias = tl.load(bias_ptr + d * E + e, mask=mask_e, other=0.0).to(tl.float32)
        gud = gu_ptr + (d * batch + b) * L * E
        # weight / bias grads from this tile's own positions
        gp = _pre_grad(xb, sx_l, sx_e, gud, wd, bias, t, e, mask_e, L, E, d == 1, K)  # [BT, BE]
        tl.atomic_add(gbias_ptr + d * E + e, tl.sum(gp, axis=0), mask=mask_e)
        for i in tl.static_range(K):
            ts = t + (K - 1) - i if d == 1 else t - (K - 1) + i
            xs = tl.load(xb + ts[:, None] * sx_l + e[None, :] * sx_e,
                         mask=((ts >= 0) & (ts < L))[:, None] & mask_e[None, :], other=0.0).to(tl.float32)
            tl.atomic_add(gw_ptr + d * E * K + e * K + i, tl.sum(gp * xs, axis=0), mask=mask_e)
            # x[s] feeds pre[s + (K-1) - i] (forward) or pre[s - (K-1) + i] (backward) with weight w[i]
            tp = t - (K - 1) + i if d == 1 else t + (K - 1) - i
            gpi = _pre_grad(xb, sx_l, sx_e, gud, wd, bias, tp, e, mask_e, L, E, d == 1, K)
            gx += gpi * tl.load(wd + e * K + i, mask=mask_e, other=0.0)[None, :]
    tl.store(gx_ptr + b * sgx_b + t[:, None] * sgx_l + e[None, :] * sgx_e, gx.to(gx_ptr.dtype.element_ty), mask=m2)
