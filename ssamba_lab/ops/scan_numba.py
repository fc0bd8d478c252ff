"""Fused CPU selective scan (numba): one pass per direction, state kept in a small per-thread block.

Layout: the kernels work channel-last (``[batch, length, channels]``), which is how the mixer's projections
produce ``x``, ``z`` and ``dt`` anyway, so SIMD runs across channels and no ``[b, e, l, n]`` tensor is ever
materialised. Work is split over (batch, block of channels) with ``prange``; each work item keeps its
``[state, block]`` state in a local array that stays in L1.

One kernel serves both the single-direction scan and SSAMBA's bidirectional mixer: direction 0 scans
left-to-right (or right-to-left with ``reverse``), the optional direction 1 scans right-to-left over its own
inputs given in natural time order, and the output is ``silu(z) * (y_0 + y_1) / 2`` (``silu(z) * y_0`` with one
direction). The backward kernel recomputes the states and decays of one work item into per-thread buffers
(``[length, state, block]`` each, ~1 MB at ``ssamba-tiny`` size, in L2/L3) and runs the adjoint recurrence right
after it, so nothing but the inputs is saved between forward and backward.

Numerics: float32 throughout, like the reference. ``exp`` is a Cephes-style polynomial (max 1.3 ulp, measured
in the tests against float64) because numba cannot vectorise libm's ``expf`` without SVML; the decays
``exp(dt A)`` use ``exp2_32(dt * (A log2 e))`` (see there); ``fastmath`` only allows FMA contraction (no
reassociation, no finite-math assumptions). Channel loops run over a compile-time block width (see the note
above ``_block_params``) so LLVM vectorises them.
``softplus(delta + delta_bias)`` is computed in the kernels too (Cephes ``logf`` + Goldberg's ``log1p``).
Threads: numba uses ``min(torch.get_num_threads(), NUMBA_NUM_THREADS)`` threads, so ``torch.set_num_threads``
controls both libraries.
"""
from __future__ import annotations

import numba
import numpy as np
import torch
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from .numba_target import prefer_wide_vectors  # already called by ssamba_lab.ops, before any compilation

_FM = {"contract"}  # FMA contraction only: rounding of a*b+c improves, nothing is reordered
# error_model="numpy": a float division gives inf/nan instead of a Python ZeroDivisionError check, whose
# branch in softplus32/_sigmoid kept the channel loops from vectorising.
_JIT = {"fastmath": _FM, "cache": True, "error_model": "numpy"}
_W_FWD = 64  # channels per forward work item (8 AVX2 vectors; 64 measured ~8% faster than 32, 16 slower)
# channels per backward work item: wider blocks amortise per-(step, state) overhead (8 ran scalar); 32 was chosen
# over 16 with AVX2 (AMD EPYC dev box), 64 over 32 with AVX-512 vectors (Xeon dev box: b8 fwd+bwd 82-85 vs 98-101 ms)
_W_BWD = 64 if prefer_wide_vectors() else 32


@njit(**_JIT)
def _bwd_block_width():
    """The backward kernels' block width as compiled. numba freezes globals at compile time and its cache does
    not key on them, so the host side asks the (cached) code instead of reading ``_W_BWD``."""
    return _W_BWD


@intrinsic
def _bits_to_f32(typingctx, bits):
    """Reinterpret int32 bits as float32 (vectorisable, unlike a view)."""
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return sig, codegen


@intrinsic
def _f32_to_bits(typingctx, x):
    """Reinterpret float32 bits as int32."""
    sig = types.int32(types.float32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))

    return sig, codegen


@intrinsic
def _select(typingctx, cond, a, b):
    """``a if cond else b`` as an LLVM ``select``: numba emits ternaries as branches, and LLVM may sink an arm's
    computation back behind the branch, which keeps the loop from vectorising."""
    sig = types.float32(types.boolean, types.float32, types.float32)

    def codegen(context, builder, signature, args):
        return builder.select(args[0], args[1], args[2])

    return sig, codegen


_LOG2E = np.float32(1.4426950408889634)
_LN2_HI = np.float32(0.693359375)
_LN2_LO = np.float32(-2.12194440e-4)
_X_LO = np.float32(-87.33654)  # exp(_X_LO) = FLT_MIN: below, results are < 1.2e-38 instead of denormal/0
_X_HI = np.float32(88.37626)
_P0, _P1, _P2 = np.float32(1.9875691500e-4), np.float32(1.3981999507e-3), np.float32(8.3334519073e-3)
_P3, _P4, _P5 = np.float32(4.1665795894e-2), np.float32(1.6666665459e-1), np.float32(5.0000001201e-1)
_HALF, _ONE, _ZERO = np.float32(0.5), np.float32(1.0), np.float32(0.0)


