"""Triton forward of the selective scan with the state in registers: one thread per channel, one step at a time.

Why a second forward: the chunked kernel (``triton_scan_kernels.py``) runs an ``associative_scan`` over a
``[T, BE, NP]`` tile whose layout spreads the state over lanes and time over warps, so every step costs shuffles,
barriers and layout conversions (~125 instructions per state element, ROOFLINE.md). Here every tensor is a 1-D
``[BE]`` vector, one channel per thread, and the 16 state elements are 16 scalar registers of that thread
(``h``, a tuple of 16 ``[BE]`` vectors, since Triton has no register arrays): a step is 16 x (``exp2``, 2 FMUL,
2 FFMA) plus the ``B_t``, ``C_t`` rows, the same in every thread, loaded ``AHEAD`` steps ahead with the step's u, dt, z
(on CUDA by 16-byte vector loads where the rows are aligned). No shuffles, no shared memory, no barriers. d_state
up to 16 (``NS`` states are live, the rest are compiled out). One step a loop trip (``U = 1``) is fastest on an H200: a small loop body and
few registers (ROOFLINE.md); dt_proj can run here too (``DT_R``), so that inference needs no dt tensor.

Parallelism comes from (batch, channel) pairs and, for long inputs with a small batch, from splitting the sequence
into ``nseg`` segments (sequence-parallel, two passes):

- pass 1 (only when ``nseg > 1``): each segment but the last (in scan order) is scanned from a zero state; its
  final state and its ``sum(dt)`` per channel are stored (the segment's decay product is ``exp2(A2 sum dt)``);
- pass 2: each segment folds the earlier segments' (decay, final state) pairs into its true initial state, then
  scans and writes ``y``.

Bidirectional output: direction 0 writes its raw ``y`` into ``out``; a second launch scans direction 1
right-to-left and writes ``(y_0 + y_1) / 2 * silu(z)`` over it. Or, with ``BOTH``, one launch runs both
directions side by side (direction 1 into a scratch output) and ``gate_average_kernel`` combines them: for a grid
too small to hide latency (short inputs), twice the warps. With ``STORE_STATES`` the state
entering every chunk of ``T`` steps is stored in the chunked backward kernel's layout ``[ndir, batch, nchunks, E,
N]``, so training uses that backward unchanged.
"""
from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def _lg2(x, FAST: tl.constexpr):
    """log2(x). FAST (compiled CUDA only): one ``lg2.approx.ftz`` (MUFU) instruction, relative error ~2**-22;
    ``tl.log2`` compiles to libdevice's polynomial (~30 instructions)."""
    if FAST:
        return tl.inline_asm_elementwise("lg2.approx.ftz.f32 $0, $1;", "=f,f", [x], dtype=tl.float32,
                                         is_pure=True, pack=1)
    else:
        return tl.log2(x)


@triton.jit
def _softplus_base2(x, FAST: tl.constexpr):
    """log(1 + exp(x)) in base 2, with FAST by MUFU ex2 / lg2 / rcp (~12 instructions, against ~40 with
    libdevice's ``log`` in the chunked kernels' ``_softplus``), with the same Goldberg correction that keeps small
    values: for w = 1 + e, log1p(e) = log(w) e / (w - 1), exact when w rounds to 1."""
    ex = tl.exp2(-tl.abs(x) * 1.4426950408889634)
    w = 1.0 + ex
    l1p = tl.where(w == 1.0, ex, _lg2(w, FAST) * 0.6931471805599453 * tl.fdiv(ex, w - 1.0))
    return tl.maximum(x, 0.0) + l1p


@triton.jit
def _idx(t, OFF64: tl.constexpr):
    """Step indices for address arithmetic: int32 (one IMAD a use) unless the launcher says an offset within one
    batch can pass 2**31 elements (OFF64)."""
    return t.to(tl.int64) if OFF64 else t


@triton.jit
def _wk(Wt_ptr, k: tl.constexpr, E, offs_e, mask_e, R: tl.constexpr):
    """Row k of a ``[R, E]`` float32 matrix at this program's channels (``[BE]``); zero for k >= R."""
    if k < R:
        return tl.load(Wt_ptr + k * E + offs_e, mask=mask_e, other=0.0)
    else:
        return tl.zeros_like(offs_e).to(tl.float32)


@triton.jit
def _a2(At_ptr, k: tl.constexpr, E, offs_e, mask_e, NS: tl.constexpr):
    """Row k of A^T [N, E] times log2(e) ([BE]); zero for a state past NS (its decay is then exp2(0) = 1)."""
    return _wk(At_ptr, k, E, offs_e, mask_e, NS) * 1.4426950408889634


@triton.jit
def _upd(h, a2, dt, dtu, b_k, c_k, k: tl.constexpr, y, NS: tl.constexpr):
    """State k of one step: h <- exp2(dt a2) h + dt u b_k; y += h c_k (b_k, c_k: this step's B, C at k)."""
    if k < NS:
        h = tl.exp2(dt * a2) * h + dtu * b_k
        y = y + h * c_k
    return h, y


@triton.jit
def _ld_v4(p):
    """Four 32-bit words at p (16-byte aligned): one vector load through the read-only path (B, C are inputs)."""
    return tl.inline_asm_elementwise("ld.global.nc.v4.b32 {$0, $1, $2, $3}, [$4];", "=r,=r,=r,=r,l", [p],
                                     dtype=(tl.int32, tl.int32, tl.int32, tl.int32), is_pure=True, pack=1)


@triton.jit
def _words8(p):
    """Eight 32-bit words from p (an int32 pointer tensor, 16-byte aligned) by two vector loads."""
    w0, w1, w2, w3 = _ld_v4(p)
    w4, w5, w6, w7 = _ld_v4(p + 4)
    return w0, w1, w2, w3, w4, w5, w6, w7


@triton.jit
def _lo(w):
    """The bf16 in the low half of a word (the lower address), as float32: its bits moved up."""
    return (w << 16).to(tl.float32, bitcast=True)


@triton.jit
def _hi(w):
    return (w & -65536).to(tl.float32, bitcast=True)


