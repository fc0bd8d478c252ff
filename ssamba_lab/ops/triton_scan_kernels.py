"""Triton kernels of the fused (bidirectional) selective scan: forward and backward.

One program owns ``(batch b, channel block of BE)`` and walks the sequence in chunks of ``T`` steps. Inside a chunk
the recurrence ``h_t = a_t h_{t-1} + b_t`` (``a = exp(dt A)``, ``b = dt u B``) is one ``tl.associative_scan`` over
a ``[T, BE, NP]`` register tile; the state entering the chunk is folded into its first element, so no separate
carry product is needed. The backward direction scans the same natural-order inputs right-to-left
(``reverse=True``): there are no flipped copies.

Bidirectional forward: phase 0 scans direction 0 left-to-right and writes its raw ``y`` into ``out`` (the output
dtype, the precision of the unfused path that adds two outputs); phase 1 scans direction 1 right-to-left, reads that
back and writes ``(y_f + y_b) / 2 * silu(z)``. Layout of every ``[dir, b, l, e]`` operand is free (strides are
arguments); ``[dir, b, l, e]`` with ``e`` contiguous is what the fused mixer feeds.

Backward: per direction, chunks in adjoint order (opposite to the scan order), ``h`` recomputed from the chunk
states the forward stored, the adjoint ``lam_t = gy_t C_t + a_next lam_next`` as a second scan. ``dlog a = lam (h -
b)`` needs no shift; ``a_next`` is recomputed from a shifted load of ``dt``. ``dB``, ``dC`` (sums over channels) are
reduced over the block and added atomically; ``dA``, ``dD``, ``d(delta_bias)`` once per program.
"""
from __future__ import annotations

import triton
import triton.language as tl

LOG2E = 1.4426950408889634


@triton.jit
def _softplus(x):
    """log(1 + exp(x)) without overflow, and without losing small values (Goldberg's log1p)."""
    ex = tl.exp(-tl.abs(x))
    w = 1.0 + ex
    l1p = tl.where(w == 1.0, ex, tl.log(w) * ex / (w - 1.0))
    return tl.maximum(x, 0.0) + l1p


@triton.jit
def _combine(a1, b1, a2, b2):
    # (a1, b1) applied first, then (a2, b2): h -> a2 (a1 h + b1) + b2
    return a1 * a2, b1 * a2 + b2


@triton.jit
def _load_dt(dt_ptr, t, offs_e, sdt_l, sdt_e, mask, bias, SOFTPLUS: tl.constexpr):
    """[T, BE] float32 delta (bias added, softplus'd), 0 where masked; also returns the pre-activation."""
    pre = tl.load(dt_ptr + t[:, None] * sdt_l + offs_e[None, :] * sdt_e, mask=mask, other=0.0).to(tl.float32)
    pre = pre + bias[None, :]  # [T, BE]
    dt = _softplus(pre) if SOFTPLUS else pre
    return tl.where(mask, dt, 0.0), pre


@triton.jit
def _load_chunk(c, tt, u_ptr, dt_ptr, B_ptr, C_ptr, z_ptr, o_ptr, su_l, su_e, sdt_l, sdt_e, sB_l, sB_n, sC_l, sC_n,
                sz_l, sz_e, so_l, so_e, offs_e, mask_e, offs_n, mask_n, L,
                LOAD_Z: tl.constexpr, LOAD_PREV: tl.constexpr):
    """Raw (storage-dtype) tiles of chunk c: u, dt [T, BE]; B, C [T, NP]; z, previous out [T, BE] (or u when not
    asked for). A chunk outside [0, L) loads nothing (all masked)."""
    t = c * tt.shape[0] + tt  # [T]
    mask_t = (t >= 0) & (t < L)
    m2 = mask_t[:, None] & mask_e[None, :]  # [T, BE]
    mtn = mask_t[:, None] & mask_n[None, :]  # [T, NP]
    u = tl.load(u_ptr + t[:, None] * su_l + offs_e[None, :] * su_e, mask=m2, other=0.0)
    dtr = tl.load(dt_ptr + t[:, None] * sdt_l + offs_e[None, :] * sdt_e, mask=m2, other=0.0)
    Bt = tl.load(B_ptr + t[:, None] * sB_l + offs_n[None, :] * sB_n, mask=mtn, other=0.0)
    Ct = tl.load(C_ptr + t[:, None] * sC_l + offs_n[None, :] * sC_n, mask=mtn, other=0.0)
    zv = u
    prev = u
    if LOAD_Z:
        zv = tl.load(z_ptr + t[:, None] * sz_l + offs_e[None, :] * sz_e, mask=m2, other=0.0)
    if LOAD_PREV:
        prev = tl.load(o_ptr + t[:, None] * so_l + offs_e[None, :] * so_e, mask=m2, other=0.0)
    return u, dtr, Bt, Ct, zv, prev