@njit(inline="always", **_JIT)
def exp32(x):
    """float32 ``exp`` (Cephes ``expf``): ``2^k * p(r)`` with ``x = k ln2 + r``; vectorisable."""
    x = _select(x > _X_LO, x, _X_LO)
    x = _select(x < _X_HI, x, _X_HI)
    k = np.floor(x * _LOG2E + _HALF)
    r = x - k * _LN2_HI
    r = r - k * _LN2_LO
    p = _P0 * r + _P1
    p = p * r + _P2
    p = p * r + _P3
    p = p * r + _P4
    p = p * r + _P5
    y = p * (r * r) + r + _ONE
    return y * _bits_to_f32((np.int32(k) + np.int32(127)) << np.int32(23))


# exp2 for the scan's decays: the kernels fold log2(e) into A once per block and evaluate 2^(dt A log2 e), which
# needs no Cody-Waite reduction (4 constants and 4 operations fewer than exp32 per state update; the update is
# instruction-bound and spilled registers with exp32: forward 15% faster). Cephes exp2f polynomial, < 2 ulp on
# [-126, 127]. The rounding of A log2(e) adds about |dt A| ulp to the decay, the same size as the rounding of the
# product dt A that every float32 implementation has (tests measure both against float64).
_X2_LO = np.float32(-126.0)  # 2^_X2_LO = FLT_MIN: below, results are FLT_MIN instead of denormal/0
_X2_HI = np.float32(127.4)
_E0, _E1, _E2 = np.float32(1.535336188319500e-4), np.float32(1.339887440266574e-3), np.float32(9.618437357674640e-3)
_E3, _E4, _E5 = np.float32(5.550332471162809e-2), np.float32(2.402264791363012e-1), np.float32(6.931472028550421e-1)


@njit(inline="always", **_JIT)
def exp2_32(x):
    """float32 ``2^x``: ``2^k * (1 + f p(f))`` with ``k = rint(x)``, ``f = x - k`` exact; vectorisable."""
    x = _select(x > _X2_LO, x, _X2_LO)
    x = _select(x < _X2_HI, x, _X2_HI)
    k = np.rint(x)
    f = x - k
    p = _E0 * f + _E1
    p = p * f + _E2
    p = p * f + _E3
    p = p * f + _E4
    p = p * f + _E5
    y = p * f + _ONE
    return y * _bits_to_f32((np.int32(k) + np.int32(127)) << np.int32(23))


# 1.5 * 2^23 + 127: x + _RND_127 (|x| < 2^22) lands in [2^23, 2^24), where float32 spacing is 1, so the sum is
# rounded to an integer (to nearest even, as np.rint) and its low mantissa bits hold rint(x) + 127.
_RND_127 = np.float32(12583039.0)
_N16 = 16


@njit(inline="always", **_JIT)
def exp2_decay(x):
    """``exp2_32`` for ``x <= 0`` (the scan's decays ``2^(dt A log2 e)`` with dt >= 0 after softplus, A < 0):
    bit-identical to it there, 2 vector operations fewer: no upper clamp, and rint, the float-to-int conversion
    and the exponent bias collapse into one add of ``_RND_127`` (k = (x + _RND_127) - _RND_127 is exact)."""
    x = _select(x > _X2_LO, x, _X2_LO)
    r = x + _RND_127
    f = x - (r - _RND_127)
    p = _E0 * f + _E1
    p = p * f + _E2
    p = p * f + _E3
    p = p * f + _E4
    p = p * f + _E5
    y = p * f + _ONE
    return y * _bits_to_f32(_f32_to_bits(r) << np.int32(23))


_SQRTHF = np.float32(0.707106781186547524)
_L0, _L1, _L2 = np.float32(7.0376836292e-2), np.float32(-1.1514610310e-1), np.float32(1.1676998740e-1)
_L3, _L4, _L5 = np.float32(-1.2420140846e-1), np.float32(1.4249322787e-1), np.float32(-1.6668057665e-1)
_L6, _L7, _L8 = np.float32(2.0000714765e-1), np.float32(-2.4999993993e-1), np.float32(3.3333331174e-1)
_SOFTPLUS_THRESHOLD = np.float32(20.0)  # as torch.nn.functional.softplus: identity above it


@njit(inline="always", **_JIT)
def log32(x):
    """float32 ``log`` for finite ``x > 0`` (Cephes ``logf``): mantissa/exponent split by bits; vectorisable."""
    bits = _f32_to_bits(x)
    e = np.float32(((bits >> np.int32(23)) & np.int32(0xFF)) - np.int32(126))
    m = _bits_to_f32((bits & np.int32(-2139095041)) | np.int32(0x3F000000))  # mantissa in [0.5, 1)
    small = m < _SQRTHF  # selects instead of a branch, so loops calling this still vectorise
    e = _select(small, e - _ONE, e)
    m = _select(small, m + m, m) - _ONE
    z = m * m
    p = _L0 * m + _L1
    p = p * m + _L2
    p = p * m + _L3
    p = p * m + _L4
    p = p * m + _L5
    p = p * m + _L6
    p = p * m + _L7
    p = p * m + _L8
    y = m * z * p
    y = y + e * _LN2_LO
    y = y - _HALF * z
    return m + y + e * _LN2_HI


