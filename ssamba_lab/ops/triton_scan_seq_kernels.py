"""Triton forward of the selective scan with the state in registers: one thread per channel, one step at a time.

Why a second forward: the chunked kernel (``triton_scan_kernels.py``) runs an ``associative_scan`` over a
``[T, BE, NP]`` tile whose layout spreads the state over lanes and time over warps, so every step costs shuffles,
barriers and layout conversions (~125 instructions per state element, ROOFLINE.md). Here every tensor is a 1-D
``[BE]`` vector, one channel per thread, and the 16 state elements are 16 scalar registers of that thread
(``h0 .. h15``, written out because Triton has no register arrays): a step is 16 x (``exp2``, 2 FMA) plus
broadcast loads of ``B_t``, ``C_t``. No shuffles, no shared memory, no barriers. d_state up to 16 (``NS`` states
are live, the rest are compiled out).

Parallelism comes from (batch, channel) pairs and, for long inputs with a small batch, from splitting the sequence
into ``nseg`` segments (sequence-parallel, two passes):

- pass 1 (only when ``nseg > 1``): each segment but the last (in scan order) is scanned from a zero state; its
  final state and its ``sum(dt)`` per channel are stored (the segment's decay product is ``exp2(A2 sum dt)``);
- pass 2: each segment folds the earlier segments' (decay, final state) pairs into its true initial state, then
  scans and writes ``y``.

Bidirectional output without scratch: direction 0 writes its raw ``y`` into ``out``; a second launch scans
direction 1 right-to-left and writes ``(y_0 + y_1) / 2 * silu(z)`` over it. With ``STORE_STATES`` the state
entering every chunk of ``T`` steps is stored in the chunked backward kernel's layout ``[ndir, batch, nchunks, E,
N]``, so training uses that backward unchanged.
"""
from __future__ import annotations

import triton
import triton.language as tl

from .triton_scan_kernels import _softplus  # the chunked kernels' softplus: both forwards round alike


@triton.jit
def _exp2(x, FAST: tl.constexpr):
    """2**x. FAST (compiled CUDA only): one ``ex2.approx.ftz`` (MUFU) instruction; ``tl.exp2``'s non-ftz
    ex2 adds a denormal range fix-up of ~3 instructions, and every step pays 16 of them. A decay that flushes to
    zero below 2**-126 is exact enough: the state it multiplies is then forgotten either way."""
    if FAST:
        return tl.inline_asm_elementwise("ex2.approx.ftz.f32 $0, $1;", "=f,f", [x], dtype=tl.float32,
                                         is_pure=True, pack=1)
    else:
        return tl.exp2(x)


@triton.jit
def _prefetch_l1(ptr):
    """Ask for the 128-byte line holding ``ptr`` in L1 (no register, nothing waits on it). B and C rows are
    read by every thread of a program one step at a time; fetched a few steps ahead, their loads hit L1 instead
    of waiting on L2 at every step (the step's latency, ROOFLINE.md). Compiled CUDA only (the launcher passes
    PF = 0 to the interpreter)."""
    tl.inline_asm_elementwise("prefetch.global.L1 [$1]; mov.u32 $0, 0;", "=r,l", [ptr], dtype=tl.int32,
                              is_pure=False, pack=1)


@triton.jit
def _a2(At_ptr, k: tl.constexpr, E, offs_e, mask_e, NS: tl.constexpr):
    """Row k of A^T [N, E] times log2(e) ([BE]); zero for a state past NS (its decay is then exp2(0) = 1)."""
    if k < NS:
        return tl.load(At_ptr + k * E + offs_e, mask=mask_e, other=0.0) * 1.4426950408889634
    else:
        return tl.zeros_like(offs_e).to(tl.float32)


@triton.jit
def _upd(h, a2, dt, dtu, B_t, C_t, k: tl.constexpr, sB_n, sC_n, y, NS: tl.constexpr, FAST: tl.constexpr):
    """State k of one step: h <- exp2(dt a2) h + dt u B_t[k]; y += h C_t[k]. ``B_t``, ``C_t``: this step's rows."""
    if k < NS:
        h = _exp2(dt * a2, FAST) * h + dtu * tl.load(B_t + k * sB_n)
        y = y + h * tl.load(C_t + k * sC_n)
    return h, y


@triton.jit
def _store_state(st, k: tl.constexpr, h, offs_e, mask_e, N, NS: tl.constexpr):
    if k < NS:
        tl.store(st + offs_e * N + k, h, mask=mask_e)