@triton.jit
def _fwd_direction(u_ptr, dt_ptr, B_ptr, C_ptr, su_l, su_e, sdt_l, sdt_e, sB_l, sB_n, sC_l, sC_n,
                   A2, Dv, bias, z_ptr, sz_l, sz_e, o_ptr, so_l, so_e, st_ptr,
                   offs_e, mask_e, offs_n, mask_n, L, E, N, nchunks,
                   T: tl.constexpr, REVERSE: tl.constexpr, PHASE: tl.constexpr, BIDIR: tl.constexpr,
                   HAS_D: tl.constexpr, HAS_Z: tl.constexpr, SOFTPLUS: tl.constexpr, STORE_STATES: tl.constexpr):
    """Scan one direction over the whole sequence; see the module docstring for the phases. The next chunk's
    tiles are loaded before the current chunk is computed, so their memory latency overlaps the scan."""
    BE: tl.constexpr = A2.shape[0]
    NP: tl.constexpr = A2.shape[1]
    FINAL: tl.constexpr = (not BIDIR) or PHASE == 1  # this phase writes the gated output
    LOAD_Z: tl.constexpr = HAS_Z and FINAL
    LOAD_PREV: tl.constexpr = BIDIR and PHASE == 1
    tt = tl.arange(0, T)  # [T]
    h = tl.zeros([BE, NP], dtype=tl.float32)  # state entering the chunk, in scan order
    first = (tt == T - 1) if REVERSE else (tt == 0)  # [T] where the carried state enters
    last = (tt == 0) if REVERSE else (tt == T - 1)  # [T] where the chunk's final state sits
    mask_en = mask_e[:, None] & mask_n[None, :]  # [BE, NP]
    c0 = nchunks - 1 if REVERSE else 0
    u_n, dtr_n, B_n, C_n, z_n, p_n = _load_chunk(
        c0, tt, u_ptr, dt_ptr, B_ptr, C_ptr, z_ptr, o_ptr, su_l, su_e, sdt_l, sdt_e, sB_l, sB_n, sC_l, sC_n,
        sz_l, sz_e, so_l, so_e, offs_e, mask_e, offs_n, mask_n, L, LOAD_Z, LOAD_PREV)
    for i in range(nchunks):
        if REVERSE:
            c = nchunks - 1 - i
        else:
            c = i
        u_r, dtr_r, B_r, C_r, z_r, p_r = u_n, dtr_n, B_n, C_n, z_n, p_n
        u_n, dtr_n, B_n, C_n, z_n, p_n = _load_chunk(  # prefetch (masked off past either end)
            c - 1 if REVERSE else c + 1, tt, u_ptr, dt_ptr, B_ptr, C_ptr, z_ptr, o_ptr, su_l, su_e, sdt_l, sdt_e,
            sB_l, sB_n, sC_l, sC_n, sz_l, sz_e, so_l, so_e, offs_e, mask_e, offs_n, mask_n, L, LOAD_Z, LOAD_PREV)
        t = c * T + tt  # [T]
        m2 = (t < L)[:, None] & mask_e[None, :]  # [T, BE]
        if STORE_STATES:
            tl.store(st_ptr + c * E * N + offs_e[:, None] * N + offs_n[None, :], h, mask=mask_en)
        u = u_r.to(tl.float32)  # [T, BE]
        pre = dtr_r.to(tl.float32) + bias[None, :]  # [T, BE]
        dt = tl.where(m2, _softplus(pre) if SOFTPLUS else pre, 0.0)  # [T, BE]
        Bt = B_r.to(tl.float32)  # [T, NP]
        Ct = C_r.to(tl.float32)  # [T, NP]
        dA = tl.exp2(dt[:, :, None] * A2[None, :, :])  # [T, BE, NP]
        dBu = (dt * u)[:, :, None] * Bt[:, None, :]  # [T, BE, NP]
        dBu = dBu + tl.where(first[:, None, None], dA * h[None, :, :], 0.0)  # fold the carried state in
        _, hs = tl.associative_scan((dA, dBu), 0, _combine, reverse=REVERSE)  # [T, BE, NP]
        y = tl.sum(hs * Ct[:, None, :], axis=2)  # [T, BE]
        if HAS_D:
            y = y + Dv[None, :] * u
        h = tl.sum(tl.where(last[:, None, None], hs, 0.0), axis=0)  # [BE, NP]
        optrs = o_ptr + t[:, None] * so_l + offs_e[None, :] * so_e  # [T, BE]
        if BIDIR and PHASE == 1:
            y = (p_r.to(tl.float32) + y) * 0.5
        if LOAD_Z:
            zv = z_r.to(tl.float32)
            y = y * zv * tl.sigmoid(zv)
        tl.store(optrs, y.to(o_ptr.dtype.element_ty), mask=m2)