@njit(inline="always", **_JIT)
def softplus32(x):
    """``log(1 + exp(x))`` (identity above 20, like torch); ``log1p`` kept accurate for tiny ``exp(x)``."""
    y = exp32(x)
    u = _ONE + y
    # Goldberg's log1p, computed for every lane and then selected: a branch around log32 stops vectorisation
    lp = _select(u == _ONE, y, log32(u) * (y / (u - _ONE)))
    return _select(x > _SOFTPLUS_THRESHOLD, x, lp)


@njit(inline="always", **_JIT)
def _sigmoid(x):
    return _ONE / (_ONE + exp32(-x))


# Hot loops index whole arrays (``x[t, c0 + c]``) instead of taking row slices: every slice is a new array
# object whose reference count numba updates atomically, and on arrays shared between threads those updates
# bounce cache lines between cores (10x slower backward on 2 threads). Per-item views (``u[bi]``) are taken once.
#
# Every loop over the channels of a block runs over the compile-time width ``_W_FWD``/``_W_BWD`` on padded
# per-thread rows, so LLVM turns it into whole AVX2 vectors with no remainder loop and no trip-count checks
# inside the time loop (a runtime width left the state update 4x off the vector throughput). Only the copies
# from and to the ``[l, e]`` tensors loop over ``wc`` (the last block may be partial); padding lanes hold
# u = 0, A = 0, gy = 0, so their state and gradients stay exactly 0.


@njit(**_JIT)
def _block_params(bias, D, At, c0, wc, pb, pd, a_blk):
    """Padded per-block copies: pb, pd ``[W]`` <- bias, D; a_blk ``[n, W]`` <- At ``[n, e]`` (zeros past wc)."""
    W = pb.shape[0]
    for c in range(W):
        pb[c] = _ZERO
        pd[c] = _ZERO
    for c in range(wc):
        pb[c] = bias[c0 + c]
        pd[c] = D[c0 + c]
    for n in range(At.shape[0]):
        for c in range(W):
            a_blk[n, c] = _ZERO
        for c in range(wc):
            a_blk[n, c] = At[n, c0 + c]


@njit(inline="always", **_JIT)
def _upd16(hf, af, n, c, dv, du, bn, cn, acc):
    """State n of channel c (flat ``[n * W + c]`` rows, W = ``_W_FWD``): update it, return ``acc + C h``."""
    i = n * _W_FWD + c
    hv = exp2_decay(dv * af[i]) * hf[i] + du * bn
    hf[i] = hv
    return acc + hv * cn


