"""Triton kernels of the residual add + LayerNorm between two Mamba blocks (``add_norm.py`` launches them).

Why: unfused, every block boundary is an add kernel (the fp32 residual stream plus the mixer's bf16 output),
a LayerNorm kernel and, in training, stochastic depth's mask multiply, the LayerNorm backward's two kernels (input
gradient, then ``GammaBetaBackward`` for the weight) and the add of the two gradients reaching the residual. At
4 x 512 tokens those are ~50 of a step's 242 launches (benchmarks/results/gpu_issue8_h200_r18); at 64 x 512
``GammaBetaBackward`` alone was 2.9 ms of a 93 ms training step (results/gpu_seq_bwd_h200_r9). Here a row of
``D`` features is one program's ``[BLOCK_D]`` vector: the forward reads the residual and the branch once and
writes the new residual and the normalised row; the backward reads the row's gradients once and writes the
residual's gradient (which is also the branch's), with per-program partial sums for the weight and bias.

Per row, with ``r = residual + s x`` (``s``: the sample's stochastic-depth scale, else 1), ``xhat = (r - mean(r))
* rstd``, ``rstd = 1 / sqrt(var(r) + eps)`` and ``y = xhat w + b``::

    dr = rstd (w dy - mean(w dy) - xhat mean(xhat w dy)) + d(r)_next     dx = s dr
    dw = sum over rows of dy xhat                                        db = sum over rows of dy
"""
from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def add_norm_fwd_kernel(x_ptr, res_ptr, scale_ptr, w_ptr, b_ptr, out_ptr, res_out_ptr, mean_ptr, rstd_ptr,
                        M, D, rows_per_sample, eps,
                        ROWS: tl.constexpr, BLOCK_D: tl.constexpr, HAS_X: tl.constexpr, HAS_SCALE: tl.constexpr,
                        HAS_BIAS: tl.constexpr, STORE_STATS: tl.constexpr):
    """Grid ``(cdiv(M, ROWS),)``. x (optional, the branch), res: ``[M, D]`` contiguous; scale ``[M /
    rows_per_sample]`` float32 (optional); w, b ``[D]``; out ``[M, D]`` (the normalised rows, in out's dtype);
    res_out ``[M, D]`` (``res + scale x``, written only with x); mean, rstd ``[M]`` float32 (with STORE_STATS)."""
    rows = tl.program_id(0) * ROWS + tl.arange(0, ROWS)  # [R]
    cols = tl.arange(0, BLOCK_D)  # [BD]
    rmask = rows < M
    cmask = cols < D
    m2 = rmask[:, None] & cmask[None, :]  # [R, BD]
    offs = rows.to(tl.int64)[:, None] * D + cols[None, :]  # [R, BD]
    r = tl.load(res_ptr + offs, mask=m2, other=0.0).to(tl.float32)  # [R, BD]
    if HAS_X:
        xv = tl.load(x_ptr + offs, mask=m2, other=0.0).to(tl.float32)  # [R, BD]
        if HAS_SCALE:
            s = tl.load(scale_ptr + rows // rows_per_sample, mask=rmask, other=0.0)  # [R]
            xv = xv * s[:, None]
        r = (r + xv).to(res_out_ptr.dtype.element_ty)  # the stored residual is what gets normalised
        tl.store(res_out_ptr + offs, r, mask=m2)
        r = r.to(tl.float32)
    mean = tl.sum(r, axis=1) / D  # [R]
    xc = tl.where(m2, r - mean[:, None], 0.0)  # [R, BD]
    var = tl.sum(xc * xc, axis=1) / D  # [R] biased, as nn.LayerNorm
    rstd = 1.0 / tl.sqrt_rn(var + eps)  # [R]
    w = tl.load(w_ptr + cols, mask=cmask, other=0.0).to(tl.float32)  # [BD]
    y = xc * rstd[:, None] * w[None, :]  # [R, BD]
    if HAS_BIAS:
        y = y + tl.load(b_ptr + cols, mask=cmask, other=0.0).to(tl.float32)[None, :]
    tl.store(out_ptr + offs, y.to(out_ptr.dtype.element_ty), mask=m2)
    if STORE_STATS:
        tl.store(mean_ptr + rows, mean, mask=rmask)
        tl.store(rstd_ptr + rows, rstd, mask=rmask)


@triton.jit
def add_norm_bwd_kernel(dy_ptr, dres_out_ptr, res_ptr, w_ptr, mean_ptr, rstd_ptr, scale_ptr,
                        dres_ptr, dx_ptr, dw_ptr, db_ptr, M, D, rows_per_sample, rows_per_prog,
                        BLOCK_D: tl.constexpr, HAS_DRES: tl.constexpr, HAS_SCALE: tl.constexpr,
                        WRITE_DX: tl.constexpr, HAS_BIAS: tl.constexpr):
    """Grid ``(cdiv(M, rows_per_prog),)``; a program walks ``rows_per_prog`` consecutive rows.

    dy ``[M, D]``: the normalised rows' gradient; dres_out ``[M, D]`` (optional): the new residual's gradient from
    later layers; res ``[M, D]``: the normalised input (the new residual); mean, rstd ``[M]`` float32; scale as in
    the forward. Outputs: dres ``[M, D]`` (the old residual's gradient), dx ``[M, D]`` (the branch's, with
    WRITE_DX: another dtype or a scale; else the caller uses dres), dw, db ``[programs, BLOCK_D]`` float32 partial
    sums (the caller sums over programs)."""
    pid = tl.program_id(0)
    cols = tl.arange(0, BLOCK_D)  # [BD]
    cmask = cols < D
    w = tl.load(w_ptr + cols, mask=cmask, other=0.0).to(tl.float32)  # [BD]
    dw = tl.zeros([BLOCK_D], dtype=tl.float32)
    db = tl.zeros([BLOCK_D], dtype=tl.float32)
    for i in range(rows_per_prog):
        row = pid * rows_per_prog + i
        ok = row < M
        m = cmask & ok  # [BD]
        off = row.to(tl.int64) * D + cols  # [BD]
        mean = tl.load(mean_ptr + row, mask=ok, other=0.0)
        rstd = tl.load(rstd_ptr + row, mask=ok, other=0.0)
        r = tl.load(res_ptr + off, mask=m, other=0.0).to(tl.float32)  # [BD]
        xhat = tl.where(m, (r - mean) * rstd, 0.0)  # [BD]
        dy = tl.load(dy_ptr + off, mask=m, other=0.0).to(tl.float32)  # [BD]
        wdy = w * dy  # [BD]
        c1 = tl.sum(xhat * wdy, axis=0) / D
        c2 = tl.sum(wdy, axis=0) / D
        dr = (wdy - (xhat * c1 + c2)) * rstd  # [BD]
        if HAS_DRES:
            dr = dr + tl.load(dres_out_ptr + off, mask=m, other=0.0).to(tl.float32)
        tl.store(dres_ptr + off, dr.to(dres_ptr.dtype.element_ty), mask=m)
        if WRITE_DX:
            dx = dr
            if HAS_SCALE:
                dx = dr * tl.load(scale_ptr + row // rows_per_sample, mask=ok, other=0.0)
            tl.store(dx_ptr + off, dx.to(dx_ptr.dtype.element_ty), mask=m)
        dw += dy * xhat
        if HAS_BIAS:
            db += dy
    tl.store(dw_ptr + pid * BLOCK_D + cols, dw)
    if HAS_BIAS:
        tl.store(db_ptr + pid * BLOCK_D + cols, db)
