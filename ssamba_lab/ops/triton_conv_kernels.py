"""Triton kernels of the bidirectional depthwise conv (+ SiLU) of the bidirectional Mamba mixer.

Direction 0 is the usual causal conv, ``pre_f[t] = bias_f + sum_i w_f[i] x[t - (K-1) + i]``. Direction 1 is the
backward direction's causal conv applied to the flipped sequence and flipped back, which equals an anti-causal conv
in natural order: ``pre_b[t] = bias_b + sum_i w_b[i] x[t + (K-1) - i]``. One launch computes both from one read of
``x`` and writes ``u = silu(pre)`` as ``[2, batch, length, channels]`` (channels contiguous, what the projections
and the fused scan read without transposes).

Backward in two launches: the pre-activation gradients of both directions (and the weight and bias gradients, a
few atomics per program), then ``dx`` from them. Until 2026-12-02 it was one kernel that recomputed ``pre`` at
the K - 1 neighbours of every position and added the weight gradients per 64-step tile: 0.82 ms per layer at
64 x 512 tokens, e = 384 (H200, benchmarks/results/gpu_profile_steps_r7.md), 17% of the training step.
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
def conv_bidir_bwd_pre_kernel(x_ptr, sx_b, sx_l, sx_e, w_ptr, bias_ptr, gu_ptr, gp_ptr, gw_ptr, gbias_ptr, batch, L, E,
                              steps, K: tl.constexpr, BT: tl.constexpr, BE: tl.constexpr):
    """Backward, part 1: the pre-activation gradient ``gp = gu silu'(pre)`` of both directions (pre recomputed),
    stored float32 ``[2, b, L, E]``, and the weight and bias gradients. Grid ``(cdiv(E, BE), batch, cdiv(L,
    steps))``: a program walks ``steps`` positions in tiles of BT and adds its sums once (few atomics per address).
    gu ``[2, b, L, E]`` contiguous; gw ``[2, E, K]``, gbias ``[2, E]`` float32 zeroed."""
    pid_e = tl.program_id(0)
    b = tl.program_id(1).to(tl.int64)
    t0 = tl.program_id(2) * steps
    e = pid_e * BE + tl.arange(0, BE)  # [BE]
    mask_e = e < E
    xb = x_ptr + b * sx_b
    for d in tl.static_range(2):
        bias = tl.load(bias_ptr + d * E + e, mask=mask_e, other=0.0)  # [BE]
        w0 = tl.load(w_ptr + d * E * K + e * K, mask=mask_e, other=0.0)  # [BE]
        # [BT, BE] partial sums, reduced over positions once at the end (a reduction per tile crosses warps)
        gb = tl.zeros([BT, BE], dtype=tl.float32)
        gw0 = tl.zeros([BT, BE], dtype=tl.float32)
        gw1 = tl.zeros([BT, BE], dtype=tl.float32)
        gw2 = tl.zeros([BT, BE], dtype=tl.float32)
        gw3 = tl.zeros([BT, BE], dtype=tl.float32)
        for tb in range(0, steps, BT):
            t = t0 + tb + tl.arange(0, BT)  # [BT]
            m2 = (t < L)[:, None] & mask_e[None, :]  # [BT, BE]
            # the K shifted x tiles of this direction (zero outside [0, L)), kept for pre and for the weight grads
            ts0 = t + (K - 1) if d == 1 else t - (K - 1)
            x0 = tl.load(xb + ts0[:, None] * sx_l + e[None, :] * sx_e,
                         mask=((ts0 >= 0) & (ts0 < L))[:, None] & mask_e[None, :], other=0.0).to(tl.float32)
            pre = bias[None, :] + x0 * w0[None, :]  # [BT, BE]
            x1 = x0
            x2 = x0
            x3 = x0
            if K > 1:
                ts1 = t + (K - 2) if d == 1 else t - (K - 2)
                x1 = tl.load(xb + ts1[:, None] * sx_l + e[None, :] * sx_e,
                             mask=((ts1 >= 0) & (ts1 < L))[:, None] & mask_e[None, :], other=0.0).to(tl.float32)
                pre += x1 * tl.load(w_ptr + d * E * K + e * K + 1, mask=mask_e, other=0.0)[None, :]
            if K > 2:
                ts2 = t + (K - 3) if d == 1 else t - (K - 3)
                x2 = tl.load(xb + ts2[:, None] * sx_l + e[None, :] * sx_e,
                             mask=((ts2 >= 0) & (ts2 < L))[:, None] & mask_e[None, :], other=0.0).to(tl.float32)
                pre += x2 * tl.load(w_ptr + d * E * K + e * K + 2, mask=mask_e, other=0.0)[None, :]
            if K > 3:
                ts3 = t + (K - 4) if d == 1 else t - (K - 4)
                x3 = tl.load(xb + ts3[:, None] * sx_l + e[None, :] * sx_e,
                             mask=((ts3 >= 0) & (ts3 < L))[:, None] & mask_e[None, :], other=0.0).to(tl.float32)
                pre += x3 * tl.load(w_ptr + d * E * K + e * K + 3, mask=mask_e, other=0.0)[None, :]
            offs = (d * batch + b) * L * E + t[:, None] * E + e[None, :]  # [BT, BE]
            g = tl.load(gu_ptr + offs, mask=m2, other=0.0).to(tl.float32)
            s = tl.sigmoid(pre)
            gp = tl.where(m2, g * s * (1.0 + pre * (1.0 - s)), 0.0)  # [BT, BE]
            tl.store(gp_ptr + offs, gp, mask=m2)
            gb += gp
            gw0 += gp * x0
            gw1 += gp * x1
            gw2 += gp * x2
            gw3 += gp * x3
        tl.atomic_add(gbias_ptr + d * E + e, tl.sum(gb, axis=0), mask=mask_e, sem="relaxed")
        tl.atomic_add(gw_ptr + d * E * K + e * K, tl.sum(gw0, axis=0), mask=mask_e, sem="relaxed")
        if K > 1:
            tl.atomic_add(gw_ptr + d * E * K + e * K + 1, tl.sum(gw1, axis=0), mask=mask_e, sem="relaxed")
        if K > 2:
            tl.atomic_add(gw_ptr + d * E * K + e * K + 2, tl.sum(gw2, axis=0), mask=mask_e, sem="relaxed")
        if K > 3:
            tl.atomic_add(gw_ptr + d * E * K + e * K + 3, tl.sum(gw3, axis=0), mask=mask_e, sem="relaxed")


@triton.jit
def conv_bidir_bwd_x_kernel(gp_ptr, w_ptr, gx_ptr, sgx_b, sgx_l, sgx_e, batch, L, E,
                            K: tl.constexpr, BT: tl.constexpr, BE: tl.constexpr):
    """Backward, part 2: ``gx[s] = sum_i w_0[i] gp_0[s + (K-1) - i] + w_1[i] gp_1[s - (K-1) + i]`` (x[s] feeds
    pre_0 at s + (K-1) - i and pre_1 at s - (K-1) + i through weight i). Grid as the forward."""
    pid_t, pid_e = tl.program_id(0), tl.program_id(1)
    b = tl.program_id(2).to(tl.int64)
    t = pid_t * BT + tl.arange(0, BT)  # [BT]
    e = pid_e * BE + tl.arange(0, BE)  # [BE]
    mask_e = e < E
    gx = tl.zeros([BT, BE], dtype=tl.float32)
    for d in tl.static_range(2):
        base = gp_ptr + (d * batch + b) * L * E
        for i in tl.static_range(K):
            tp = t - (K - 1) + i if d == 1 else t + (K - 1) - i  # [BT]
            gpi = tl.load(base + tp[:, None] * E + e[None, :], mask=((tp >= 0) & (tp < L))[:, None] & mask_e[None, :],
                          other=0.0)  # [BT, BE]
            gx += gpi * tl.load(w_ptr + d * E * K + e * K + i, mask=mask_e, other=0.0)[None, :]
    m2 = (t < L)[:, None] & mask_e[None, :]
    tl.store(gx_ptr + b * sgx_b + t[:, None] * sgx_l + e[None, :] * sgx_e, gx.to(gx_ptr.dtype.element_ty), mask=m2)