@triton.jit
def _bc_load(p, s_n, zero_i, NS: tl.constexpr, VEC: tl.constexpr, F32: tl.constexpr):
    """Issue the loads of row ``p[0 : 16 s_n : s_n]`` of B or C; returns what ``_bc_unpack`` turns into 16 float32
    values. VEC 0: 16 scalar loads, converted (any dtype, stride, alignment; the interpreter's path). VEC 4
    (compiled CUDA, NS == 16, unit stride, the row aligned to 16 bytes): 16-byte vector loads of the
    raw words, the same words in every thread: 8 words for bf16, 16 for float32 (F32)."""
    if VEC == 0:
        r0 = tl.load(p).to(tl.float32)
        r1 = tl.load(p + s_n).to(tl.float32) if NS > 1 else 0.0
        r2 = tl.load(p + 2 * s_n).to(tl.float32) if NS > 2 else 0.0
        r3 = tl.load(p + 3 * s_n).to(tl.float32) if NS > 3 else 0.0
        r4 = tl.load(p + 4 * s_n).to(tl.float32) if NS > 4 else 0.0
        r5 = tl.load(p + 5 * s_n).to(tl.float32) if NS > 5 else 0.0
        r6 = tl.load(p + 6 * s_n).to(tl.float32) if NS > 6 else 0.0
        r7 = tl.load(p + 7 * s_n).to(tl.float32) if NS > 7 else 0.0
        r8 = tl.load(p + 8 * s_n).to(tl.float32) if NS > 8 else 0.0
        r9 = tl.load(p + 9 * s_n).to(tl.float32) if NS > 9 else 0.0
        r10 = tl.load(p + 10 * s_n).to(tl.float32) if NS > 10 else 0.0
        r11 = tl.load(p + 11 * s_n).to(tl.float32) if NS > 11 else 0.0
        r12 = tl.load(p + 12 * s_n).to(tl.float32) if NS > 12 else 0.0
        r13 = tl.load(p + 13 * s_n).to(tl.float32) if NS > 13 else 0.0
        r14 = tl.load(p + 14 * s_n).to(tl.float32) if NS > 14 else 0.0
        r15 = tl.load(p + 15 * s_n).to(tl.float32) if NS > 15 else 0.0
        return r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13, r14, r15
    else:
        pw = p.to(tl.pointer_type(tl.int32)) + zero_i  # [BE] int32 pointers, all equal
        if F32:
            w0, w1, w2, w3, w4, w5, w6, w7 = _words8(pw)
            w8, w9, w10, w11, w12, w13, w14, w15 = _words8(pw + 8)
            return w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15
        else:
            return _words8(pw)


@triton.jit
def _f(w):
    return w.to(tl.float32, bitcast=True)


@triton.jit
def _bc_unpack(raw, VEC: tl.constexpr, F32: tl.constexpr):
    """16 float32 values of a row loaded by ``_bc_load``."""
    if VEC == 0:
        return raw
    elif F32:
        return (_f(raw[0]), _f(raw[1]), _f(raw[2]), _f(raw[3]), _f(raw[4]), _f(raw[5]), _f(raw[6]), _f(raw[7]),
                _f(raw[8]), _f(raw[9]), _f(raw[10]), _f(raw[11]), _f(raw[12]), _f(raw[13]), _f(raw[14]), _f(raw[15]))
    else:
        return (_lo(raw[0]), _hi(raw[0]), _lo(raw[1]), _hi(raw[1]), _lo(raw[2]), _hi(raw[2]), _lo(raw[3]),
                _hi(raw[3]), _lo(raw[4]), _hi(raw[4]), _lo(raw[5]), _hi(raw[5]), _lo(raw[6]), _hi(raw[6]),
                _lo(raw[7]), _hi(raw[7]))


@triton.jit
def _w16(Wt_ptr, E, offs_e, mask_e, R: tl.constexpr):
    """Rows 0..15 of ``Wt [R, E]`` at this program's channels, 16 ``[BE]`` vectors (zero past R)."""
    return (_wk(Wt_ptr, 0, E, offs_e, mask_e, R), _wk(Wt_ptr, 1, E, offs_e, mask_e, R),
            _wk(Wt_ptr, 2, E, offs_e, mask_e, R), _wk(Wt_ptr, 3, E, offs_e, mask_e, R),
            _wk(Wt_ptr, 4, E, offs_e, mask_e, R), _wk(Wt_ptr, 5, E, offs_e, mask_e, R),
            _wk(Wt_ptr, 6, E, offs_e, mask_e, R), _wk(Wt_ptr, 7, E, offs_e, mask_e, R),
            _wk(Wt_ptr, 8, E, offs_e, mask_e, R), _wk(Wt_ptr, 9, E, offs_e, mask_e, R),
            _wk(Wt_ptr, 10, E, offs_e, mask_e, R), _wk(Wt_ptr, 11, E, offs_e, mask_e, R),
            _wk(Wt_ptr, 12, E, offs_e, mask_e, R), _wk(Wt_ptr, 13, E, offs_e, mask_e, R),
            _wk(Wt_ptr, 14, E, offs_e, mask_e, R), _wk(Wt_ptr, 15, E, offs_e, mask_e, R))


@triton.jit
def _dot16(x, w, R: tl.constexpr):
    """sum_k x[k] w[k] over k < R: x 16 scalars (one row), w 16 ``[BE]`` vectors."""
    acc = x[0] * w[0]
    for k in tl.static_range(1, 16):
        if k < R:
            acc += x[k] * w[k]
    return acc


@triton.jit
def _store_state(st, k: tl.constexpr, h, offs_e, mask_e, N, NS: tl.constexpr):
    if k < NS:
        tl.store(st + offs_e * N + k, h, mask=mask_e)


@triton.jit
def _load_state(st, k: tl.constexpr, offs_e, mask_e, N, NS: tl.constexpr):
    """State k from an ``[E, N]`` state row (the seq backward reads the chunk states with it)."""
    if k < NS:
        return tl.load(st + offs_e * N + k, mask=mask_e, other=0.0)
    else:
        return tl.zeros_like(offs_e).to(tl.float32)


@triton.jit
def _fold(h, sh, k: tl.constexpr, a2, sdt, offs_e, mask_e, E, NS: tl.constexpr):
    """h <- exp2(a2 sum(dt)) h + h_segment: appends a whole earlier segment to the carried state (``sh``: its
    ``[N, E]`` summary, so that state k of a warp's 32 channels is one 128-byte line)."""
    if k < NS:
        h = tl.exp2(a2 * sdt) * h + tl.load(sh + k * E + offs_e, mask=mask_e, other=0.0)
    return h


@triton.jit
def _store_summary(sh, k: tl.constexpr, h, offs_e, mask_e, E, NS: tl.constexpr):
    """State k into a segment summary ``[N, E]`` (what ``_fold`` reads)."""
    if k < NS:
        tl.store(sh + k * E + offs_e, h, mask=mask_e)


@triton.jit
def _row(tile, rows, r: tl.constexpr):
    """Row r of a ``[U, BE]`` tile whose rows sit in one thread: a select and adds in registers, no shuffles."""
    return tl.sum(tl.where(rows[:, None] == r, tile, 0.0), axis=0)


@triton.jit
def _load_group(t0, rows, u_b, su_l, su_e, dt_b, sdt_l, sdt_e, z_b, sz_l, sz_e, o_b, so_l, so_e, offs_e, mask_e, L,
                LOAD_Z: tl.constexpr, LOAD_PREV: tl.constexpr, OFF64: tl.constexpr, LOAD_DT: tl.constexpr = True):
    """u, dt (raw), z and the previous output of steps ``t0 .. t0 + U - 1``: float32 ``[U, BE]`` tiles, zero
    outside ``[0, L)`` (so a prefetch past either end of the sequence loads nothing). z / prev / dt are u when not
    asked."""
    t = _idx(t0 + rows, OFF64)  # [U]
    m = ((t >= 0) & (t < L))[:, None] & mask_e[None, :]  # [U, BE]
    u = tl.load(u_b + t[:, None] * su_l + offs_e[None, :] * su_e, mask=m, other=0.0).to(tl.float32)
    pre = u
    if LOAD_DT:
        pre = tl.load(dt_b + t[:, None] * sdt_l + offs_e[None, :] * sdt_e, mask=m, other=0.0).to(tl.float32)
    z = u
    prev = u
    if LOAD_Z:
        z = tl.load(z_b + t[:, None] * sz_l + offs_e[None, :] * sz_e, mask=m, other=0.0).to(tl.float32)
    if LOAD_PREV:
        prev = tl.load(o_b + t[:, None] * so_l + offs_e[None, :] * so_e, mask=m, other=0.0).to(tl.float32)
    return u, pre, z, prev