@triton.jit
def scan_fwd_kernel(u0_ptr, u1_ptr, su_b, su_l, su_e, dt0_ptr, dt1_ptr, sdt_b, sdt_l, sdt_e,
                    B0_ptr, B1_ptr, sB_b, sB_l, sB_n, C0_ptr, C1_ptr, sC_b, sC_l, sC_n,
                    A_ptr, D_ptr, bias_ptr, z_ptr, sz_b, sz_l, sz_e, o_ptr, so_b, so_l, so_e, st_ptr,
                    batch, L, E, N, nchunks,
                    BE: tl.constexpr, NP: tl.constexpr, T: tl.constexpr, BIDIR: tl.constexpr, HAS_D: tl.constexpr,
                    HAS_Z: tl.constexpr, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr,
                    STORE_STATES: tl.constexpr):
    """Grid ``(cdiv(E, BE), batch)``. ``*0_ptr`` / ``*1_ptr``: the two directions' tensors (same strides). A, D, bias:
    ``[ndir, E(, N)]`` contiguous; states ``[ndir, batch, nchunks, E, N]``."""
    pid_e = tl.program_id(0)
    b = tl.program_id(1).to(tl.int64)
    offs_e = pid_e * BE + tl.arange(0, BE)  # [BE]
    offs_n = tl.arange(0, NP)  # [NP]
    mask_e = offs_e < E
    mask_n = offs_n < N
    mask_en = mask_e[:, None] & mask_n[None, :]
    z_b = z_ptr + b * sz_b
    o_b = o_ptr + b * so_b
    for d in tl.static_range(2 if BIDIR else 1):
        A2 = tl.load(A_ptr + d * E * N + offs_e[:, None] * N + offs_n[None, :], mask=mask_en, other=0.0) * 1.4426950408889634
        Dv = tl.load(D_ptr + d * E + offs_e, mask=mask_e, other=0.0) if HAS_D else tl.zeros([BE], dtype=tl.float32)
        bias = tl.load(bias_ptr + d * E + offs_e, mask=mask_e, other=0.0) if HAS_BIAS else tl.zeros([BE], dtype=tl.float32)
        if d == 1:
            tl.debug_barrier()  # phase 0's writes to `out` must be visible to every thread of this program
        if d == 0:
            u_ptr, dt_ptr, B_ptr, C_ptr = u0_ptr, dt0_ptr, B0_ptr, C0_ptr
        else:
            u_ptr, dt_ptr, B_ptr, C_ptr = u1_ptr, dt1_ptr, B1_ptr, C1_ptr
        _fwd_direction(u_ptr + b * su_b, dt_ptr + b * sdt_b, B_ptr + b * sB_b, C_ptr + b * sC_b, su_l, su_e, sdt_l, sdt_e, sB_l, sB_n, sC_l, sC_n,
                       A2, Dv, bias.to(tl.float32), z_b, sz_l, sz_e, o_b, so_l, so_e,
                       st_ptr + (d * batch + b) * nchunks * E * N,
                       offs_e, mask_e, offs_n, mask_n, L, E, N, nchunks,
                       T, d == 1, d, BIDIR, HAS_D, HAS_Z, SOFTPLUS, STORE_STATES)