@njit(**_JIT)
def _scan_block(ub, dtb, bias, softplus, At, Bb, Cb, boff, coff, D, c0, wc, rev, accumulate, final, zb, zoff, has_z,
                scale, ob, h,
                a_blk, y, dtu, dtv, ur, dr, pb, pd, gr):
    """One direction for channels ``c0:c0+wc`` of one batch item: ``ob[t, c] (+)= <C_t, h_t> + D u_t``.

    With ``final`` (the last direction), the sum is gated as it is written: ``ob[t, c] = scale * silu(z[t, c]) *
    (ob[t, c] + y)`` (``scale * (...)`` without z). The gate runs on the padded ``[W]`` row of each step so it
    vectorises; a separate pass over ``[l, wc]`` (runtime width) ran scalar and cost ~20% of the forward.
    ub, dtb (delta before bias/softplus), zb, ob: ``[l, e]``; Bb, Cb: ``[l, n]``; At: ``[n, e]``; bias ``[e]``;
    the rest are per-thread scratch: h, a_blk ``[n, W]``, the others ``[W]`` (W = ``_W_FWD``).
    """
    W = _W_FWD
    L = ub.shape[0]
    N = At.shape[0]
    _block_params(bias, D, At, c0, wc, pb, pd, a_blk)
    hf = h.reshape(N * W)  # flat views: rows at compile-time offsets, so the N == 16 update vectorises
    af = a_blk.reshape(N * W)
    for n in range(N):
        for c in range(W):
            a_blk[n, c] *= _LOG2E  # decays as 2^(dt A log2 e)
    for c in range(W):
        ur[c] = _ZERO
        dr[c] = _ZERO
        gr[c] = _ZERO if has_z else scale  # padding lanes: silu(0) = 0
    for n in range(N):
        for c in range(W):
            h[n, c] = _ZERO
    # Unsigned column indices for the copies from and to the [l, e] tensors: numba wraps signed indices that might
    # be negative (c0 + c), which turned these loops into per-element scalar code.
    wcu, cu, czu = np.uint64(wc), np.uint64(c0), np.uint64(zoff + c0)
    for s in range(L):
        t = L - 1 - s if rev else s
        for c in range(wcu):
            ur[c] = ub[t, cu + c]
            dr[c] = dtb[t, cu + c]
        if softplus:
            for c in range(W):
                dtv[c] = softplus32(dr[c] + pb[c])
        else:
            for c in range(W):
                dtv[c] = dr[c] + pb[c]
        for c in range(W):
            y[c] = pd[c] * ur[c]
            dtu[c] = dtv[c] * ur[c]
        # d_state 16 (every preset): the 16 states of a channel unrolled inside the channel loop, so y stays in a
        # register instead of a load/store per state, and B_t, C_t are read once per step. Same operations in the
        # same order as the generic loop below (bit-identical). Needs the flat views: with 2-D rows LLVM saw 32
        # possibly aliasing pointers and did not vectorise (4x slower).
        if softplus and N == _N16:  # dt >= 0, so every decay exponent is <= 0
            b0, q0 = Bb[t, boff + 0], Cb[t, coff + 0]
            b1, q1 = Bb[t, boff + 1], Cb[t, coff + 1]
            b2, q2 = Bb[t, boff + 2], Cb[t, coff + 2]
            b3, q3 = Bb[t, boff + 3], Cb[t, coff + 3]
            b4, q4 = Bb[t, boff + 4], Cb[t, coff + 4]
            b5, q5 = Bb[t, boff + 5], Cb[t, coff + 5]
            b6, q6 = Bb[t, boff + 6], Cb[t, coff + 6]
            b7, q7 = Bb[t, boff + 7], Cb[t, coff + 7]
            b8, q8 = Bb[t, boff + 8], Cb[t, coff + 8]
            b9, q9 = Bb[t, boff + 9], Cb[t, coff + 9]
            b10, q10 = Bb[t, boff + 10], Cb[t, coff + 10]
            b11, q11 = Bb[t, boff + 11], Cb[t, coff + 11]
            b12, q12 = Bb[t, boff + 12], Cb[t, coff + 12]
            b13, q13 = Bb[t, boff + 13], Cb[t, coff + 13]
            b14, q14 = Bb[t, boff + 14], Cb[t, coff + 14]
            b15, q15 = Bb[t, boff + 15], Cb[t, coff + 15]
            for c in range(W):
                acc = y[c]
                dv = dtv[c]
                du = dtu[c]
                acc = _upd16(hf, af, 0, c, dv, du, b0, q0, acc)
                acc = _upd16(hf, af, 1, c, dv, du, b1, q1, acc)
                acc = _upd16(hf, af, 2, c, dv, du, b2, q2, acc)
                acc = _upd16(hf, af, 3, c, dv, du, b3, q3, acc)
                acc = _upd16(hf, af, 4, c, dv, du, b4, q4, acc)
                acc = _upd16(hf, af, 5, c, dv, du, b5, q5, acc)
                acc = _upd16(hf, af, 6, c, dv, du, b6, q6, acc)
                acc = _upd16(hf, af, 7, c, dv, du, b7, q7, acc)
                acc = _upd16(hf, af, 8, c, dv, du, b8, q8, acc)
                acc = _upd16(hf, af, 9, c, dv, du, b9, q9, acc)
                acc = _upd16(hf, af, 10, c, dv, du, b10, q10, acc)
                acc = _upd16(hf, af, 11, c, dv, du, b11, q11, acc)
                acc = _upd16(hf, af, 12, c, dv, du, b12, q12, acc)
                acc = _upd16(hf, af, 13, c, dv, du, b13, q13, acc)
                acc = _upd16(hf, af, 14, c, dv, du, b14, q14, acc)
                acc = _upd16(hf, af, 15, c, dv, du, b15, q15, acc)
                y[c] = acc
        elif softplus:  # dt >= 0, so every decay exponent is <= 0
            for n in range(N):
                bn = Bb[t, boff + n]
                cn = Cb[t, coff + n]
                for c in range(W):
                    hv = exp2_decay(dtv[c] * a_blk[n, c]) * h[n, c] + dtu[c] * bn
                    h[n, c] = hv
                    y[c] += hv * cn
        else:
            for n in range(N):
                bn = Bb[t, boff + n]
                cn = Cb[t, coff + n]
                for c in range(W):
                    hv = exp2_32(dtv[c] * a_blk[n, c]) * h[n, c] + dtu[c] * bn
                    h[n, c] = hv
                    y[c] += hv * cn
        if final:
            if has_z:
                for c in range(wcu):
                    gr[c] = zb[t, czu + c]
                for c in range(W):
                    gr[c] = scale * (gr[c] * _sigmoid(gr[c]))
            if accumulate:
                for c in range(wcu):
                    y[c] += ob[t, cu + c]
            for c in range(W):
                y[c] *= gr[c]
            for c in range(wcu):
                ob[t, cu + c] = y[c]
        elif accumulate:
            for c in range(wcu):
                ob[t, cu + c] += y[c]
        else:
            for c in range(wcu):
                ob[t, cu + c] = y[c]


