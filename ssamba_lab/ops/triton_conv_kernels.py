"""Triton kernels of the bidirectional depthwise conv (+ SiLU) of the bidirectional Mamba mixer.

Direction 0 is the usual causal conv, ``pre_f[t] = bias_f + sum_i w_f[i] x[t - (K-1) + i]``. Direction 1 is the
backward direction's causal conv applied to the flipped sequence and flipped back, which equals an anti-causal conv
in natural order: ``pre_b[t] = bias_b + sum_i w_b[i] x[t + (K-1) - i]``. One launch computes both from one read of
``x`` and writes ``u = silu(pre)`` as ``[2, batch, length, channels]`` (channels contiguous, what the projections
and the fused scan read without transposes).

Backward, by default (``TritonScanConfig.conv_seq``): ``conv_bidir_bwd_seq_kernel``, one launch, a thread a
channel walking time (below): 2.96 ms of the tiny training step at 64 x 512 tokens against 5.77 ms for the two
tile kernels (H200, benchmarks/results/GPU_CONV_2026-12-04.md). The tile backward, two launches: the
pre-activation gradients of both directions (and the weight and bias gradients, a few atomics per program), then
``dx`` from them. Until 2026-12-02 that was one kernel that recomputed ``pre`` at the K - 1 neighbours of every
position and added the weight gradients per 64-step tile: 0.82 ms per layer at 64 x 512 tokens, e = 384 (H200,
benchmarks/results/gpu_profile_steps_r7.md), 17% of the training step.
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


# ---- the backward a thread a channel, walking time (``TritonScanConfig.conv_seq``) -----------------------------
# The tile backward above loads every x tile 2K times (once per shift and direction) with a 2-D mask each and
# goes through a float32 ``[2, b, L, E]`` buffer of pre-activation gradients: instruction-bound, 165 + 75 us a
# layer at 64 x 512 tokens, e = 384 on the H200 (results/gpu_issue8_h200_r23's profile). Here a thread owns a
# channel and walks a segment of S positions with the 7 x values around its position in registers (one new load
# a step, uniform masks), the last 4 / 7 pre-activation gradients of the two directions, and emits ``dx`` three
# steps behind, with no buffer; a segment re-walks 3 positions either side (the conv's reach). Every load is
# issued 8 steps before its use (a rotating register queue, as the seq scan's ``AHEAD``): a program's steps are
# a chain, and only loads in flight hide its latency. K = 4 only: a shorter conv runs with zero leading taps
# (``scan_triton._conv_w4``). A forward of this shape was slower than ``conv_bidir_fwd_kernel`` at inference
# (H200, tiny, graphed: 512 tokens 1.93 -> 1.99 ms, 22k 39.9 -> 42.9 ms, results/gpu_issue8_h200_r28) and was
# taken out.


@triton.jit
def _ldx(xb, t, sx_l, me, L):
    """Row t (a scalar) of the ``[BE]`` pointers ``xb`` (x, or a gu direction with ``sx_l = E``) as float32;
    zero outside [0, L)."""
    return tl.load(xb + t * sx_l, mask=me & (t >= 0) & (t < L), other=0.0).to(tl.float32)


@triton.jit
def _ldg(p, p2, t, s_l, m, L, TWO: tl.constexpr):
    """The output gradient at t (zero outside ``[0, L)``): p's, plus p2's with TWO."""
    g = _ldx(p, t, s_l, m, L)
    if TWO:
        g = g + _ldx(p2, t, s_l, m, L)
    return g


@triton.jit
def conv_bidir_bwd_seq_kernel(x_ptr, sx_b, sx_l, sx_e, w_ptr, bias_ptr, gu_ptr, gx_ptr, sgx_b, sgx_l, sgx_e,
                              gw_ptr, gbias_ptr, batch, L, E, S, gu2_ptr, BE: tl.constexpr, TWO: tl.constexpr = False,
                              U: tl.constexpr = 1):
    """The backward of ``conv_bidir_fwd_kernel`` (K = 4): ``gp_d = gu_d silu'(pre_d)`` (pre recomputed),
    ``gx[s] = sum_i w_0[i] gp_0[s + 3 - i] + w_1[i] gp_1[s - 3 + i]``, and the weight and bias gradients of the
    positions a program owns (one atomic per weight and program). U: steps a loop trip (steps past the last one
    change nothing). Grid ``(cdiv(E, BE), batch, cdiv(L, S))``;
    gu ``[2, b, L, E]`` contiguous; gx by its strides; gw ``[2, E, 4]``, gbias ``[2, E]`` float32 zeroed.

    A program owns positions [s0, s1) and walks t over [s0 - 3, s1 + 3): gx[s] needs gp_0 at s .. s + 3 and gp_1
    at s - 3 .. s, so gx[t - 3] is complete at step t. With TWO the output's gradient is ``gu + gu2`` (its two
    consumers' gradients, laid out alike), added as they are loaded."""
    pid_e = tl.program_id(0)
    b = tl.program_id(1).to(tl.int64)
    s0 = tl.program_id(2) * S
    s1 = tl.minimum(s0 + S, L)
    e = pid_e * BE + tl.arange(0, BE)  # [BE] channels, a thread each
    me = e < E
    xb = x_ptr + b * sx_b + e * sx_e  # [BE]
    wf0 = tl.load(w_ptr + e * 4, mask=me, other=0.0)
    wf1 = tl.load(w_ptr + e * 4 + 1, mask=me, other=0.0)
    wf2 = tl.load(w_ptr + e * 4 + 2, mask=me, other=0.0)
    wf3 = tl.load(w_ptr + e * 4 + 3, mask=me, other=0.0)
    wb0 = tl.load(w_ptr + E * 4 + e * 4, mask=me, other=0.0)
    wb1 = tl.load(w_ptr + E * 4 + e * 4 + 1, mask=me, other=0.0)
    wb2 = tl.load(w_ptr + E * 4 + e * 4 + 2, mask=me, other=0.0)
    wb3 = tl.load(w_ptr + E * 4 + e * 4 + 3, mask=me, other=0.0)
    bf = tl.load(bias_ptr + e, mask=me, other=0.0)
    bb = tl.load(bias_ptr + E + e, mask=me, other=0.0)
    gu_f = gu_ptr + b * L * E + e  # [BE]
    gu_b = gu_ptr + (batch + b) * L * E + e
    gu2_f = gu2_ptr + b * L * E + e  # [BE]
    gu2_b = gu2_ptr + (batch + b) * L * E + e
    gx_b = gx_ptr + b * sgx_b + e * sgx_e
    t0 = s0 - 3
    # x[t-3 .. t+3] at t = t0 and x[t+4 .. t+11]; gu of both directions at t .. t+7: loads issued 8 steps ahead
    xm3 = _ldx(xb, t0 - 3, sx_l, me, L)
    xm2 = _ldx(xb, t0 - 2, sx_l, me, L)
    xm1 = _ldx(xb, t0 - 1, sx_l, me, L)
    x0 = _ldx(xb, t0, sx_l, me, L)
    xp1 = _ldx(xb, t0 + 1, sx_l, me, L)
    xp2 = _ldx(xb, t0 + 2, sx_l, me, L)
    xp3 = _ldx(xb, t0 + 3, sx_l, me, L)
    q1 = _ldx(xb, t0 + 4, sx_l, me, L)
    q2 = _ldx(xb, t0 + 5, sx_l, me, L)
    q3 = _ldx(xb, t0 + 6, sx_l, me, L)
    q4 = _ldx(xb, t0 + 7, sx_l, me, L)
    q5 = _ldx(xb, t0 + 8, sx_l, me, L)
    q6 = _ldx(xb, t0 + 9, sx_l, me, L)
    q7 = _ldx(xb, t0 + 10, sx_l, me, L)
    q8 = _ldx(xb, t0 + 11, sx_l, me, L)
    gf0 = _ldg(gu_f, gu2_f, t0, E, me, L, TWO)
    gf1 = _ldg(gu_f, gu2_f, t0 + 1, E, me, L, TWO)
    gf2 = _ldg(gu_f, gu2_f, t0 + 2, E, me, L, TWO)
    gf3 = _ldg(gu_f, gu2_f, t0 + 3, E, me, L, TWO)
    gf4 = _ldg(gu_f, gu2_f, t0 + 4, E, me, L, TWO)
    gf5 = _ldg(gu_f, gu2_f, t0 + 5, E, me, L, TWO)
    gf6 = _ldg(gu_f, gu2_f, t0 + 6, E, me, L, TWO)
    gf7 = _ldg(gu_f, gu2_f, t0 + 7, E, me, L, TWO)
    gb0 = _ldg(gu_b, gu2_b, t0, E, me, L, TWO)
    gb1 = _ldg(gu_b, gu2_b, t0 + 1, E, me, L, TWO)
    gb2 = _ldg(gu_b, gu2_b, t0 + 2, E, me, L, TWO)
    gb3 = _ldg(gu_b, gu2_b, t0 + 3, E, me, L, TWO)
    gb4 = _ldg(gu_b, gu2_b, t0 + 4, E, me, L, TWO)
    gb5 = _ldg(gu_b, gu2_b, t0 + 5, E, me, L, TWO)
    gb6 = _ldg(gu_b, gu2_b, t0 + 6, E, me, L, TWO)
    gb7 = _ldg(gu_b, gu2_b, t0 + 7, E, me, L, TWO)
    # one tl.zeros each: Triton carries a variable through the loop only if its value object changes in the body,
    # and a shift ``f3, f2 = f2, f1`` of windows that all start as one zero tensor would leave f3 and f2 behind
    # (seen on the H200, r28; the interpreter cannot show it: tests/ops/test_scan_triton.py compiles the kernel
    # and counts the loop's carried values)
    f1 = tl.zeros([BE], dtype=tl.float32)  # gp_0 at t-1, t-2, t-3
    f2 = tl.zeros([BE], dtype=tl.float32)
    f3 = tl.zeros([BE], dtype=tl.float32)
    g1 = tl.zeros([BE], dtype=tl.float32)  # gp_1 at t-1 .. t-6
    g2 = tl.zeros([BE], dtype=tl.float32)
    g3 = tl.zeros([BE], dtype=tl.float32)
    g4 = tl.zeros([BE], dtype=tl.float32)
    g5 = tl.zeros([BE], dtype=tl.float32)
    g6 = tl.zeros([BE], dtype=tl.float32)
    zero = tl.zeros([BE], dtype=tl.float32)  # the sums (each changes every step)
    awf0, awf1, awf2, awf3, awb0, awb1, awb2, awb3, abf, abb = zero, zero, zero, zero, zero, zero, zero, zero, zero, zero
    for tu in range(t0, s1 + 3, U):
        for uu in tl.static_range(U):  # U steps a trip: within it the windows shift by renaming
            t = tu + uu
            pf = bf + wf0 * xm3 + wf1 * xm2 + wf2 * xm1 + wf3 * x0
            pb = bb + wb0 * xp3 + wb1 * xp2 + wb2 * xp1 + wb3 * x0
            sf = tl.sigmoid(pf)
            sb = tl.sigmoid(pb)
            f0 = gf0 * sf * (1.0 + pf * (1.0 - sf))  # gp_0[t] (0 outside [0, L): gu is)
            h0 = gb0 * sb * (1.0 + pb * (1.0 - sb))  # gp_1[t]
            own = (t >= s0) & (t < s1)
            of = tl.where(own, f0, 0.0)
            ob = tl.where(own, h0, 0.0)
            awf0 += of * xm3
            awf1 += of * xm2
            awf2 += of * xm1
            awf3 += of * x0
            awb0 += ob * xp3
            awb1 += ob * xp2
            awb2 += ob * xp1
            awb3 += ob * x0
            abf += of
            abb += ob
            gx = wf3 * f3 + wf2 * f2 + wf1 * f1 + wf0 * f0 + wb0 * g6 + wb1 * g5 + wb2 * g4 + wb3 * g3  # gx[t - 3]
            s = t - 3
            tl.store(gx_b + s * sgx_l, gx.to(gx_ptr.dtype.element_ty), mask=me & (s >= s0) & (s < s1))
            f3, f2, f1 = f2, f1, f0
            g6, g5, g4, g3, g2, g1 = g5, g4, g3, g2, g1, h0
            xm3, xm2, xm1, x0, xp1, xp2, xp3 = xm2, xm1, x0, xp1, xp2, xp3, q1
            q1, q2, q3, q4, q5, q6, q7 = q2, q3, q4, q5, q6, q7, q8
            q8 = _ldx(xb, t + 12, sx_l, me, L)
            gf0, gf1, gf2, gf3, gf4, gf5, gf6 = gf1, gf2, gf3, gf4, gf5, gf6, gf7
            gf7 = _ldg(gu_f, gu2_f, t + 8, E, me, L, TWO)
            gb0, gb1, gb2, gb3, gb4, gb5, gb6 = gb1, gb2, gb3, gb4, gb5, gb6, gb7
            gb7 = _ldg(gu_b, gu2_b, t + 8, E, me, L, TWO)
    tl.atomic_add(gw_ptr + e * 4, awf0, mask=me, sem="relaxed")
    tl.atomic_add(gw_ptr + e * 4 + 1, awf1, mask=me, sem="relaxed")
    tl.atomic_add(gw_ptr + e * 4 + 2, awf2, mask=me, sem="relaxed")
    tl.atomic_add(gw_ptr + e * 4 + 3, awf3, mask=me, sem="relaxed")
    tl.atomic_add(gw_ptr + E * 4 + e * 4, awb0, mask=me, sem="relaxed")
    tl.atomic_add(gw_ptr + E * 4 + e * 4 + 1, awb1, mask=me, sem="relaxed")
    tl.atomic_add(gw_ptr + E * 4 + e * 4 + 2, awb2, mask=me, sem="relaxed")
    tl.atomic_add(gw_ptr + E * 4 + e * 4 + 3, awb3, mask=me, sem="relaxed")
    tl.atomic_add(gbias_ptr + e, abf, mask=me, sem="relaxed")
    tl.atomic_add(gbias_ptr + E + e, abb, mask=me, sem="relaxed")