@triton.jit
def _load_state(st, k: tl.constexpr, offs_e, mask_e, N, NS: tl.constexpr):
    if k < NS:
        return tl.load(st + offs_e * N + k, mask=mask_e, other=0.0)
    else:
        return tl.zeros_like(offs_e).to(tl.float32)


@triton.jit
def _fold(h, st, k: tl.constexpr, a2, sdt, offs_e, mask_e, N, NS: tl.constexpr):
    """h <- exp2(a2 sum(dt)) h + h_segment: appends a whole earlier segment to the carried state."""
    if k < NS:
        h = tl.exp2(a2 * sdt) * h + tl.load(st + offs_e * N + k, mask=mask_e, other=0.0)
    return h


@triton.jit
def _row(tile, rows, r: tl.constexpr):
    """Row r of a ``[U, BE]`` tile whose rows sit in one thread: a select and adds in registers, no shuffles."""
    return tl.sum(tl.where(rows[:, None] == r, tile, 0.0), axis=0)


@triton.jit
def _load_group(t0, rows, u_b, su_l, su_e, dt_b, sdt_l, sdt_e, z_b, sz_l, sz_e, o_b, so_l, so_e, offs_e, mask_e, L,
                LOAD_Z: tl.constexpr, LOAD_PREV: tl.constexpr):
    """u, dt (raw), z and the previous output of steps ``t0 .. t0 + U - 1``: float32 ``[U, BE]`` tiles, zero
    outside ``[0, L)`` (so a prefetch past either end of the sequence loads nothing). z / prev are u when not asked."""
    t = (t0 + rows).to(tl.int64)  # [U]
    m = ((t >= 0) & (t < L))[:, None] & mask_e[None, :]  # [U, BE]
    u = tl.load(u_b + t[:, None] * su_l + offs_e[None, :] * su_e, mask=m, other=0.0).to(tl.float32)
    pre = tl.load(dt_b + t[:, None] * sdt_l + offs_e[None, :] * sdt_e, mask=m, other=0.0).to(tl.float32)
    z = u
    prev = u
    if LOAD_Z:
        z = tl.load(z_b + t[:, None] * sz_l + offs_e[None, :] * sz_e, mask=m, other=0.0).to(tl.float32)
    if LOAD_PREV:
        prev = tl.load(o_b + t[:, None] * so_l + offs_e[None, :] * so_e, mask=m, other=0.0).to(tl.float32)
    return u, pre, z, prev


