"""Short depthwise convs + SiLU on CPU (numba), channel-last, both mixer directions in one pass.

Direction 0 is the causal conv of ``causal_conv1d``; direction 1 is the backward direction's conv seen in natural
time order (anti-causal): ``flip(causal_conv1d(flip(x), w_1, b_1))``, computed without flips:

    out_0[t] = silu(b_0 + sum_k w_0[k] x[t - (K-1) + k]),    out_1[t] = silu(b_1 + sum_k w_1[k] x[t + (K-1) - k])

with zeros outside ``0 <= t < L``. Tensors are ``[batch, length, channels]``; SIMD runs across channels.
"""
from __future__ import annotations

import numpy as np
import torch
from numba import njit, prange

from .scan_numba import _FM, _JIT, _ONE, _ZERO, _np, _rows, _sigmoid, _sync_threads

_T_CHUNK = 64  # time steps per work item


@njit(fastmath=_FM, cache=True)
def _pre(xb, wt, bias, t, sign, acc):
    """Pre-activation of one direction at time t of one batch item into ``acc`` ``[e]`` (sign -1: anti-causal).

    Whole-array indexing, no row slices: see the note in ``scan_numba`` on reference counts.
    """
    L, E = xb.shape
    K = wt.shape[0]
    for c in range(E):
        acc[c] = bias[c]
    for k in range(K):
        s = t + sign * (k - (K - 1))
        if 0 <= s < L:
            for c in range(E):
                acc[c] += wt[k, c] * xb[s, c]


@njit(inline="always", **_JIT)
def _conv_row_k4(xb, xoff, wt0, b0, wt1, b1, o0, o1, t):
    """Output row t of both directions for K = 4 with every tap inside ``[0, L)``: one pass over the channels,
    sums in registers (no load/store of the output row per tap), SiLU applied before the single store. Same
    tap order and FMA contraction as the general path, so the results are bit-identical."""
    # Unsigned indices: numba adds a negative-index wraparound select to signed ones that LLVM cannot prove
    # away for ``xoff + c``, and the loads then become per-lane inserts instead of vector loads.
    E = np.uint64(o0.shape[1])
    xo = np.uint64(xoff)
    r = np.uint64(t)
    r3, r2, r1 = r - np.uint64(3), r - np.uint64(2), r - np.uint64(1)
    p1, p2, p3 = r + np.uint64(1), r + np.uint64(2), r + np.uint64(3)
    for c in range(E):
        xc = xo + c
        xm3 = xb[r3, xc]
        xm2 = xb[r2, xc]
        xm1 = xb[r1, xc]
        x0 = xb[r, xc]
        xp1 = xb[p1, xc]
        xp2 = xb[p2, xc]
        xp3 = xb[p3, xc]
        a = b0[c]
        a += wt0[0, c] * xm3
        a += wt0[1, c] * xm2
        a += wt0[2, c] * xm1
        a += wt0[3, c] * x0
        v = b1[c]
        v += wt1[0, c] * xp3
        v += wt1[1, c] * xp2
        v += wt1[2, c] * xp1
        v += wt1[3, c] * x0
        o0[r, c] = a * _sigmoid(a)
        o1[r, c] = v * _sigmoid(v)


@njit(inline="always", **_JIT)
def _conv_row(xb, xoff, wt0, b0, wt1, b1, o0, o1, t):
    """Output row t of both directions, any K, taps outside ``[0, L)`` skipped."""
    L = xb.shape[0]
    E = o0.shape[1]
    K = wt0.shape[0]
    for c in range(E):
        o0[t, c] = b0[c]
        o1[t, c] = b1[c]
    for k in range(K):
        s = t + k - (K - 1)  # causal
        if s >= 0:
            for c in range(E):
                o0[t, c] += wt0[k, c] * xb[s, xoff + c]
        s = t - k + (K - 1)  # anti-causal
        if s < L:
            for c in range(E):
                o1[t, c] += wt1[k, c] * xb[s, xoff + c]
    for c in range(E):
        v = o0[t, c]
        o0[t, c] = v * _sigmoid(v)
        v = o1[t, c]
        o1[t, c] = v * _sigmoid(v)


@njit(parallel=True, **_JIT)
def _conv_fwd_kernel(x, xoff, wt0, b0, wt1, b1, out0, out1):
    """x: ``[b, l, R]`` rows holding the input in columns ``xoff:xoff+e`` (the in_proj output, read in place);
    out*: ``[b, l, e]``; wt*: ``[k, e]``; b*: ``[e]``.

    Interior rows (all taps in range) of the usual K = 4 take a register-accumulating path with the SiLU fused
    in; the ``K - 1`` rows at each end take the general one.
    """
    nb, L, _ = x.shape
    K = wt0.shape[0]
    nch = (L + _T_CHUNK - 1) // _T_CHUNK
    for job in prange(nb * nch):
        bi = job // nch
        t0 = (job % nch) * _T_CHUNK
        xb, o0, o1 = x[bi], out0[bi], out1[bi]
        for t in range(t0, min(t0 + _T_CHUNK, L)):
            if K == 4 and t >= 3 and t + 3 < L:
                _conv_row_k4(xb, xoff, wt0, b0, wt1, b1, o0, o1, t)
            else:
                _conv_row(xb, xoff, wt0, b0, wt1, b1, o0, o1, t)