@triton.jit
def _bwd_direction(u_ptr, dt_ptr, B_ptr, C_ptr, su_l, su_e, sdt_l, sdt_e, sB_l, sB_n, sC_l, sC_n,
                   A, Dv, bias, z_ptr, sz_l, sz_e, g_ptr, sg_l, sg_e, st_ptr,
                   gu_ptr, sgu_l, sgu_e, gdt_ptr, sgdt_l, sgdt_e, gB_ptr, gC_ptr, sgbc_l, gz_ptr, sgz_l, sgz_e,
                   offs_e, mask_e, offs_n, mask_n, L, E, N, nchunks,
                   T: tl.constexpr, REVERSE: tl.constexpr, PHASE: tl.constexpr, BIDIR: tl.constexpr,
                   HAS_D: tl.constexpr, HAS_Z: tl.constexpr, SOFTPLUS: tl.constexpr):
    """Gradients of one direction; returns the per-program partial sums (gA [BE, NP], gD [BE], gbias [BE])."""
    BE: tl.constexpr = A.shape[0]
    NP: tl.constexpr = A.shape[1]
    A2 = A * 1.4426950408889634
    tt = tl.arange(0, T)
    first = (tt == T - 1) if REVERSE else (tt == 0)  # [T] where the scan's carried state enters
    lfirst = (tt == 0) if REVERSE else (tt == T - 1)  # [T] where the adjoint's carry enters
    llast = (tt == T - 1) if REVERSE else (tt == 0)  # [T] where the adjoint leaves the chunk
    mask_en = mask_e[:, None] & mask_n[None, :]
    lam = tl.zeros([BE, NP], dtype=tl.float32)  # adjoint entering the chunk (adjoint order)
    gA = tl.zeros([BE, NP], dtype=tl.float32)
    gD = tl.zeros([BE], dtype=tl.float32)
    gbias = tl.zeros([BE], dtype=tl.float32)
    gscale = 0.5 if BIDIR else 1.0
    for i in range(nchunks):
        if REVERSE:
            c = i
        else:
            c = nchunks - 1 - i
        t = c * T + tt  # [T]
        mask_t = t < L
        m2 = mask_t[:, None] & mask_e[None, :]  # [T, BE]
        mtn = mask_t[:, None] & mask_n[None, :]  # [T, NP]
        h0 = tl.load(st_ptr + c * E * N + offs_e[:, None] * N + offs_n[None, :], mask=mask_en, other=0.0)  # [BE, NP]
        u = tl.load(u_ptr + t[:, None] * su_l + offs_e[None, :] * su_e, mask=m2, other=0.0).to(tl.float32)  # [T, BE]
        dt, pre = _load_dt(dt_ptr, t, offs_e, sdt_l, sdt_e, m2, bias, SOFTPLUS)  # [T, BE]
        Bt = tl.load(B_ptr + t[:, None] * sB_l + offs_n[None, :] * sB_n, mask=mtn, other=0.0).to(tl.float32)  # [T, NP]
        Ct = tl.load(C_ptr + t[:, None] * sC_l + offs_n[None, :] * sC_n, mask=mtn, other=0.0).to(tl.float32)  # [T, NP]
        go = tl.load(g_ptr + t[:, None] * sg_l + offs_e[None, :] * sg_e, mask=m2, other=0.0).to(tl.float32)  # [T, BE]
        # recompute the states of this chunk
        dA = tl.exp2(dt[:, :, None] * A2[None, :, :])  # [T, BE, NP]
        dBu = (dt * u)[:, :, None] * Bt[:, None, :]  # [T, BE, NP]
        _, hs = tl.associative_scan((dA, dBu + tl.where(first[:, None, None], dA * h0[None, :, :], 0.0)), 0, _combine,
                                    reverse=REVERSE)  # [T, BE, NP]
        y = tl.sum(hs * Ct[:, None, :], axis=2)  # [T, BE]
        if HAS_D:
            y = y + Dv[None, :] * u
        if HAS_Z:
            zv = tl.load(z_ptr + t[:, None] * sz_l + offs_e[None, :] * sz_e, mask=m2, other=0.0).to(tl.float32)
            sz = tl.sigmoid(zv)
            gy = go * zv * sz * gscale  # [T, BE]
        else:
            gy = go * gscale
        # decay of the next step in scan order (0 past either end)
        tn = t - 1 if REVERSE else t + 1
        mn = (tn >= 0) & (tn < L)
        mn2 = mn[:, None] & mask_e[None, :]
        dtn, _ = _load_dt(dt_ptr, tn, offs_e, sdt_l, sdt_e, mn2, bias, SOFTPLUS)  # [T, BE]
        an = tl.where(mn2[:, :, None], tl.exp2(dtn[:, :, None] * A2[None, :, :]), 0.0)  # [T, BE, NP]
        bl = gy[:, :, None] * Ct[:, None, :]  # [T, BE, NP]
        bl = bl + tl.where(lfirst[:, None, None], an * lam[None, :, :], 0.0)
        _, lams = tl.associative_scan((an, bl), 0, _combine, reverse=not REVERSE)  # [T, BE, NP]
        lam = tl.sum(tl.where(llast[:, None, None], lams, 0.0), axis=0)  # [BE, NP]
        g_log = lams * (hs - dBu)  # [T, BE, NP]  d/d(dt A)
        gA += tl.sum(g_log * dt[:, :, None], axis=0)
        lamB = tl.sum(lams * Bt[:, None, :], axis=2)  # [T, BE]
        gdt = lamB * u + tl.sum(g_log * A[None, :, :], axis=2)  # [T, BE]
        gu = lamB * dt
        if HAS_D:
            gu = gu + gy * Dv[None, :]
            gD += tl.sum(gy * u, axis=0)
        if SOFTPLUS:
            gdt = gdt * tl.sigmoid(pre)
        gdt = tl.where(m2, gdt, 0.0)
        gbias += tl.sum(gdt, axis=0)
        tl.store(gu_ptr + t[:, None] * sgu_l + offs_e[None, :] * sgu_e, gu.to(gu_ptr.dtype.element_ty), mask=m2)
        tl.store(gdt_ptr + t[:, None] * sgdt_l + offs_e[None, :] * sgdt_e, gdt.to(gdt_ptr.dtype.element_ty), mask=m2)
        gBt = tl.sum(lams * (dt * u)[:, :, None], axis=1)  # [T, NP]
        gCt = tl.sum(hs * gy[:, :, None], axis=1)  # [T, NP]
        tl.atomic_add(gB_ptr + t[:, None] * sgbc_l + offs_n[None, :], gBt, mask=mtn)
        tl.atomic_add(gC_ptr + t[:, None] * sgbc_l + offs_n[None, :], gCt, mask=mtn)
        if HAS_Z:
            gzptrs = gz_ptr + t[:, None] * sgz_l + offs_e[None, :] * sgz_e
            if BIDIR and PHASE == 0:
                tl.store(gzptrs, y.to(gz_ptr.dtype.element_ty), mask=m2)  # scratch: phase 1 adds y_b
            else:
                if BIDIR:
                    y = (tl.load(gzptrs, mask=m2, other=0.0).to(tl.float32) + y) * 0.5
                gz = go * y * sz * (1.0 + zv * (1.0 - sz))
                tl.store(gzptrs, gz.to(gz_ptr.dtype.element_ty), mask=m2)
    return gA, gD, gbias