# The channel strides are not specialised to 1: with unit strides known, Triton vectorises the [U, BE] tile loads
# along channels, which spreads a tile's rows over lanes and needs shuffles and shared memory to pick one step.
@triton.jit(do_not_specialize=["su_e", "sdt_e", "sz_e", "so_e"])
def scan_seq_fwd_kernel(
        u_ptr, su_b, su_l, su_e, dt_ptr, sdt_b, sdt_l, sdt_e, B_ptr, sB_b, sB_l, sB_n, C_ptr, sC_b, sC_l, sC_n,
        At_ptr, D_ptr, bias_ptr, z_ptr, sz_b, sz_l, sz_e, o_ptr, so_b, so_l, so_e, st_ptr, seg_h_ptr, seg_dt_ptr,
        L, E, N, nchunks, seg_chunks, nseg,
        BE: tl.constexpr, T: tl.constexpr, U: tl.constexpr, NS: tl.constexpr, REVERSE: tl.constexpr, PASS: tl.constexpr,
        COMBINE: tl.constexpr, HAS_D: tl.constexpr, GATE: tl.constexpr, SOFTPLUS: tl.constexpr,
        STORE_STATES: tl.constexpr, FAST: tl.constexpr = False, PF: tl.constexpr = 0):
    """One direction of the scan. Grid ``(cdiv(E, BE), batch, nseg)`` (``nseg - 1`` in pass 1); a thread per channel.

    u, dt, z, out: ``[b, l, e]`` by strides (``*_b, *_l, *_e``); B, C: ``[b, l, n]`` by strides; At: ``[N, E]``
    float32 (this direction's A transposed); D, bias: ``[E]`` float32 (this direction's). ``dt`` is the raw
    projection: bias and softplus are applied here. ``COMBINE``: out already holds direction 0's raw ``y``; write
    ``(y_0 + y) / 2``; otherwise ``y``; times ``silu(z)`` with ``GATE`` (set on the last direction only).
    st: chunk states ``[batch, nchunks, E, N]`` of this direction; seg_h ``[batch, nseg, E, N]`` and seg_dt
    ``[batch, nseg, E]``: pass 1's segment summaries of this direction.
    """
    pid_e = tl.program_id(0)
    b = tl.program_id(1).to(tl.int64)
    # segment, in natural time order; pass 1 runs on all but the last segment in scan order (nobody needs its summary)
    s = tl.program_id(2) + (1 if (PASS == 1 and REVERSE) else 0)
    offs_e = pid_e * BE + tl.arange(0, BE)  # [BE]
    mask_e = offs_e < E
    u_b, dt_b, B_b, C_b = u_ptr + b * su_b, dt_ptr + b * sdt_b, B_ptr + b * sB_b, C_ptr + b * sC_b
    z_b, o_b = z_ptr + b * sz_b, o_ptr + b * so_b
    a0 = _a2(At_ptr, 0, E, offs_e, mask_e, NS)
    a1 = _a2(At_ptr, 1, E, offs_e, mask_e, NS)
    a2 = _a2(At_ptr, 2, E, offs_e, mask_e, NS)
    a3 = _a2(At_ptr, 3, E, offs_e, mask_e, NS)
    a4 = _a2(At_ptr, 4, E, offs_e, mask_e, NS)
    a5 = _a2(At_ptr, 5, E, offs_e, mask_e, NS)
    a6 = _a2(At_ptr, 6, E, offs_e, mask_e, NS)
    a7 = _a2(At_ptr, 7, E, offs_e, mask_e, NS)
    a8 = _a2(At_ptr, 8, E, offs_e, mask_e, NS)
    a9 = _a2(At_ptr, 9, E, offs_e, mask_e, NS)
    a10 = _a2(At_ptr, 10, E, offs_e, mask_e, NS)
    a11 = _a2(At_ptr, 11, E, offs_e, mask_e, NS)
    a12 = _a2(At_ptr, 12, E, offs_e, mask_e, NS)
    a13 = _a2(At_ptr, 13, E, offs_e, mask_e, NS)
    a14 = _a2(At_ptr, 14, E, offs_e, mask_e, NS)
    a15 = _a2(At_ptr, 15, E, offs_e, mask_e, NS)
    bias = tl.load(bias_ptr + offs_e, mask=mask_e, other=0.0)  # [BE]
    Dv = tl.load(D_ptr + offs_e, mask=mask_e, other=0.0) if HAS_D else tl.zeros([BE], dtype=tl.float32)
    zero = tl.zeros([BE], dtype=tl.float32)
    h0, h1, h2, h3, h4, h5, h6, h7 = zero, zero, zero, zero, zero, zero, zero, zero
    h8, h9, h10, h11, h12, h13, h14, h15 = zero, zero, zero, zero, zero, zero, zero, zero
    seg_h = seg_h_ptr + b * nseg * E * N
    seg_dt = seg_dt_ptr + b * nseg * E
    if PASS == 2:
        # the true initial state: fold in every earlier segment, in scan order
        for i in range(nseg - 1):
            if REVERSE:
                sp = nseg - 1 - i
                take = sp > s
            else:
                sp = i
                take = sp < s
            if take:
                sh = seg_h + sp * E * N
                sdt = tl.load(seg_dt + sp * E + offs_e, mask=mask_e, other=0.0)  # [BE]
                h0 = _fold(h0, sh, 0, a0, sdt, offs_e, mask_e, N, NS)
                h1 = _fold(h1, sh, 1, a1, sdt, offs_e, mask_e, N, NS)
                h2 = _fold(h2, sh, 2, a2, sdt, offs_e, mask_e, N, NS)
                h3 = _fold(h3, sh, 3, a3, sdt, offs_e, mask_e, N, NS)
                h4 = _fold(h4, sh, 4, a4, sdt, offs_e, mask_e, N, NS)
                h5 = _fold(h5, sh, 5, a5, sdt, offs_e, mask_e, N, NS)
                h6 = _fold(h6, sh, 6, a6, sdt, offs_e, mask_e, N, NS)
                h7 = _fold(h7, sh, 7, a7, sdt, offs_e, mask_e, N, NS)
                h8 = _fold(h8, sh, 8, a8, sdt, offs_e, mask_e, N, NS)
                h9 = _fold(h9, sh, 9, a9, sdt, offs_e, mask_e, N, NS)
                h10 = _fold(h10, sh, 10, a10, sdt, offs_e, mask_e, N, NS)
                h11 = _fold(h11, sh, 11, a11, sdt, offs_e, mask_e, N, NS)
                h12 = _fold(h12, sh, 12, a12, sdt, offs_e, mask_e, N, NS)
                h13 = _fold(h13, sh, 13, a13, sdt, offs_e, mask_e, N, NS)
                h14 = _fold(h14, sh, 14, a14, sdt, offs_e, mask_e, N, NS)
                h15 = _fold(h15, sh, 15, a15, sdt, offs_e, mask_e, N, NS)
    sumdt = zero
    c_lo = s * seg_chunks
    n_mine = tl.minimum(seg_chunks, nchunks - c_lo)  # chunks in this segment
    GPC: tl.constexpr = T // U  # groups of U steps per chunk
    rows = tl.arange(0, U)  # [U]
    t_hi = (c_lo + n_mine) * T  # one past the segment's last step
    t0 = t_hi - U if REVERSE else c_lo * T  # first step of the first group, in scan order
    nxt = _load_group(t0, rows, u_b, su_l, su_e, dt_b, sdt_l, sdt_e, z_b, sz_l, sz_e, o_b, so_l, so_e, offs_e,
                      mask_e, L, PASS == 2 and GATE, PASS == 2 and COMBINE)
    for g in range(n_mine * GPC):
        u_t, pre_t, z_t, prev_t = nxt  # [U, BE] each
        tg = t_hi - (g + 1) * U if REVERSE else c_lo * T + g * U  # lowest step of this group
        # prefetch the next group: its loads are issued before this group's stores (which they could alias)
        nxt = _load_group(tg - U if REVERSE else tg + U, rows, u_b, su_l, su_e, dt_b, sdt_l, sdt_e, z_b, sz_l, sz_e,
                          o_b, so_l, so_e, offs_e, mask_e, L, PASS == 2 and GATE, PASS == 2 and COMBINE)
        if STORE_STATES:
            if g % GPC == 0:
                c = (t_hi - g * U) // T - 1 if REVERSE else tg // T
                st = st_ptr + (b * nchunks + c) * E * N  # the state entering chunk c, in scan order
                _store_state(st, 0, h0, offs_e, mask_e, N, NS)
                _store_state(st, 1, h1, offs_e, mask_e, N, NS)
                _store_state(st, 2, h2, offs_e, mask_e, N, NS)
                _store_state(st, 3, h3, offs_e, mask_e, N, NS)
                _store_state(st, 4, h4, offs_e, mask_e, N, NS)
                _store_state(st, 5, h5, offs_e, mask_e, N, NS)
                _store_state(st, 6, h6, offs_e, mask_e, N, NS)
                _store_state(st, 7, h7, offs_e, mask_e, N, NS)
                _store_state(st, 8, h8, offs_e, mask_e, N, NS)
                _store_state(st, 9, h9, offs_e, mask_e, N, NS)
                _store_state(st, 10, h10, offs_e, mask_e, N, NS)
                _store_state(st, 11, h11, offs_e, mask_e, N, NS)
                _store_state(st, 12, h12, offs_e, mask_e, N, NS)
                _store_state(st, 13, h13, offs_e, mask_e, N, NS)
                _store_state(st, 14, h14, offs_e, mask_e, N, NS)
                _store_state(st, 15, h15, offs_e, mask_e, N, NS)
        t = tg + rows  # [U]
        valid = (t < L)[:, None]  # [U, 1]; a padded step leaves the state as it is: exp2(0) h + 0
        dt_t = _softplus(pre_t + bias[None, :]) if SOFTPLUS else pre_t + bias[None, :]  # [U, BE]
        dt_t = tl.where(valid, dt_t, 0.0)
        u_t = tl.where(valid, u_t, 0.0)
        dtu_t = dt_t * u_t  # [U, BE]
        y_t = tl.zeros([U, BE], dtype=tl.float32)
        for jj in tl.static_range(U):
            r = U - 1 - jj if REVERSE else jj  # row of this step, in scan order (a compile-time value)
            dt = _row(dt_t, rows, r)  # [BE]
            dtu = _row(dtu_t, rows, r)  # [BE]
            tc = tl.minimum(tg + r, L - 1).to(tl.int64)  # past the end: B, C of the last step (dt u is 0 there)
            Bt = B_b + tc * sB_l
            Ct = C_b + tc * sC_l
            if PF > 0:  # the B and C rows PF steps ahead in scan order (clamped into the sequence)
                tp = tl.minimum(tl.maximum(tg + r - PF if REVERSE else tg + r + PF, 0), L - 1).to(tl.int64)
                _prefetch_l1(B_b + tp * sB_l)
                _prefetch_l1(C_b + tp * sC_l + (NS - 1) * sC_n)
            y = zero
            h0, y = _upd(h0, a0, dt, dtu, Bt, Ct, 0, sB_n, sC_n, y, NS, FAST)
            h1, y = _upd(h1, a1, dt, dtu, Bt, Ct, 1, sB_n, sC_n, y, NS, FAST)
            h2, y = _upd(h2, a2, dt, dtu, Bt, Ct, 2, sB_n, sC_n, y, NS, FAST)
            h3, y = _upd(h3, a3, dt, dtu, Bt, Ct, 3, sB_n, sC_n, y, NS, FAST)
            h4, y = _upd(h4, a4, dt, dtu, Bt, Ct, 4, sB_n, sC_n, y, NS, FAST)
            h5, y = _upd(h5, a5, dt, dtu, Bt, Ct, 5, sB_n, sC_n, y, NS, FAST)
            h6, y = _upd(h6, a6, dt, dtu, Bt, Ct, 6, sB_n, sC_n, y, NS, FAST)
            h7, y = _upd(h7, a7, dt, dtu, Bt, Ct, 7, sB_n, sC_n, y, NS, FAST)
            h8, y = _upd(h8, a8, dt, dtu, Bt, Ct, 8, sB_n, sC_n, y, NS, FAST)
            h9, y = _upd(h9, a9, dt, dtu, Bt, Ct, 9, sB_n, sC_n, y, NS, FAST)
            h10, y = _upd(h10, a10, dt, dtu, Bt, Ct, 10, sB_n, sC_n, y, NS, FAST)
            h11, y = _upd(h11, a11, dt, dtu, Bt, Ct, 11, sB_n, sC_n, y, NS, FAST)
            h12, y = _upd(h12, a12, dt, dtu, Bt, Ct, 12, sB_n, sC_n, y, NS, FAST)
            h13, y = _upd(h13, a13, dt, dtu, Bt, Ct, 13, sB_n, sC_n, y, NS, FAST)
            h14, y = _upd(h14, a14, dt, dtu, Bt, Ct, 14, sB_n, sC_n, y, NS, FAST)
            h15, y = _upd(h15, a15, dt, dtu, Bt, Ct, 15, sB_n, sC_n, y, NS, FAST)
            y_t = tl.where(rows[:, None] == r, y[None, :], y_t)  # [U, BE], a select within the thread
        if PASS == 1:
            sumdt += tl.sum(dt_t, axis=0)
        else:
            if HAS_D:
                y_t += Dv[None, :] * u_t
            if COMBINE:
                y_t = (prev_t.to(tl.float32) + y_t) * 0.5
            if GATE:
                zv = z_t.to(tl.float32)
                y_t = y_t * zv * tl.sigmoid(zv)
            tmask = (t < L)[:, None] & mask_e[None, :]  # [U, BE]
            optrs = o_b + t.to(tl.int64)[:, None] * so_l + offs_e[None, :] * so_e  # [U, BE]
            tl.store(optrs, y_t.to(o_ptr.dtype.element_ty), mask=tmask)
    if PASS == 1:
        sh = seg_h + s * E * N
        _store_state(sh, 0, h0, offs_e, mask_e, N, NS)
        _store_state(sh, 1, h1, offs_e, mask_e, N, NS)
        _store_state(sh, 2, h2, offs_e, mask_e, N, NS)
        _store_state(sh, 3, h3, offs_e, mask_e, N, NS)
        _store_state(sh, 4, h4, offs_e, mask_e, N, NS)
        _store_state(sh, 5, h5, offs_e, mask_e, N, NS)
        _store_state(sh, 6, h6, offs_e, mask_e, N, NS)
        _store_state(sh, 7, h7, offs_e, mask_e, N, NS)
        _store_state(sh, 8, h8, offs_e, mask_e, N, NS)
        _store_state(sh, 9, h9, offs_e, mask_e, N, NS)
        _store_state(sh, 10, h10, offs_e, mask_e, N, NS)
        _store_state(sh, 11, h11, offs_e, mask_e, N, NS)
        _store_state(sh, 12, h12, offs_e, mask_e, N, NS)
        _store_state(sh, 13, h13, offs_e, mask_e, N, NS)
        _store_state(sh, 14, h14, offs_e, mask_e, N, NS)
        _store_state(sh, 15, h15, offs_e, mask_e, N, NS)
        tl.store(seg_dt + s * E + offs_e, sumdt, mask=mask_e)