@njit(parallel=True, **_JIT)
def _fwd_kernel(u0, dt0, bias0, At0, B0, C0, D0, u1, dt1, bias1, At1, B1, C1, D1, z, boff0, coff0, boff1, coff1, zoff,
                has_z, softplus, ndir, rev0, scale, out):
    """u*, dt* (delta before bias/softplus), z, out: ``[b, l, e]``; At*: ``[n, e]``; B*, C*: ``[b, l, n]``;
    D*, bias*: ``[e]``."""
    nb, L, E = u0.shape
    N = At0.shape[0]
    W = _W_FWD
    nblk = (E + W - 1) // W
    for job in prange(nb * nblk):
        bi = job // nblk
        c0 = (job % nblk) * W
        wc = min(W, E - c0)
        h = np.empty((N, W), np.float32)
        a_blk = np.empty((N, W), np.float32)
        y, dtu, dtv = np.empty(W, np.float32), np.empty(W, np.float32), np.empty(W, np.float32)
        ur, dr, pb, pd = np.empty(W, np.float32), np.empty(W, np.float32), np.empty(W, np.float32), np.empty(W, np.float32)
        gr = np.empty(W, np.float32)
        ob, zb = out[bi], z[bi]
        _scan_block(u0[bi], dt0[bi], bias0, softplus, At0, B0[bi], C0[bi], boff0, coff0, D0, c0, wc, rev0, False,
                    ndir == 1, zb, zoff, has_z, scale, ob, h, a_blk, y, dtu, dtv, ur, dr, pb, pd, gr)
        if ndir == 2:
            _scan_block(u1[bi], dt1[bi], bias1, softplus, At1, B1[bi], C1[bi], boff1, coff1, D1, c0, wc, True, True,
                        True, zb, zoff, has_z, scale, ob, h, a_blk, y, dtu, dtv, ur, dr, pb, pd, gr)


# Backward scratch packs its rows into a few arrays indexed ``[t or n, row * W + c]`` with the compile-time width
# W: rows of one array then sit at constant distances, so LLVM can vectorise a loop that writes several of them.
# With one array per row, the adjoint loop needed a runtime alias check for each pair of arrays, more than LLVM
# allows (8), and ran scalar. (A flat ``[t * R + c]`` index does not work either: numba's wraparound for possibly
# negative indices makes the address non-affine.)
_G_ROWS = 4  # rows per step in G: gy, dt (after bias/softplus), u, dt * u
_M_ROWS = 4  # rows per state in M: lam (adjoint state), A, gA (accumulated), A log2(e) (for exp2_32)
_V_GU, _V_GDT, _V_TB, _V_TC = 0, 1, 2, 3  # rows of V: gu, gdt accumulators; B, C gradient terms


