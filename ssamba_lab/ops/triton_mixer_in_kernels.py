"""Triton kernel of the mixer's input stage in inference: conv + SiLU, x_proj and dt_proj of both directions in one
launch.

Without it, inference ran three launches a layer between ``in_proj`` and the scan (``conv_bidir_fwd_kernel``, the
x_proj ``bmm``, the dt_proj ``bmm``), each a small fraction of a wave at 4 x 512 tokens, where the graphed encoder
is bound by launches and their ramps (benchmarks/ROOFLINE.md, "The seq forward at short inputs"). A program here
owns ``BM`` positions of one sequence and walks the channels in blocks of ``BK``: it computes ``u = silu(conv(x))``
of both directions for its block (from the ``2K - 1`` shifted rows of x around it), writes u (the scan reads it),
and adds ``u @ x_proj^T`` into a ``[BM, CP]`` accumulator per direction; after the last block it writes x_dbl
(rows B | C | dt_in | zero padding, ``scan_triton._bc_first``) and, with ``DT``, ``dt = x_dbl @ W_dt_ext`` in
blocks of ``BN`` channels, where ``W_dt_ext [CP, E]`` is dt_proj's weight transposed at the dt_in rows and zero
elsewhere (the same product as ``x_dbl[:, dt_in] @ W_dt^T``, the zero rows add exact zeros).

Rounding follows the unfused path: u is rounded to its storage dtype before the product, x_dbl to the products'
dtype before dt_proj, each product accumulates in float32 (``IEEE``: float32 operands without TF32, as
``torch.bmm`` with TF32 off).
"""
from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def _conv_silu_tile(xb, t, e, me, sx_l, sx_e, w_ptr, bias_ptr, L, E, D: tl.constexpr, K: tl.constexpr):
    """``silu(pre)`` ``[BM, BK]`` float32 of direction D at positions t ``[BM]``, channels e ``[BK]``: direction 0
    the causal conv ``bias + sum_i w[i] x[t - (K-1) + i]``, direction 1 the anti-causal ``x[t + (K-1) - i]``
    (as ``conv_bidir_fwd_kernel``; x is zero outside [0, L))."""
    pre = tl.zeros([t.shape[0], e.shape[0]], dtype=tl.float32) + tl.load(bias_ptr + D * E + e, mask=me,
                                                                         other=0.0)[None, :]
    for i in tl.static_range(K):
        ts = t - (K - 1) + i if D == 0 else t + (K - 1) - i  # [BM]
        xv = tl.load(xb + ts[:, None] * sx_l + e[None, :] * sx_e,
                     mask=((ts >= 0) & (ts < L))[:, None] & me[None, :], other=0.0).to(tl.float32)  # [BM, BK]
        pre += xv * tl.load(w_ptr + D * E * K + e * K + i, mask=me, other=0.0)[None, :]
    return pre * tl.sigmoid(pre)


@triton.jit
def mixer_in_kernel(x_ptr, sx_b, sx_l, sx_e, cw_ptr, cb_ptr, wx_ptr, wdt_ptr, u_ptr, xdbl_ptr, dt_ptr, batch, L, E,
                    C, K: tl.constexpr, CP: tl.constexpr, BM: tl.constexpr, BK: tl.constexpr, BN: tl.constexpr,
                    ONLY: tl.constexpr, DT: tl.constexpr, IEEE: tl.constexpr):
    """Grid ``(cdiv(L, BM), batch)``. x ``[b, E, L]`` by its strides; conv weight ``cw [2, E, K]``, bias ``cb
    [2, E]`` float32; ``wx [2, E, CP]`` (x_proj's weight transposed, zero columns from C to CP) and ``wdt [2, CP,
    E]`` in the products' dtype. Out, contiguous, with a leading direction axis of 2 (of 1 when ``ONLY`` is 0 or
    1: that direction alone): u ``[., b, L, E]`` in its own dtype, x_dbl ``[., b * L, C]`` and (``DT``) dt ``[.,
    b * L, E]`` in the products' dtype."""
    pid_m = tl.program_id(0)
    b = tl.program_id(1).to(tl.int64)
    t = pid_m * BM + tl.arange(0, BM)  # [BM] positions
    mt = t < L
    c = tl.arange(0, CP)  # [CP] x_dbl columns
    xb = x_ptr + b * sx_b
    out_dir1 = 0 if ONLY == 1 else 1  # direction 1's index in the outputs
    acc0 = tl.zeros([BM, CP], dtype=tl.float32)
    acc1 = tl.zeros([BM, CP], dtype=tl.float32)
    for k0 in range(0, E, BK):
        e = k0 + tl.arange(0, BK)  # [BK] channels
        me = e < E
        m2 = mt[:, None] & me[None, :]  # [BM, BK]
        offs_u = (b * L + t[:, None]) * E + e[None, :]  # [BM, BK] in a direction's [b, L, E]
        if ONLY != 1:
            u0 = _conv_silu_tile(xb, t, e, me, sx_l, sx_e, cw_ptr, cb_ptr, L, E, 0, K).to(u_ptr.dtype.element_ty)
            tl.store(u_ptr + offs_u, u0, mask=m2)
            w0 = tl.load(wx_ptr + e[:, None] * CP + c[None, :], mask=me[:, None], other=0.0)  # [BK, CP]
            if IEEE:
                acc0 = tl.dot(u0.to(w0.dtype), w0, acc0, input_precision="ieee")
            else:
                acc0 = tl.dot(u0.to(w0.dtype), w0, acc0)
        if ONLY != 0:
            u1 = _conv_silu_tile(xb, t, e, me, sx_l, sx_e, cw_ptr, cb_ptr, L, E, 1, K).to(u_ptr.dtype.element_ty)
            tl.store(u_ptr + out_dir1 * batch * L * E + offs_u, u1, mask=m2)
            w1 = tl.load(wx_ptr + E * CP + e[:, None] * CP + c[None, :], mask=me[:, None], other=0.0)  # [BK, CP]
            if IEEE:
                acc1 = tl.dot(u1.to(w1.dtype), w1, acc1, input_precision="ieee")
            else:
                acc1 = tl.dot(u1.to(w1.dtype), w1, acc1)
    rows = b * L + t  # [BM] token rows of x_dbl and dt
    mc = mt[:, None] & (c < C)[None, :]  # [BM, CP]
    for d in tl.static_range(2):
        if ONLY == -1 or ONLY == d:
            o = 0 if ONLY == d else d  # output index of direction d
            if d == 0:
                xd = acc0.to(xdbl_ptr.dtype.element_ty)  # [BM, CP] rounded as the bmm's output
            else:
                xd = acc1.to(xdbl_ptr.dtype.element_ty)
            tl.store(xdbl_ptr + o * batch * L * C + rows[:, None] * C + c[None, :], xd, mask=mc)
            if DT:
                for n0 in range(0, E, BN):
                    en = n0 + tl.arange(0, BN)  # [BN] channels
                    men = en < E
                    wd = tl.load(wdt_ptr + d * CP * E + c[:, None] * E + en[None, :], mask=men[None, :],
                                 other=0.0)  # [CP, BN]
                    if IEEE:
                        dt = tl.dot(xd, wd, input_precision="ieee")  # [BM, BN]
                    else:
                        dt = tl.dot(xd, wd)
                    tl.store(dt_ptr + o * batch * L * E + rows[:, None] * E + en[None, :],
                             dt.to(dt_ptr.dtype.element_ty), mask=mt[:, None] & men[None, :])