@triton.jit
def scan_bwd_kernel(u0_ptr, u1_ptr, su_b, su_l, su_e, dt0_ptr, dt1_ptr, sdt_b, sdt_l, sdt_e,
                    B0_ptr, B1_ptr, sB_b, sB_l, sB_n, C0_ptr, C1_ptr, sC_b, sC_l, sC_n,
                    A_ptr, D_ptr, bias_ptr, z_ptr, sz_b, sz_l, sz_e, g_ptr, sg_b, sg_l, sg_e, st_ptr,
                    gu_ptr, sgu_d, sgu_b, sgu_l, sgu_e, gdt_ptr, sgdt_d, sgdt_b, sgdt_l, sgdt_e,
                    gB_ptr, gC_ptr, gz_ptr, sgz_b, sgz_l, sgz_e, gA_ptr, gD_ptr, gbias_ptr,
                    batch, L, E, N, nchunks,
                    BE: tl.constexpr, NP: tl.constexpr, T: tl.constexpr, BIDIR: tl.constexpr, HAS_D: tl.constexpr,
                    HAS_Z: tl.constexpr, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr):
    """Grid ``(cdiv(E, BE), batch)``. gB, gC: float32 ``[ndir, batch, L, N]`` zeroed; gA ``[ndir, E, N]``, gD, gbias
    ``[ndir, E]`` float32 zeroed (atomic sums over the batch)."""
    pid_e = tl.program_id(0)
    b = tl.program_id(1).to(tl.int64)
    offs_e = pid_e * BE + tl.arange(0, BE)
    offs_n = tl.arange(0, NP)
    mask_e = offs_e < E
    mask_n = offs_n < N
    mask_en = mask_e[:, None] & mask_n[None, :]
    for d in tl.static_range(2 if BIDIR else 1):
        A = tl.load(A_ptr + d * E * N + offs_e[:, None] * N + offs_n[None, :], mask=mask_en, other=0.0)
        Dv = tl.load(D_ptr + d * E + offs_e, mask=mask_e, other=0.0) if HAS_D else tl.zeros([BE], dtype=tl.float32)
        bias = tl.load(bias_ptr + d * E + offs_e, mask=mask_e, other=0.0) if HAS_BIAS else tl.zeros([BE], dtype=tl.float32)
        if d == 1:
            tl.debug_barrier()  # phase 0's y (kept in gz) must be visible to every thread
        if d == 0:
            u_ptr, dt_ptr, B_ptr, C_ptr = u0_ptr, dt0_ptr, B0_ptr, C0_ptr
        else:
            u_ptr, dt_ptr, B_ptr, C_ptr = u1_ptr, dt1_ptr, B1_ptr, C1_ptr
        gA, gD, gbias = _bwd_direction(
            u_ptr + b * su_b, dt_ptr + b * sdt_b, B_ptr + b * sB_b, C_ptr + b * sC_b, su_l, su_e, sdt_l, sdt_e, sB_l, sB_n, sC_l, sC_n,
            A, Dv, bias.to(tl.float32), z_ptr + b * sz_b, sz_l, sz_e, g_ptr + b * sg_b, sg_l, sg_e,
            st_ptr + (d * batch + b) * nchunks * E * N,
            gu_ptr + d * sgu_d + b * sgu_b, sgu_l, sgu_e, gdt_ptr + d * sgdt_d + b * sgdt_b, sgdt_l, sgdt_e,
            gB_ptr + (d * batch + b) * L * N, gC_ptr + (d * batch + b) * L * N, N,
            gz_ptr + b * sgz_b, sgz_l, sgz_e,
            offs_e, mask_e, offs_n, mask_n, L, E, N, nchunks,
            T, d == 1, d, BIDIR, HAS_D, HAS_Z, SOFTPLUS)
        tl.atomic_add(gA_ptr + d * E * N + offs_e[:, None] * N + offs_n[None, :], gA, mask=mask_en)
        if HAS_D:
            tl.atomic_add(gD_ptr + d * E + offs_e, gD, mask=mask_e)
        if HAS_BIAS:
            tl.atomic_add(gbias_ptr + d * E + offs_e, gbias, mask=mask_e)
