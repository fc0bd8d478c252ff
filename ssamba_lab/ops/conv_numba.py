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

from .scan_numba import _FM, _ONE, _ZERO, _np, _sigmoid, _sync_threads

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


@njit(parallel=True, fastmath=_FM, cache=True)
def _conv_fwd_kernel(x, wt0, b0, wt1, b1, out0, out1):
    """x, out*: ``[b, l, e]``; wt*: ``[k, e]``; b*: ``[e]``.

    Accumulates straight into the output rows and applies SiLU in place: 1.7-1.9x faster than accumulating into
    a scratch row through ``_pre`` (ssamba-tiny size, 1 and 2 threads, bit-identical).
    """
    nb, L, E = x.shape
    K = wt0.shape[0]
    nch = (L + _T_CHUNK - 1) // _T_CHUNK
    for job in prange(nb * nch):
        bi = job // nch
        t0 = (job % nch) * _T_CHUNK
        xb, o0, o1 = x[bi], out0[bi], out1[bi]
        for t in range(t0, min(t0 + _T_CHUNK, L)):
            for c in range(E):
                o0[t, c] = b0[c]
                o1[t, c] = b1[c]
            for k in range(K):  # same tap order as _pre, so the sums round identically
                s = t + k - (K - 1)  # causal
                if s >= 0:
                    for c in range(E):
                        o0[t, c] += wt0[k, c] * xb[s, c]
                s = t - k + (K - 1)  # anti-causal
                if s < L:
                    for c in range(E):
                        o1[t, c] += wt1[k, c] * xb[s, c]
            for c in range(E):
                v = o0[t, c]
                o0[t, c] = v * _sigmoid(v)
                v = o1[t, c]
                o1[t, c] = v * _sigmoid(v)


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
    """x ``[b, l, e]``; wt* ``[k, e]``; b* ``[e]`` (all float32, contiguous) -> (out_0, out_1) ``[b, l, e]``."""

    @staticmethod
    def forward(ctx, x, wt0, b0, wt1, b1):
        out0, out1 = torch.empty_like(x), torch.empty_like(x)  # [b, l, e] each
        _sync_threads()
        _conv_fwd_kernel(*(_np(t) for t in (x, wt0, b0, wt1, b1, out0, out1)))
        ctx.save_for_backward(x, wt0, b0, wt1, b1)
        return out0, out1

    @staticmethod
    def backward(ctx, g0, g1):
        x, wt0, b0, wt1, b1 = ctx.saved_tensors
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
    return _BiConvFn.apply(x.float().contiguous(), weight_f.float().t().contiguous(), bias_f.float(),
                           weight_b.float().t().contiguous(), bias_b.float())