@triton.jit
def _load_step(tq, la, LOAD_Z: tl.constexpr, LOAD_PREV: tl.constexpr, LOAD_C: tl.constexpr, OFF64: tl.constexpr,
               NS: tl.constexpr, VEC: tl.constexpr, F32: tl.constexpr, DT_R: tl.constexpr,
               VEC_X: tl.constexpr, ROWS: tl.constexpr = True):
    """Every load of step ``tq`` (one step a loop trip; ``la``: the kernel's pointers, strides and masks): ``(u, pre,
    z, prev)`` as ``[1, BE]`` tiles (zero outside ``[0, L)``), then the raw B row, C row (``LOAD_C``) and dt_in row
    (``DT_R`` > 0) of step ``tq`` clamped into the sequence (what ``_bc_unpack`` reads; ``zero_i`` where not
    loaded). Issued ``AHEAD`` steps before the step. Without ``ROWS`` only the tiles (the rows are
    ``zero_i``)."""
    (rows, u_b, su_l, su_e, dt_b, sdt_l, sdt_e, z_b, sz_l, sz_e, o_b, so_l, so_e, offs_e, mask_e, L, B_b, sB_l, sB_n,
     C_b, sC_l, sC_n, xr_b, sxr_l, sxr_k, zero_i) = la
    grp = _load_group(tq, rows, u_b, su_l, su_e, dt_b, sdt_l, sdt_e, z_b, sz_l, sz_e, o_b, so_l, so_e, offs_e,
                      mask_e, L, LOAD_Z, LOAD_PREV, OFF64, DT_R == 0)
    tc = _idx(tl.minimum(tl.maximum(tq, 0), L - 1), OFF64)
    if ROWS:
        braw = _bc_load(B_b + tc * sB_l, sB_n, zero_i, NS, VEC, F32)
        craw = _bc_load(C_b + tc * sC_l, sC_n, zero_i, NS, VEC, F32) if LOAD_C else zero_i
        xraw = _bc_load(xr_b + tc * sxr_l, sxr_k, zero_i, DT_R, VEC_X, False) if DT_R > 0 else zero_i
    else:
        braw, craw, xraw = zero_i, zero_i, zero_i
    return grp, braw, craw, xraw


@triton.jit
def _load_tiles(tq, la, LOAD_Z: tl.constexpr, LOAD_PREV: tl.constexpr, OFF64: tl.constexpr,
                DT_R: tl.constexpr):
    """``(u, pre, z, prev)`` of step ``tq`` as ``[1, BE]`` tiles: ``_load_step`` without the rows."""
    return _load_step(tq, la, LOAD_Z, LOAD_PREV, False, OFF64, 16, 0, False, DT_R, 0, False)[0]


@triton.jit
def _shfl(w, src):
    """Lane ``src``'s word w in every lane of the warp (``shfl.sync.idx``; compiled CUDA only)."""
    return tl.inline_asm_elementwise("shfl.sync.idx.b32 $0, $1, $2, 0x1f, -1;", "=r,r,r", [w, src],
                                     dtype=tl.int32, is_pure=True, pack=1)