@njit(**_JIT)
def _prep_bwd(ub, dtb, softplus, c0, wc, pb, gy, G, sgs):
    """Padded per-step rows of one block: G ``[l, 4 * W]`` <- (gy, dt, u, dt * u) per step, sgs ``[l, W]`` <-
    softplus' (1 without softplus). Softplus and sigmoid run once, in a flat loop over ``l * W`` that vectorises."""
    L = ub.shape[0]
    W = _W_BWD
    wcu, cu = np.uint64(wc), np.uint64(c0)  # unsigned column indices vectorise (see _scan_block)
    for t in range(L):
        for c in range(W):
            G[t, c] = gy[t, c]
            G[t, W + c] = pb[c]
            G[t, 2 * W + c] = _ZERO
        for c in range(wcu):
            G[t, W + c] += dtb[t, cu + c]
            G[t, 2 * W + c] = ub[t, cu + c]
    sf = sgs.reshape(L * W)
    if softplus:
        for i in range(L * W):
            x = G[i // W, W + i % W]
            sf[i] = _sigmoid(x)
    else:
        for i in range(L * W):
            sf[i] = _ONE
    for t in range(L):
        for c in range(W):
            x = G[t, W + c]
            d = softplus32(x) if softplus else x
            G[t, W + c] = d
            G[t, 3 * W + c] = d * G[t, 2 * W + c]


@njit(**_JIT)
def _scan_block_bwd(ub, dtb, bias, softplus, At, Bb, Cb, boff, coff, D, c0, wc, rev, gy, ysum, hs, ha, gub, gdtb, gAb, gDb, gBb,
                    gCb, G, M, V, pb, pd, sgs, gD_acc):
    """Gradients of one direction for channels ``c0:c0+wc`` of one batch item.

    ub, dtb: ``[l, e]``; Bb, Cb: ``[l, n]``; gy: ``[l, W]`` gradient of this direction's ``y`` (gate and scale
    applied, zero past wc); ``ysum`` ``[l, W]`` gets ``y`` added (for gz). Scratch: hs ``[l + 1, n, W]`` holds
    the state after scan step ``s`` at ``hs[s + 1]`` (``hs[0] = 0``, so the first step needs no branch); ha
    ``[l + 1, n, W]`` the decay ``exp(dt A)`` of step ``s`` (``ha[l] = 0``), stored so the adjoint needs no exp;
    G ``[l, 4 * W]``, M ``[n, 4 * W]``, V ``[4 * W]`` packed rows (see above); pb, pd, gD_acc ``[W]``; sgs
    ``[l, W]``. Writes gub, gdtb (gradient of delta before bias/softplus) ``[l, e]`` and gBb, gCb ``[l, n]``
    (this block's share); accumulates gAb ``[n, e]``, gDb ``[e]``.
    """
    W = _W_BWD
    L = ub.shape[0]
    N = At.shape[0]
    for c in range(W):
        pb[c] = _ZERO
        pd[c] = _ZERO
        gD_acc[c] = _ZERO
    for c in range(wc):
        pb[c] = bias[c0 + c]
        pd[c] = D[c0 + c]
    for n in range(N):
        for c in range(W):
            M[n, c] = _ZERO
            M[n, W + c] = _ZERO
            M[n, 2 * W + c] = _ZERO
            hs[0, n, c] = _ZERO
            ha[L, n, c] = _ZERO
            M[n, 3 * W + c] = _ZERO
        for c in range(wc):
            M[n, W + c] = At[n, c0 + c]
            M[n, 3 * W + c] = At[n, c0 + c] * _LOG2E  # as the forward computes its decays
    _prep_bwd(ub, dtb, softplus, c0, wc, pb, gy, G, sgs)
    wcu, cu = np.uint64(wc), np.uint64(c0)  # unsigned column indices vectorise (see _scan_block)
    # Forward recompute: states and decays of every scan step.
    for s in range(L):
        t = L - 1 - s if rev else s
        for c in range(W):
            ysum[t, c] += pd[c] * G[t, 2 * W + c]
        for n in range(N):
            bn = Bb[t, boff + n]
            cn = Cb[t, coff + n]
            for c in range(W):
                a = exp2_32(G[t, W + c] * M[n, 3 * W + c])
                hv = a * hs[s, n, c] + G[t, 3 * W + c] * bn
                ha[s, n, c] = a
                hs[s + 1, n, c] = hv
                ysum[t, c] += hv * cn
    # Adjoint recurrence, last scanned step first: lam_s = gy_s C_s + a_{s+1} lam_{s+1}.
    for s in range(L - 1, -1, -1):
        t = L - 1 - s if rev else s
        for c in range(W):
            g = G[t, c]
            gD_acc[c] += g * G[t, 2 * W + c]
            V[_V_GU * W + c] = pd[c] * g
            V[_V_GDT * W + c] = _ZERO
        for n in range(N):
            bn = Bb[t, boff + n]
            cn = Cb[t, coff + n]
            for c in range(W):
                g = G[t, c]
                dt = G[t, W + c]
                lv = g * cn + ha[s + 1, n, c] * M[n, c]
                M[n, c] = lv
                V[_V_TC * W + c] = g * hs[s + 1, n, c]
                V[_V_TB * W + c] = lv * G[t, 3 * W + c]
                lb = lv * bn
                V[_V_GU * W + c] += lb * dt
                V[_V_GDT * W + c] += lb * G[t, 2 * W + c]
                ga = lv * hs[s, n, c] * ha[s, n, c]  # d/d(dt * A); zero at the first step (hs[0] = 0)
                M[n, 2 * W + c] += ga * dt
                V[_V_GDT * W + c] += ga * M[n, W + c]
            # Sums over the block's channels as a pairwise tree: a sequential float sum cannot be vectorised
            # without reassociation, and its serial add chain would stall every (t, n).
            w = W // 2
            while w > 0:
                for c in range(w):
                    V[_V_TB * W + c] += V[_V_TB * W + c + w]
                    V[_V_TC * W + c] += V[_V_TC * W + c + w]
                w //= 2
            gBb[t, n] = V[_V_TB * W]
            gCb[t, n] = V[_V_TC * W]
        for c in range(wcu):
            gub[t, cu + c] = V[_V_GU * W + c]
            gdtb[t, cu + c] = V[_V_GDT * W + c] * sgs[t, c]
    for n in range(N):
        for c in range(wc):
            gAb[n, c0 + c] += M[n, 2 * W + c]
    for c in range(wc):
        gDb[c0 + c] += gD_acc[c]


@njit(parallel=True, **_JIT)
def _bwd_kernel(u0, dt0, bias0, At0, B0, C0, D0, u1, dt1, bias1, At1, B1, C1, D1, z, boff0, coff0, boff1, coff1, zoff,
                has_z, softplus, ndir, rev0, scale, gout,
                gu0, gdt0, gA0, gD0, gB0, gC0, gu1, gdt1, gA1, gD1, gB1, gC1, gz):
    """Backward of :func:`_fwd_kernel`. gA*: ``[b, n, e]``, gD*: ``[b, e]`` (zeroed), gB*, gC*: ``[blocks, b, l, n]``."""
    nb, L, E = u0.shape
    N = At0.shape[0]
    W = _W_BWD
    nblk = (E + W - 1) // W
    for job in prange(nb * nblk):
        bi = job // nblk
        blk = job % nblk
        c0 = blk * W
        wc = min(W, E - c0)
        wcu, cu, czu = np.uint64(wc), np.uint64(c0), np.uint64(zoff + c0)  # unsigned: vectorise (see _scan_block)
        gy = np.zeros((L, W), np.float32)  # padding lanes must be 0
        ysum = np.zeros((L, W), np.float32)
        hs = np.empty((L + 1, N, W), np.float32)
        ha = np.empty((L + 1, N, W), np.float32)
        G = np.empty((L, _G_ROWS * W), np.float32)
        M = np.empty((N, _M_ROWS * W), np.float32)
        V = np.empty(4 * W, np.float32)
        pb, pd, gD_acc = np.empty(W, np.float32), np.empty(W, np.float32), np.empty(W, np.float32)
        sgs = np.empty((L, W), np.float32)
        gob = gout[bi]
        zb = z[bi]
        for t in range(L):
            if has_z:
                for c in range(wcu):
                    zv = zb[t, czu + c]
                    gy[t, c] = gob[t, cu + c] * scale * (zv * _sigmoid(zv))
            else:
                for c in range(wcu):
                    gy[t, c] = gob[t, cu + c] * scale
        _scan_block_bwd(u0[bi], dt0[bi], bias0, softplus, At0, B0[bi], C0[bi], boff0, coff0, D0, c0, wc, rev0, gy, ysum, hs, ha,
                        gu0[bi], gdt0[bi], gA0[bi], gD0[bi], gB0[blk, bi], gC0[blk, bi], G, M, V, pb, pd, sgs, gD_acc)
        if ndir == 2:
            _scan_block_bwd(u1[bi], dt1[bi], bias1, softplus, At1, B1[bi], C1[bi], boff1, coff1, D1, c0, wc, True, gy, ysum, hs, ha,
                            gu1[bi], gdt1[bi], gA1[bi], gD1[bi], gB1[blk, bi], gC1[blk, bi], G, M, V, pb, pd, sgs,
                            gD_acc)
        if has_z:
            gzb = gz[bi]
            for t in range(L):
                for c in range(wcu):
                    zv = zb[t, czu + c]
                    sig = _sigmoid(zv)
                    gzb[t, cu + c] = gob[t, cu + c] * scale * ysum[t, c] * (sig * (_ONE + zv * (_ONE - sig)))


_POOL_STARTED = False


def _sync_threads() -> None:
    """Let ``torch.set_num_threads`` govern numba's pool too."""
    global _POOL_STARTED
    if not _POOL_STARTED:
        # Starting numba's OpenMP pool resets the OpenMP thread count it shares with torch: put torch's back.
        n = torch.get_num_threads()
        numba.get_num_threads()
        torch.set_num_threads(n)
        _POOL_STARTED = True
    numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy()


def _rows(t: torch.Tensor) -> tuple[np.ndarray, int]:
    """float32 ``[b, l, e]`` -> (``rows`` ``[b, l, R]`` C-contiguous, ``off``) with ``t == rows[..., off:off + e]``.

    No copy when ``t`` is a column slice of contiguous rows (the in_proj halves, B and C inside ``x_proj``'s
    output): the kernels read such slices in place; anything else is copied once.
    """
    t = t.detach()
    b, l, e = t.shape
    sb, sl, se = t.stride()
    so = t.storage_offset()
    if se == 1 and sl >= e and (b == 1 or sb == l * sl):
        off = so % sl
        start = so - off
        if off + e <= sl and start + b * l * sl <= t.untyped_storage().nbytes() // t.element_size():
            return torch.as_strided(t, (b, l, sl), (l * sl, sl, 1), start).numpy(), off
    return t.contiguous().numpy(), 0


def _kernel_inputs(tensors) -> list:
    """The scan's 15 input tensors as kernel arguments: B*, C*, z as rows plus column offsets (see ``_rows``)."""
    u0, dt0, bias0, At0, B0, C0, D0, u1, dt1, bias1, At1, B1, C1, D1, z = tensors
    (b0, bo0), (c0, co0), (b1, bo1), (c1, co1), (zr, zo) = (_rows(t) for t in (B0, C0, B1, C1, z))
    return [*(_np(t) for t in (u0, dt0, bias0, At0)), b0, c0, _np(D0), *(_np(t) for t in (u1, dt1, bias1, At1)), b1,
            c1, _np(D1), zr, bo0, co0, bo1, co1, zo]


class _FusedScanFn(torch.autograd.Function):
    """Channel-last fused scan. u*, delta*, z: ``[b, l, e]``; bias*, D*: ``[e]``; At*: ``[n, e]``;
    B*, C*: ``[b, l, n]``. All float32; u*, delta* contiguous; B*, C*, z may be column slices of contiguous rows. ``dt = softplus(delta + bias)`` (without softplus if
    ``softplus`` is False). Direction 1 (``ndir == 2``) scans right-to-left; output ``[b, l, e]``.
    """

    @staticmethod
    def forward(ctx, ndir, rev0, softplus, u0, dt0, bias0, At0, B0, C0, D0, u1, dt1, bias1, At1, B1, C1, D1, z):
        scale = np.float32(0.5 if ndir == 2 else 1.0)
        has_z = z is not None
        zz = z if has_z else u0
        out = torch.empty_like(u0)  # [b, l, e]
        tensors = (u0, dt0, bias0, At0, B0, C0, D0, u1, dt1, bias1, At1, B1, C1, D1, zz)
        _sync_threads()
        _fwd_kernel(*_kernel_inputs(tensors), has_z, softplus, ndir, rev0, scale, _np(out))
        ctx.meta = (ndir, rev0, softplus, scale, has_z)
        ctx.save_for_backward(*tensors)
        return out

    @staticmethod
    def backward(ctx, gout):
        ndir, rev0, softplus, scale, has_z = ctx.meta
        saved = ctx.saved_tensors
        u0, At0 = saved[0], saved[3]
        nb, L, E = u0.shape
        N = At0.shape[0]
        W = _bwd_block_width()
        nblk = (E + W - 1) // W
        gout = gout.float().contiguous()  # [b, l, e]

        def grads():
            return (torch.empty_like(u0), torch.empty_like(u0), u0.new_zeros(nb, N, E), u0.new_zeros(nb, E),
                    u0.new_empty(nblk, nb, L, N), u0.new_empty(nblk, nb, L, N))

        g0 = grads()
        g1 = grads() if ndir == 2 else g0  # unused second direction writes nothing
        gz = torch.empty_like(u0) if has_z else u0.new_empty(0, 0, 0)  # [b, l, e]
        _sync_threads()
        _bwd_kernel(*_kernel_inputs(saved), has_z, softplus, ndir, rev0, scale, _np(gout),
                    *(_np(t) for t in g0), *(_np(t) for t in g1), _np(gz))

        def finish(g):
            gu, gdt, gA, gD, gB, gC = g
            # u, delta, bias [e], At [n, e], B/C [b, l, n], D [e]
            return gu, gdt, gdt.sum((0, 1)), gA.sum(0), gB.sum(0), gC.sum(0), gD.sum(0)

        out0 = finish(g0)
        out1 = finish(g1) if ndir == 2 else (None,) * 7
        return (None, None, None, *out0, *out1, gz if has_z else None)


def _channels_last(t: torch.Tensor) -> torch.Tensor:
    """``[b, c, l]`` -> contiguous float32 ``[b, l, c]`` (free when the memory already is channel-last)."""
    return t.float().transpose(1, 2).contiguous()


def _direction(u, delta, A, B, C, D, delta_bias):
    e = u.shape[1]
    zeros = u.new_zeros(e, dtype=torch.float32)
    return (_channels_last(u), _channels_last(delta), delta_bias.float() if delta_bias is not None else zeros,
            A.float().t().contiguous(), _channels_last(B), _channels_last(C), D.float() if D is not None else zeros)


def selective_scan_numba(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False, *,
                         reverse=False):
    """``selective_scan_fn`` semantics (see ``scan_ref``); ``reverse`` scans right-to-left without flipping.

    u, delta, z: ``[batch, channels, length]``; A: ``[channels, state]``; B, C: ``[batch, state, length]``;
    D, delta_bias: ``[channels]``. Returns ``[batch, channels, length]`` in ``u``'s dtype.
    """
    assert u.device.type == "cpu", f"the numba scan runs on CPU tensors, got {u.device}"
    d0 = _direction(u, delta, A, B, C, D, delta_bias)
    zc = _channels_last(z) if z is not None else None  # [b, l, e]
    out = _FusedScanFn.apply(1, bool(reverse), bool(delta_softplus), *d0, *d0, zc)  # [b, l, e]
    return out.transpose(1, 2).to(u.dtype)  # [b, e, l]


def bidirectional_selective_scan_numba(x_f, x_b, z, dt_f, B_f, C_f, A_f, D_f, bias_f, dt_b, B_b, C_b, A_b, D_b,
                                       bias_b):
    """Both scans of SSAMBA's mixer in one call, on post-conv inputs in natural time order.

    ``silu(z) * (y_f + y_b) / 2`` where ``y_f`` scans ``x_f`` left-to-right and ``y_b`` scans ``x_b``
    right-to-left, each with ``delta = softplus(dt + bias)``. x_*, z, dt_*: ``[batch, channels, length]``;
    B_*, C_*: ``[batch, state, length]``; A_*: ``[channels, state]``; D_*, bias_*: ``[channels]``.
    Returns ``[batch, channels, length]``.
    """
    assert x_f.device.type == "cpu", f"the numba scan runs on CPU tensors, got {x_f.device}"
    d0 = _direction(x_f, dt_f, A_f, B_f, C_f, D_f, bias_f)
    d1 = _direction(x_b, dt_b, A_b, B_b, C_b, D_b, bias_b)
    zc = _channels_last(z) if z is not None else None  # [b, l, e]
    out = _FusedScanFn.apply(2, False, True, *d0, *d1, zc)  # [b, l, e]
    return out.transpose(1, 2).to(x_f.dtype)  # [b, e, l]