@njit(parallel=True, fastmath=_FM, cache=True)
def _conv_bwd_kernel(x, wt0, b0, wt1, b1, g0, g1, gx, gw0, gb0, gw1, gb1):
    """g* (in: output grads; overwritten with pre-activation grads), gx: ``[b, l, e]``;
    gw*: ``[chunks, b, k, e]``, gb*: ``[chunks, b, e]`` per-chunk partial sums."""
    nb, L, E = x.shape
    K = wt0.shape[0]
    nch = (L + _T_CHUNK - 1) // _T_CHUNK
    for job in prange(nb * nch):  # 1) pre-activation gradients, in place
        bi = job // nch
        t0 = (job % nch) * _T_CHUNK
        acc = np.empty(E, np.float32)
        xb, g0b, g1b = x[bi], g0[bi], g1[bi]
        for t in range(t0, min(t0 + _T_CHUNK, L)):
            _pre(xb, wt0, b0, t, 1, acc)
            for c in range(E):
                sig = _sigmoid(acc[c])
                g0b[t, c] = g0b[t, c] * sig * (_ONE + acc[c] * (_ONE - sig))
            _pre(xb, wt1, b1, t, -1, acc)
            for c in range(E):
                sig = _sigmoid(acc[c])
                g1b[t, c] = g1b[t, c] * sig * (_ONE + acc[c] * (_ONE - sig))
    for job in prange(nb * nch):  # 2) input and weight gradients
        bi = job // nch
        ch = job % nch
        t0 = ch * _T_CHUNK
        xb, g0b, g1b, gxb = x[bi], g0[bi], g1[bi], gx[bi]
        gw0c, gw1c, gb0c, gb1c = gw0[ch, bi], gw1[ch, bi], gb0[ch, bi], gb1[ch, bi]
        for c in range(E):
            gb0c[c] = _ZERO
            gb1c[c] = _ZERO
        for k in range(K):
            for c in range(E):
                gw0c[k, c] = _ZERO
                gw1c[k, c] = _ZERO
        for t in range(t0, min(t0 + _T_CHUNK, L)):
            for c in range(E):
                gxb[t, c] = _ZERO
                gb0c[c] += g0b[t, c]
                gb1c[c] += g1b[t, c]
            for k in range(K):
                # x[t] feeds out_0[t + (K-1) - k] through w_0[k] and out_1[t - (K-1) + k] through w_1[k].
                s0 = t + (K - 1) - k
                if s0 < L:
                    for c in range(E):
                        gxb[t, c] += wt0[k, c] * g0b[s0, c]
                s1 = t - (K - 1) + k
                if s1 >= 0:
                    for c in range(E):
                        gxb[t, c] += wt1[k, c] * g1b[s1, c]
                # w_0[k] multiplies x[t - (K-1) + k] at output t; w_1[k] multiplies x[t + (K-1) - k].
                xs = t - (K - 1) + k
                if xs >= 0:
                    for c in range(E):
                        gw0c[k, c] += g0b[t, c] * xb[xs, c]
                xs = t + (K - 1) - k
                if xs < L:
                    for c in range(E):
                        gw1c[k, c] += g1b[t, c] * xb[xs, c]


class _BiConvFn(torch.autograd.Function):
    """x ``[b, l, e]`` (float32, any column slice of contiguous rows: read in place); wt* ``[k, e]``; b* ``[e]``
    (float32, contiguous) -> (out_0, out_1) ``[b, l, e]``."""

    @staticmethod
    def forward(ctx, x, wt0, b0, wt1, b1):
        out0 = x.new_empty(x.shape)  # [b, l, e]
        out1 = x.new_empty(x.shape)  # [b, l, e]
        xr, xoff = _rows(x)
        _sync_threads()
        _conv_fwd_kernel(xr, xoff, *(_np(t) for t in (wt0, b0, wt1, b1, out0, out1)))
        ctx.save_for_backward(x, wt0, b0, wt1, b1)
        return out0, out1

    @staticmethod
    def backward(ctx, g0, g1):
        x, wt0, b0, wt1, b1 = ctx.saved_tensors
        x = x.contiguous()
        nb, L, E = x.shape
        K = wt0.shape[0]
        nch = (L + _T_CHUNK - 1) // _T_CHUNK
        g0 = torch.zeros_like(x) if g0 is None else g0.float().contiguous().clone()  # [b, l, e], overwritten
        g1 = torch.zeros_like(x) if g1 is None else g1.float().contiguous().clone()  # [b, l, e], overwritten
        gx = torch.empty_like(x)  # [b, l, e]
        gw0, gw1 = x.new_empty(nch, nb, K, E), x.new_empty(nch, nb, K, E)
        gb0, gb1 = x.new_empty(nch, nb, E), x.new_empty(nch, nb, E)
        _sync_threads()
        _conv_bwd_kernel(*(_np(t) for t in (x, wt0, b0, wt1, b1, g0, g1, gx, gw0, gb0, gw1, gb1)))
        return gx, gw0.sum((0, 1)), gb0.sum((0, 1)), gw1.sum((0, 1)), gb1.sum((0, 1))


def bidirectional_conv1d_numba(x, weight_f, bias_f, weight_b, bias_b):
    """x ``[b, l, e]`` (channel-last); weight_* ``[e, k]``; bias_* ``[e]`` -> (x_f, x_b) ``[b, l, e]`` float32:
    ``silu`` of the causal conv with ``weight_f`` and of the anti-causal conv with ``weight_b``."""
    return _BiConvFn.apply(x.float(), weight_f.float().t().contiguous(), bias_f.float(),
                           weight_b.float().t().contiguous(), bias_b.float())