@triton.jit
def _rows_block(t0, SD: tl.constexpr, la, NK: tl.constexpr, LOAD_C: tl.constexpr, OFF64: tl.constexpr):
    """This lane's words of the rows of steps ``t0 + j SD`` (j < 4, clamped into the sequence): the B row, the
    C row (``LOAD_C``) and the dt_in row (when there are ``NK`` = 3 kinds, or 2 without C), 8 words (16 bf16)
    each, laid out as slots ``s = j * 8 NK + kind * 8 + word``; lane i holds slots ``i + 32 m``, m < NK
    (``_rows_word`` hands any slot to every lane). One 4-byte load per lane and kind for 4 steps, instead of a
    16-byte load per kind and step in every lane."""
    offs_e, L, zero_i = la[13], la[15], la[25]
    B_b, sB_l, C_b, sC_l, xr_b, sxr_l = la[16], la[17], la[19], la[20], la[22], la[23]
    lane = offs_e % 32  # [BE]
    w0 = zero_i
    w1 = zero_i
    w2 = zero_i
    for m in tl.static_range(NK):
        slot = lane + 32 * m  # [BE]
        j = slot // (8 * NK)
        kind = (slot // 8) % NK
        word = slot % 8
        tc = _idx(tl.minimum(tl.maximum(t0 + j * SD, 0), L - 1), OFF64)  # [BE]
        pb = (B_b + tc * sB_l).to(tl.pointer_type(tl.int32))
        pc = (C_b + tc * sC_l).to(tl.pointer_type(tl.int32))
        px = (xr_b + tc * sxr_l).to(tl.pointer_type(tl.int32))
        if LOAD_C:
            p = tl.where(kind == 0, pb, tl.where(kind == 1, pc, px))
        else:
            p = tl.where(kind == 0, pb, px)
        w = tl.load(p + word)
        if m == 0:
            w0 = w
        elif m == 1:
            w1 = w
        else:
            w2 = w
    return w0, w1, w2


@triton.jit
def _rows_word(blk, s: tl.constexpr, zero_i):
    return _shfl(blk[s // 32], zero_i + s % 32)


@triton.jit
def _rows_row(blk, s0: tl.constexpr, zero_i):
    """The 8 words of slots ``s0 .. s0 + 7`` of a ``_rows_block`` in every lane: one row of one step."""
    return (_rows_word(blk, s0, zero_i), _rows_word(blk, s0 + 1, zero_i), _rows_word(blk, s0 + 2, zero_i),
            _rows_word(blk, s0 + 3, zero_i), _rows_word(blk, s0 + 4, zero_i), _rows_word(blk, s0 + 5, zero_i),
            _rows_word(blk, s0 + 6, zero_i), _rows_word(blk, s0 + 7, zero_i))


@triton.jit
def _h_off(k: tl.constexpr, BE: tl.constexpr, HW: tl.constexpr):
    """Where state k of a thread's channel sits in a step's ``[16 / HW, BE, HW]`` block, from the channel's first
    value (``c HW``): HW = 1 is ``[16, BE]`` (state k of the program's channels side by side); HW = 8 puts 8 states
    of a channel side by side (16 bytes in bf16: one vector access)."""
    return (k // HW) * (BE * HW) + k % HW


@triton.jit
def _put_h(p, k: tl.constexpr, h, BE: tl.constexpr, HW: tl.constexpr, m, NS: tl.constexpr):
    if k < NS:
        tl.store(p + _h_off(k, BE, HW), h.to(p.dtype.element_ty), mask=m)


@triton.jit
def _st_bf16x8(p, h0, h1, h2, h3, h4, h5, h6, h7, m):
    """Eight float32 values to 16 bytes at p (16-byte aligned) as bf16, one vector store where m: the scalar
    ``tl.store``s of ``_put_h`` are 8 stores and 8 conversions, these 4 packing conversions and 1 store."""
    return tl.inline_asm_elementwise(
        "{ .reg .pred p; .reg .b32 w0, w1, w2, w3; setp.ne.b32 p, $10, 0;"
        " cvt.rn.bf16x2.f32 w0, $2, $1; cvt.rn.bf16x2.f32 w1, $4, $3;"
        " cvt.rn.bf16x2.f32 w2, $6, $5; cvt.rn.bf16x2.f32 w3, $8, $7;"
        " @p st.global.v4.b32 [$9], {w0, w1, w2, w3}; mov.b32 $0, 0; }",
        "=r,f,f,f,f,f,f,f,f,l,r", [h0, h1, h2, h3, h4, h5, h6, h7, p.to(tl.int64), m.to(tl.int32)],
        dtype=tl.int32, is_pure=False, pack=1)


@triton.jit
def _put_h16(p, h, BE: tl.constexpr, HW: tl.constexpr, m, NS: tl.constexpr, HV: tl.constexpr):
    """A step's 16 states (a tuple) into ``hs`` at p (this thread's channel's first value). HV: by two vector
    stores (compiled CUDA, bf16 states, HW 8, NS 16)."""
    if HV:
        _st_bf16x8(p, h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], m)
        _st_bf16x8(p + BE * 8, h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15], m)
    else:
        for k in tl.static_range(16):
            _put_h(p, k, h[k], BE, HW, m, NS)


@triton.jit
def _a16(At_ptr, E, offs_e, mask_e, NS: tl.constexpr):
    """A^T's 16 rows at these channels, times log2(e): 16 ``[BE]`` vectors (zero past NS)."""
    return (_a2(At_ptr, 0, E, offs_e, mask_e, NS), _a2(At_ptr, 1, E, offs_e, mask_e, NS),
            _a2(At_ptr, 2, E, offs_e, mask_e, NS), _a2(At_ptr, 3, E, offs_e, mask_e, NS),
            _a2(At_ptr, 4, E, offs_e, mask_e, NS), _a2(At_ptr, 5, E, offs_e, mask_e, NS),
            _a2(At_ptr, 6, E, offs_e, mask_e, NS), _a2(At_ptr, 7, E, offs_e, mask_e, NS),
            _a2(At_ptr, 8, E, offs_e, mask_e, NS), _a2(At_ptr, 9, E, offs_e, mask_e, NS),
            _a2(At_ptr, 10, E, offs_e, mask_e, NS), _a2(At_ptr, 11, E, offs_e, mask_e, NS),
            _a2(At_ptr, 12, E, offs_e, mask_e, NS), _a2(At_ptr, 13, E, offs_e, mask_e, NS),
            _a2(At_ptr, 14, E, offs_e, mask_e, NS), _a2(At_ptr, 15, E, offs_e, mask_e, NS))


@triton.jit
def _fold16(h, sh, a, sdt, offs_e, mask_e, E, NS: tl.constexpr):
    """``_fold`` of a tuple of 16 states."""
    return (_fold(h[0], sh, 0, a[0], sdt, offs_e, mask_e, E, NS),
            _fold(h[1], sh, 1, a[1], sdt, offs_e, mask_e, E, NS),
            _fold(h[2], sh, 2, a[2], sdt, offs_e, mask_e, E, NS),
            _fold(h[3], sh, 3, a[3], sdt, offs_e, mask_e, E, NS),
            _fold(h[4], sh, 4, a[4], sdt, offs_e, mask_e, E, NS),
            _fold(h[5], sh, 5, a[5], sdt, offs_e, mask_e, E, NS),
            _fold(h[6], sh, 6, a[6], sdt, offs_e, mask_e, E, NS),
            _fold(h[7], sh, 7, a[7], sdt, offs_e, mask_e, E, NS),
            _fold(h[8], sh, 8, a[8], sdt, offs_e, mask_e, E, NS),
            _fold(h[9], sh, 9, a[9], sdt, offs_e, mask_e, E, NS),
            _fold(h[10], sh, 10, a[10], sdt, offs_e, mask_e, E, NS),
            _fold(h[11], sh, 11, a[11], sdt, offs_e, mask_e, E, NS),
            _fold(h[12], sh, 12, a[12], sdt, offs_e, mask_e, E, NS),
            _fold(h[13], sh, 13, a[13], sdt, offs_e, mask_e, E, NS),
            _fold(h[14], sh, 14, a[14], sdt, offs_e, mask_e, E, NS),
            _fold(h[15], sh, 15, a[15], sdt, offs_e, mask_e, E, NS))


@triton.jit
def _store_states16(st, h, offs_e, mask_e, N, NS: tl.constexpr):
    for k in tl.static_range(16):
        _store_state(st, k, h[k], offs_e, mask_e, N, NS)


@triton.jit
def _store_summary16(sh, h, offs_e, mask_e, E, NS: tl.constexpr):
    for k in tl.static_range(16):
        _store_summary(sh, k, h[k], offs_e, mask_e, E, NS)


@triton.jit
def _step16(h, a, dt, dtu, brow, crow, y, NS: tl.constexpr):
    """One step of a tuple of 16 states (``_upd``): returns the new states and ``y + sum_k h_k c_k`` (y: zeros,
    a register the caller has, rather than ``dt * 0``, one multiply more a step)."""
    h0, y = _upd(h[0], a[0], dt, dtu, brow[0], crow[0], 0, y, NS)
    h1, y = _upd(h[1], a[1], dt, dtu, brow[1], crow[1], 1, y, NS)
    h2, y = _upd(h[2], a[2], dt, dtu, brow[2], crow[2], 2, y, NS)
    h3, y = _upd(h[3], a[3], dt, dtu, brow[3], crow[3], 3, y, NS)
    h4, y = _upd(h[4], a[4], dt, dtu, brow[4], crow[4], 4, y, NS)
    h5, y = _upd(h[5], a[5], dt, dtu, brow[5], crow[5], 5, y, NS)
    h6, y = _upd(h[6], a[6], dt, dtu, brow[6], crow[6], 6, y, NS)
    h7, y = _upd(h[7], a[7], dt, dtu, brow[7], crow[7], 7, y, NS)
    h8, y = _upd(h[8], a[8], dt, dtu, brow[8], crow[8], 8, y, NS)
    h9, y = _upd(h[9], a[9], dt, dtu, brow[9], crow[9], 9, y, NS)
    h10, y = _upd(h[10], a[10], dt, dtu, brow[10], crow[10], 10, y, NS)
    h11, y = _upd(h[11], a[11], dt, dtu, brow[11], crow[11], 11, y, NS)
    h12, y = _upd(h[12], a[12], dt, dtu, brow[12], crow[12], 12, y, NS)
    h13, y = _upd(h[13], a[13], dt, dtu, brow[13], crow[13], 13, y, NS)
    h14, y = _upd(h[14], a[14], dt, dtu, brow[14], crow[14], 14, y, NS)
    h15, y = _upd(h[15], a[15], dt, dtu, brow[15], crow[15], 15, y, NS)
    return (h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13, h14, h15), y


@triton.jit
def _seq_dir(
        u_ptr, su_b, su_l, su_e, dt_ptr, sdt_b, sdt_l, sdt_e, B_ptr, sB_b, sB_l, sB_n, C_ptr, sC_b, sC_l, sC_n,
        At_ptr, D_ptr, bias_ptr, z_ptr, sz_b, sz_l, sz_e, o_ptr, so_b, so_l, so_e, st_ptr, seg_h_ptr, seg_dt_ptr,
        xr_ptr, sxr_b, sxr_l, sxr_k, Wt_ptr, hs_ptr, L, E, N, nchunks, seg_chunks, nseg, seg_off,
        BE: tl.constexpr, T: tl.constexpr, U: tl.constexpr, NS: tl.constexpr, REVERSE: tl.constexpr, PASS: tl.constexpr,
        COMBINE: tl.constexpr, HAS_D: tl.constexpr, GATE: tl.constexpr, SOFTPLUS: tl.constexpr,
        STORE_STATES: tl.constexpr, FAST: tl.constexpr = False,
        VEC: tl.constexpr = 0, F32: tl.constexpr = False, OFF64: tl.constexpr = True, DT_R: tl.constexpr = 0,
        VEC_X: tl.constexpr = 0, AHEAD: tl.constexpr = 1, SHFL: tl.constexpr = False, CPT: tl.constexpr = 1,
        STORE_HIST: tl.constexpr = False, HW: tl.constexpr = 1, HV: tl.constexpr = False):
    """One direction of the scan (``scan_seq_fwd_kernel`` documents the arguments); this program's segment is
    ``program_id(2) + seg_off`` (+ 1 in pass 1 of direction 1). With ``CPT`` 2 each thread also scans the
    channel ``BE`` on (the second set: ``*_2`` below), with the same B, C rows."""
    tl.static_assert(not STORE_HIST or DT_R == 0, "the stored states are the backward's: its dt, not a fused one")
    tl.static_assert(CPT == 1 or (CPT == 2 and U == 1), "two channels a thread need one step a loop trip")
    tl.static_assert(DT_R == 0 or (U == 1 and DT_R <= 16), "the fused dt_proj needs U == 1 and rank <= 16")
    tl.static_assert((AHEAD == 1 or AHEAD == 2 or AHEAD == 4) and T % AHEAD == 0 and (U == 1 or AHEAD == 1),
                     "AHEAD must be 1, 2 or 4, divide the chunk, and be 1 with U > 1")
    QUEUE: tl.constexpr = U == 1  # one step a trip: a step's loads come from the queue; U > 1: group prefetch
    # SHFL: the B, C (and dt_in) rows, the same in every lane, loaded 4 steps at a time spread over the lanes,
    # two blocks ahead, and handed to every lane by shuffles (the launcher checks AHEAD 4, bf16 rows, VEC,
    # VEC_X)
    JOINT: tl.constexpr = SHFL == 0
    NK: tl.constexpr = 1 + (PASS == 2) + (DT_R > 0)  # kinds of rows
    pid_e = tl.program_id(0)
    b = tl.program_id(1).to(tl.int64)
    # segment, in natural time order; pass 1 runs on all but the last segment in scan order (nobody needs its summary)
    s = tl.program_id(2) + seg_off + (1 if (PASS == 1 and REVERSE) else 0)
    offs_e = pid_e * BE * CPT + tl.arange(0, BE)  # [BE]
    mask_e = offs_e < E
    u_b, dt_b, B_b, C_b = u_ptr + b * su_b, dt_ptr + b * sdt_b, B_ptr + b * sB_b, C_ptr + b * sC_b
    z_b, o_b = z_ptr + b * sz_b, o_ptr + b * so_b
    a = _a16(At_ptr, E, offs_e, mask_e, NS)  # 16 [BE]
    bias = tl.load(bias_ptr + offs_e, mask=mask_e, other=0.0)  # [BE]
    Dv = tl.load(D_ptr + offs_e, mask=mask_e, other=0.0) if HAS_D else tl.zeros([BE], dtype=tl.float32)
    zero = tl.zeros([BE], dtype=tl.float32)
    zero_i = tl.zeros([BE], dtype=tl.int32)
    h = (zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero)  # 16 [BE]
    if CPT == 2:  # the second channel set's own per-channel values
        offs_2 = offs_e + BE  # [BE]
        mask_2 = offs_2 < E
        a_2 = _a16(At_ptr, E, offs_2, mask_2, NS)
        bias_2 = tl.load(bias_ptr + offs_2, mask=mask_2, other=0.0)  # [BE]
        D_2 = tl.load(D_ptr + offs_2, mask=mask_2, other=0.0) if HAS_D else zero
        h_2 = (zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero)
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
                h = _fold16(h, sh, a, sdt, offs_e, mask_e, E, NS)
                if CPT == 2:
                    sdt_2 = tl.load(seg_dt + sp * E + offs_2, mask=mask_2, other=0.0)  # [BE]
                    h_2 = _fold16(h_2, sh, a_2, sdt_2, offs_2, mask_2, E, NS)
    sumdt = zero
    sumdt_2 = zero
    c_lo = s * seg_chunks
    n_mine = tl.minimum(seg_chunks, nchunks - c_lo)  # chunks in this segment
    GPC: tl.constexpr = T // U  # groups of U steps per chunk
    rows = tl.arange(0, U)  # [U]
    t_hi = (c_lo + n_mine) * T  # one past the segment's last step
    t0 = t_hi - U if REVERSE else c_lo * T  # first step of the first group, in scan order
    xr_b = xr_ptr + b * sxr_b
    # STORE_HIST: the state entering every step, in the backward's buffer (scan_seq_hist_kernel's layout): a
    # block of BE channels owns [L, NS, BE] (HW 8: [L, NS / 8, BE, 8]); the second set (CPT 2) the next block
    n_blk = tl.cdiv(E, BE)
    hs_b = hs_ptr + (b * n_blk + pid_e * CPT) * L * NS * BE + tl.arange(0, BE) * HW  # [BE]
    has_2 = pid_e * CPT + 1 < n_blk  # with CPT 2, the second block exists
    w_dt = _w16(Wt_ptr, E, offs_e, mask_e, DT_R) if DT_R > 0 else zero
    SD: tl.constexpr = -1 if REVERSE else 1  # the next step, in scan order
    LZ: tl.constexpr = PASS == 2 and GATE
    LP: tl.constexpr = PASS == 2 and COMBINE
    # what every load of one step needs, as one tuple
    la = (rows, u_b, su_l, su_e, dt_b, sdt_l, sdt_e, z_b, sz_l, sz_e, o_b, so_l, so_e, offs_e, mask_e, L, B_b, sB_l,
          sB_n, C_b, sC_l, sC_n, xr_b, sxr_l, sxr_k, zero_i)
    if CPT == 2:
        la_2 = (rows, u_b, su_l, su_e, dt_b, sdt_l, sdt_e, z_b, sz_l, sz_e, o_b, so_l, so_e, offs_2, mask_2,
                L, B_b, sB_l, sB_n, C_b, sC_l, sC_n, xr_b, sxr_l, sxr_k, zero_i)
        w_dt_2 = _w16(Wt_ptr, E, offs_2, mask_2, DT_R) if DT_R > 0 else zero
    if QUEUE:
        # the queue: q1 holds the loads of step t0, q2 of step t0 + SD, ... (q1 again as placeholders past AHEAD)
        # (with SHFL the rows in blocks of 4 steps: rb1 holds steps t0 .., rb2 the next 4)
        q1 = _load_step(t0, la, LZ, LP, PASS == 2, OFF64, NS, VEC, F32, DT_R, VEC_X, JOINT)
        q2, q3, q4 = q1, q1, q1
        if AHEAD >= 2:
            q2 = _load_step(t0 + SD, la, LZ, LP, PASS == 2, OFF64, NS, VEC, F32, DT_R, VEC_X, JOINT)
        if AHEAD == 4:
            q3 = _load_step(t0 + 2 * SD, la, LZ, LP, PASS == 2, OFF64, NS, VEC, F32, DT_R, VEC_X, JOINT)
            q4 = _load_step(t0 + 3 * SD, la, LZ, LP, PASS == 2, OFF64, NS, VEC, F32, DT_R, VEC_X, JOINT)
        if CPT == 2:  # the second set's per-channel loads only (the rows are shared)
            p1 = _load_tiles(t0, la_2, LZ, LP, OFF64, DT_R)
            p2, p3, p4 = p1, p1, p1
            if AHEAD >= 2:
                p2 = _load_tiles(t0 + SD, la_2, LZ, LP, OFF64, DT_R)
            if AHEAD == 4:
                p3 = _load_tiles(t0 + 2 * SD, la_2, LZ, LP, OFF64, DT_R)
                p4 = _load_tiles(t0 + 3 * SD, la_2, LZ, LP, OFF64, DT_R)
        rb1 = (zero_i, zero_i, zero_i)
        rb2 = rb1
        rbc = rb1
        if SHFL:
            rb1 = _rows_block(t0, SD, la=la, NK=NK, LOAD_C=PASS == 2, OFF64=OFF64)
            rb2 = _rows_block(t0 + 4 * SD, SD, la=la, NK=NK, LOAD_C=PASS == 2, OFF64=OFF64)
    else:
        nxt = _load_group(t0, rows, u_b, su_l, su_e, dt_b, sdt_l, sdt_e, z_b, sz_l, sz_e, o_b, so_l, so_e, offs_e,
                          mask_e, L, LZ, LP, OFF64, True)
        t_first = _idx(tl.minimum(t_hi - 1, L - 1) if REVERSE else c_lo * T, OFF64)  # first step, in scan order
        nb = _bc_load(B_b + t_first * sB_l, sB_n, zero_i, NS, VEC, F32)
        nc = _bc_load(C_b + t_first * sC_l, sC_n, zero_i, NS, VEC, F32) if PASS == 2 else zero_i
        nx = zero_i
    # AHEAD steps a loop trip, unrolled, so the queue rotates by names, not by register moves (a segment's steps
    # are whole chunks, a multiple of AHEAD)
    for g_trip in range(0, n_mine * GPC, AHEAD):
        for jq in tl.static_range(AHEAD):
            g = g_trip + jq
            tg = t_hi - (g + 1) * U if REVERSE else c_lo * T + g * U  # lowest step of this group
            if QUEUE:
                # this step's loads were issued AHEAD steps ago from slot jq; reissue the slot for the step AHEAD steps
                # on (before this step's stores, which they could alias; a step past the segment is loaded, not used)
                tq = tg + AHEAD * SD
                if jq == 0:
                    nxt, nb, nc, nx = q1
                    q1 = _load_step(tq, la, LZ, LP, PASS == 2, OFF64, NS, VEC, F32, DT_R, VEC_X, JOINT)
                elif jq == 1:
                    nxt, nb, nc, nx = q2
                    q2 = _load_step(tq, la, LZ, LP, PASS == 2, OFF64, NS, VEC, F32, DT_R, VEC_X, JOINT)
                elif jq == 2:
                    nxt, nb, nc, nx = q3
                    q3 = _load_step(tq, la, LZ, LP, PASS == 2, OFF64, NS, VEC, F32, DT_R, VEC_X, JOINT)
                else:
                    nxt, nb, nc, nx = q4
                    q4 = _load_step(tq, la, LZ, LP, PASS == 2, OFF64, NS, VEC, F32, DT_R, VEC_X, JOINT)
                if CPT == 2:
                    if jq == 0:
                        nxt_2 = p1
                        p1 = _load_tiles(tq, la_2, LZ, LP, OFF64, DT_R)
                    elif jq == 1:
                        nxt_2 = p2
                        p2 = _load_tiles(tq, la_2, LZ, LP, OFF64, DT_R)
                    elif jq == 2:
                        nxt_2 = p3
                        p3 = _load_tiles(tq, la_2, LZ, LP, OFF64, DT_R)
                    else:
                        nxt_2 = p4
                        p4 = _load_tiles(tq, la_2, LZ, LP, OFF64, DT_R)
                if SHFL:  # this step's rows from the current block, by shuffles; a new block two blocks on
                    if jq == 0:
                        rbc = rb1
                        rb1 = rb2
                        rb2 = _rows_block(tg + 8 * SD, SD, la=la, NK=NK, LOAD_C=PASS == 2, OFF64=OFF64)
                    nb = _rows_row(rbc, jq * 8 * NK, zero_i)
                    if PASS == 2:
                        nc = _rows_row(rbc, jq * 8 * NK + 8, zero_i)
                    if DT_R > 0:
                        nx = _rows_row(rbc, jq * 8 * NK + 8 * (NK - 1), zero_i)
                u_t, pre_t, z_t, prev_t = nxt  # [1, BE] each
            else:
                u_t, pre_t, z_t, prev_t = nxt  # [U, BE] each
                # prefetch the next group: its loads are issued before this group's stores (which they could alias)
                nxt = _load_group(tg + U * SD, rows, u_b, su_l, su_e, dt_b, sdt_l, sdt_e, z_b, sz_l, sz_e, o_b, so_l,
                                  so_e, offs_e, mask_e, L, LZ, LP, OFF64, True)
            if DT_R > 0:  # dt_proj here, from this step's dt_in row
                xrow = _bc_unpack(nx, VEC_X, False)
                pre_t = _dot16(xrow, w_dt, DT_R)[None, :]  # [1, BE]
            if STORE_STATES:
                if g % GPC == 0:
                    c = (t_hi - g * U) // T - 1 if REVERSE else tg // T
                    st = st_ptr + (b * nchunks + c) * E * N  # the state entering chunk c, in scan order
                    _store_states16(st, h, offs_e, mask_e, N, NS)
                    if CPT == 2:
                        _store_states16(st, h_2, offs_2, mask_2, N, NS)
            t = tg + rows  # [U]
            valid = (t < L)[:, None]  # [U, 1]; a padded step leaves the state as it is: exp2(0) h + 0
            dt_t = _softplus_base2(pre_t + bias[None, :], FAST) if SOFTPLUS else pre_t + bias[None, :]  # [U, BE]
            dt_t = tl.where(valid, dt_t, 0.0)
            u_t = tl.where(valid, u_t, 0.0)
            dtu_t = dt_t * u_t  # [U, BE]
            y_t = tl.zeros([U, BE], dtype=tl.float32)
            for jj in tl.static_range(U):
                r = U - 1 - jj if REVERSE else jj  # row of this step, in scan order (a compile-time value)
                dt = _row(dt_t, rows, r)  # [BE]
                dtu = _row(dtu_t, rows, r)  # [BE]
                # this step's B, C rows were loaded earlier (U > 1: one step; else from the queue); with U > 1 issue the
                # next step's now (in scan order, clamped into the sequence), so their latency hides behind this step
                brow = _bc_unpack(nb, VEC, F32)
                crow = _bc_unpack(nc, VEC, F32) if PASS == 2 else brow  # pass 1 reads no C (crow is unused)
                if not QUEUE:
                    tn = _idx(tl.minimum(tl.maximum(tg + r + SD, 0), L - 1), OFF64)
                    nb = _bc_load(B_b + tn * sB_l, sB_n, zero_i, NS, VEC, F32)
                    nc = _bc_load(C_b + tn * sC_l, sC_n, zero_i, NS, VEC, F32) if PASS == 2 else zero_i
                if STORE_HIST:  # this step's h_{t-1}, stored from the registers it is in (no state kernel)
                    ph = hs_b + _idx(tl.minimum(tg + r, L - 1), OFF64) * (NS * BE)  # [BE]
                    _put_h16(ph, h, BE, HW, tg + r < L, NS, HV)
                    if CPT == 2:
                        _put_h16(ph + L * NS * BE, h_2, BE, HW, (tg + r < L) & has_2, NS, HV)
                h, y = _step16(h, a, dt, dtu, brow, crow, zero, NS)
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
                optrs = o_b + _idx(t, OFF64)[:, None] * so_l + offs_e[None, :] * so_e  # [U, BE]
                tl.store(optrs, y_t.to(o_ptr.dtype.element_ty), mask=tmask)
            if CPT == 2:  # the same step for the second set (U == 1), with this step's rows
                u2, pre2, z2, prev2 = nxt_2  # [1, BE] each
                if DT_R > 0:
                    pre2 = _dot16(xrow, w_dt_2, DT_R)[None, :]  # [1, BE]
                dt2 = _softplus_base2(pre2 + bias_2[None, :], FAST) if SOFTPLUS else pre2 + bias_2[None, :]
                dt2 = tl.where(valid, dt2, 0.0)  # [1, BE]
                u2 = tl.where(valid, u2, 0.0)
                h_2, y2 = _step16(h_2, a_2, _row(dt2, rows, 0), _row(dt2 * u2, rows, 0), brow, crow, zero, NS)
                if PASS == 1:
                    sumdt_2 += tl.sum(dt2, axis=0)
                else:
                    y2_t = y2[None, :]  # [1, BE]
                    if HAS_D:
                        y2_t += D_2[None, :] * u2
                    if COMBINE:
                        y2_t = (prev2.to(tl.float32) + y2_t) * 0.5
                    if GATE:
                        zv2 = z2.to(tl.float32)
                        y2_t = y2_t * zv2 * tl.sigmoid(zv2)
                    tmask2 = (t < L)[:, None] & mask_2[None, :]  # [1, BE]
                    optrs2 = o_b + _idx(t, OFF64)[:, None] * so_l + offs_2[None, :] * so_e  # [1, BE]
                    tl.store(optrs2, y2_t.to(o_ptr.dtype.element_ty), mask=tmask2)
    if PASS == 1:
        sh = seg_h + s * E * N
        _store_summary16(sh, h, offs_e, mask_e, E, NS)
        tl.store(seg_dt + s * E + offs_e, sumdt, mask=mask_e)
        if CPT == 2:
            _store_summary16(sh, h_2, offs_2, mask_2, E, NS)
            tl.store(seg_dt + s * E + offs_2, sumdt_2, mask=mask_2)


# The channel strides are not specialised to 1: with unit strides known, Triton vectorises the [U, BE] tile loads
# along channels, which spreads a tile's rows over lanes and needs shuffles and shared memory to pick one step.
@triton.jit(do_not_specialize=["su_e", "sdt_e", "sz_e", "so_e"])
def scan_seq_fwd_kernel(
        u_ptr, su_b, su_l, su_e, dt_ptr, sdt_b, sdt_l, sdt_e, B_ptr, sB_b, sB_l, sB_n, C_ptr, sC_b, sC_l, sC_n,
        At_ptr, D_ptr, bias_ptr, z_ptr, sz_b, sz_l, sz_e, o_ptr, so_b, so_l, so_e, st_ptr, seg_h_ptr, seg_dt_ptr,
        xr_ptr, sxr_b, sxr_l, sxr_k, Wt_ptr, hs_ptr, L, E, N, nchunks, seg_chunks, nseg,
        u1_ptr, dt1_ptr, B1_ptr, C1_ptr, At1_ptr, D1_ptr, bias1_ptr, o1_ptr, st1_ptr, seg_h1_ptr, seg_dt1_ptr, xr1_ptr,
        Wt1_ptr, hs1_ptr,
        BE: tl.constexpr, T: tl.constexpr, U: tl.constexpr, NS: tl.constexpr, REVERSE: tl.constexpr, PASS: tl.constexpr,
        COMBINE: tl.constexpr, HAS_D: tl.constexpr, GATE: tl.constexpr, SOFTPLUS: tl.constexpr,
        STORE_STATES: tl.constexpr, FAST: tl.constexpr = False,
        VEC: tl.constexpr = 0, F32: tl.constexpr = False, OFF64: tl.constexpr = True, DT_R: tl.constexpr = 0,
        VEC_X: tl.constexpr = 0, AHEAD: tl.constexpr = 1, BOTH: tl.constexpr = False,
        SHFL: tl.constexpr = False, CPT: tl.constexpr = 1, STORE_HIST: tl.constexpr = False, HW: tl.constexpr = 1,
        HV: tl.constexpr = False):
    """One direction of the scan, or with ``BOTH`` one pass of both. Grid ``(cdiv(E, BE), batch, nseg)``
    (``nseg - 1`` in pass 1; twice that with ``BOTH``); a thread per channel.

    u, dt, z, out: ``[b, l, e]`` by strides (``*_b, *_l, *_e``); B, C: ``[b, l, n]`` by strides; At: ``[N, E]``
    float32 (this direction's A transposed); D, bias: ``[E]`` float32 (this direction's). ``dt`` is the raw
    projection: bias and softplus are applied here. ``COMBINE``: out already holds direction 0's raw ``y``; write
    ``(y_0 + y) / 2``; otherwise ``y``; times ``silu(z)`` with ``GATE`` (set on the last direction only).
    st: chunk states ``[batch, nchunks, E, N]`` of this direction; seg_h ``[batch, nseg, N, E]`` and seg_dt
    ``[batch, nseg, E]``: pass 1's segment summaries of this direction. ``DT_R`` > 0 (one step a loop trip only):
    no dt tensor; the raw dt is dt_proj computed here, ``xr[b, l, :DT_R] @ Wt[:DT_R, e]`` (xr: x_proj's dt_in
    columns by strides ``sxr_*``; Wt: dt_proj's weight transposed, ``[DT_R, E]`` float32, DT_R <= 16). ``VEC_X``:
    xr rows by vector loads of 16 bf16 columns (the launcher checks that 16 are there; past DT_R they meet zero
    weights). ``AHEAD`` (1, 2 or 4; one step a loop trip): every load of a step is issued that many steps before
    the step, through a queue of registers (``q1`` .. ``q4``), so that more than one step's memory latency is in
    flight (with a few warps per SM a step otherwise waits on its loads: ROOFLINE.md).
    ``SHFL`` (compiled CUDA; AHEAD 4, bf16 rows read by vector loads): the B, C and dt_in rows, the same in
    every lane, are not queued in every lane (16 registers a row and step) but loaded 4 steps at a time with
    the words spread over the lanes (a few registers), two blocks ahead, and handed to all lanes by
    ``shfl.sync`` a word. ``CPT`` 2 (one step a loop trip): a program covers ``2 BE`` channels, each thread
    channel c and c + BE, which share the step's B, C (and dt_in) rows: their loads and unpacking are paid
    once for two channels.

    ``STORE_HIST`` (pass 2, training): the state entering every step into hs (``hs1`` for direction 1) in the
    two-launch backward's layout (``scan_seq_hist_kernel``; ``HW``, ``HV`` as there), so that the backward needs
    no state kernel.

    ``BOTH``: the upper half of the grid's third axis runs direction 1 (right-to-left) from the ``*1_ptr`` tensors,
    whose strides are those of direction 0's: one launch instead of two, and twice the warps to hide latency. In
    pass 2 neither half combines nor gates (the halves run concurrently): direction 0 writes its raw ``y`` into
    ``out``, direction 1 into ``o1``, and ``gate_average_kernel`` combines them.
    """
    if BOTH:
        tl.static_assert(not (COMBINE or GATE), "with BOTH, gate_average_kernel combines the directions")
        half = nseg - 1 if PASS == 1 else nseg  # programs per direction on the grid's third axis
        if tl.program_id(2) < half:
            _seq_dir(u_ptr, su_b, su_l, su_e, dt_ptr, sdt_b, sdt_l, sdt_e, B_ptr, sB_b, sB_l, sB_n, C_ptr, sC_b, sC_l,
                     sC_n, At_ptr, D_ptr, bias_ptr, z_ptr, sz_b, sz_l, sz_e, o_ptr, so_b, so_l, so_e, st_ptr, seg_h_ptr,
                     seg_dt_ptr, xr_ptr, sxr_b, sxr_l, sxr_k, Wt_ptr, hs_ptr, L, E, N, nchunks, seg_chunks, nseg, 0,
                     BE, T, U, NS, False, PASS, False, HAS_D, False, SOFTPLUS, STORE_STATES, FAST, VEC, F32, OFF64,
                     DT_R, VEC_X, AHEAD, SHFL, CPT, STORE_HIST, HW, HV)
        else:
            _seq_dir(u1_ptr, su_b, su_l, su_e, dt1_ptr, sdt_b, sdt_l, sdt_e, B1_ptr, sB_b, sB_l, sB_n, C1_ptr, sC_b,
                     sC_l, sC_n, At1_ptr, D1_ptr, bias1_ptr, z_ptr, sz_b, sz_l, sz_e, o1_ptr, so_b, so_l, so_e,
                     st1_ptr, seg_h1_ptr, seg_dt1_ptr, xr1_ptr, sxr_b, sxr_l, sxr_k, Wt1_ptr, hs1_ptr, L, E, N, nchunks,
                     seg_chunks, nseg, -half, BE, T, U, NS, True, PASS, False, HAS_D, False, SOFTPLUS, STORE_STATES,
                     FAST, VEC, F32, OFF64, DT_R, VEC_X, AHEAD, SHFL, CPT, STORE_HIST, HW, HV)
    else:
        _seq_dir(u_ptr, su_b, su_l, su_e, dt_ptr, sdt_b, sdt_l, sdt_e, B_ptr, sB_b, sB_l, sB_n, C_ptr, sC_b, sC_l,
                 sC_n, At_ptr, D_ptr, bias_ptr, z_ptr, sz_b, sz_l, sz_e, o_ptr, so_b, so_l, so_e, st_ptr, seg_h_ptr,
                 seg_dt_ptr, xr_ptr, sxr_b, sxr_l, sxr_k, Wt_ptr, hs_ptr, L, E, N, nchunks, seg_chunks, nseg, 0,
                 BE, T, U, NS, REVERSE, PASS, COMBINE, HAS_D, GATE, SOFTPLUS, STORE_STATES, FAST, VEC, F32, OFF64,
                 DT_R, VEC_X, AHEAD, SHFL, CPT, STORE_HIST, HW, HV)


@triton.jit
def gate_average_kernel(y0_ptr, y1_ptr, sy_b, sy_l, sy_e, z_ptr, sz_b, sz_l, sz_e, L, E,
                        BL: tl.constexpr, BE: tl.constexpr, GATE: tl.constexpr, KEEP: tl.constexpr = False):
    """``y0 <- (y0 + y1) / 2 * silu(z)`` (without ``GATE``: no gate), in float32, after a ``BOTH`` pass 2. y0, y1
    ``[b, l, e]`` by the same strides (``sy_*``), z by its own. With KEEP also ``y1 <- (y0 + y1) / 2`` (ungated:
    the seq backward's dz needs it). Grid ``(cdiv(L, BL), cdiv(E, BE), batch)``."""
    b = tl.program_id(2).to(tl.int64)
    offs_l = tl.program_id(0) * BL + tl.arange(0, BL)  # [BL]
    offs_e = tl.program_id(1) * BE + tl.arange(0, BE)  # [BE]
    m = (offs_l < L)[:, None] & (offs_e < E)[None, :]  # [BL, BE]
    yo = b * sy_b + offs_l[:, None].to(tl.int64) * sy_l + offs_e[None, :] * sy_e  # [BL, BE]
    y = (tl.load(y0_ptr + yo, mask=m, other=0.0).to(tl.float32)
         + tl.load(y1_ptr + yo, mask=m, other=0.0).to(tl.float32)) * 0.5  # [BL, BE]
    if KEEP:
        tl.store(y1_ptr + yo, y.to(y1_ptr.dtype.element_ty), mask=m)
    if GATE:
        zo = b * sz_b + offs_l[:, None].to(tl.int64) * sz_l + offs_e[None, :] * sz_e  # [BL, BE]
        zv = tl.load(z_ptr + zo, mask=m, other=0.0).to(tl.float32)
        y = y * zv * tl.sigmoid(zv)
    tl.store(y0_ptr + yo, y.to(y0_ptr.dtype.element_ty), mask=m)
