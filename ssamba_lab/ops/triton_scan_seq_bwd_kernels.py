"""Triton backward of the selective scan in the seq forward's shape: one thread per channel, the state in registers.

Why a second backward: the chunked one (``triton_scan_kernels.py``) runs two ``associative_scan``s over ``[T, BE,
NP]`` tiles whose layout needs shuffles, barriers and layout conversions every step, at 255 registers with spills
(ROOFLINE.md): forward + backward took 12.1 ms per layer at 64 x 512 tokens (ssamba-tiny, H200), against
3.35 ms for mamba-ssm and 2.84 ms with this kernel (benchmarks/results/GPU_SEQ_BWD_2026-12-02.md). Here, as in
``triton_scan_seq_kernels.py``, every tensor is a 1-D ``[BE]`` vector, one channel per thread, and the 16 state
elements are scalar registers (``*0 .. *15``, written out because Triton has no register arrays).

Per direction, with ``a_t = exp(dt_t A)``, ``h_t = a_t h_{t-1} + dt_t u_t B_t``, ``y_t = C_t h_t + D u_t``, the
adjoint ``g_t = dL/dh_t = gy_t C_t + a_{t+1} g_{t+1}`` runs in the opposite order to the scan, and every step then
gives (per state k, summed over k where it says so)::

    du_t  = dt_t sum_k g_k B_k + D gy_t            d(dt_t) = u_t sum_k g_k B_k + sum_k A_k g_k a_k h_{t-1,k}
    dA_k += dt_t g_k a_k h_{t-1,k}                 dB_t,k  = sum over channels of g_k dt_t u_t
    dD   += gy_t u_t                               dC_t,k  = sum over channels of gy_t h_t,k

The adjoint needs ``h_{t-1}`` in reverse order. The forward stored the state entering every chunk of ``T`` steps;
from it each chunk is recomputed twice, at two granularities, so that a program's scratch stays small:

1. scan the chunk in scan order and keep the state entering each group of ``G`` steps (``T / G`` states) in a
   per-program scratch (skipped when ``G == T``: the one group's state is the chunk state);
2. per group, in adjoint order: recompute its ``G`` steps from the group's state, keeping each step's ``h_{t-1}``
   in the scratch, then walk the ``G`` steps back, reading ``h_{t-1}``.

The scratch is written and read by the same thread, so it needs no barrier; at ``T = 32, G = 8`` it is 24 KB per
program of one warp, 38 MB for the whole launch at 64 x 512 tokens, e = 384: meant to stay in L1 / L2 (not
profiled). ``dB`` and ``dC`` are sums over channels: each warp reduces over its 32 channels and adds the result
atomically (``E / 32`` warps per address). Both directions
run in one launch (grid axis 2), so the two halves of ``dz = go silu'(z) (y_0 + y_1) / 2`` go to separate float32
buffers that the launcher adds.

The same backward also runs in two launches (``scan_seq_hist_kernel``, then ``scan_seq_bwd_hist_kernel``, below;
the default where its buffer fits): every step's state first, in parallel over chunks, then the adjoint with no
recompute.
"""
from __future__ import annotations

import triton
import triton.language as tl

from .triton_scan_seq_kernels import (
    _a16,
    _bc_load,
    _bc_unpack,
    _h_off,
    _idx,
    _ld_v4,
    _load_state,
    _put_h16,
    _softplus_base2,
    _step16,
)

LN2 = tl.constexpr(0.6931471805599453)


@triton.jit
def _pick(d, p0, p1):
    """p0 for direction 0, else p1 (a runtime choice: both directions run in one launch)."""
    p = p1
    if d == 0:
        p = p0
    return p


@triton.jit
def _put(p, k: tl.constexpr, h, BE: tl.constexpr, NS: tl.constexpr):
    """State k of this program's channels into a scratch slot ``[16, BE]`` (coalesced)."""
    if k < NS:
        tl.store(p + k * BE, h)


@triton.jit
def _get(p, k: tl.constexpr, BE: tl.constexpr, NS: tl.constexpr):
    if k < NS:
        return tl.load(p + k * BE)
    else:
        return tl.zeros([BE], dtype=tl.float32)


@triton.jit
def _adj(k: tl.constexpr, hp, a2, q, ga, dt, dtu, gy, b_k, c_k, y, sb, sa, NS: tl.constexpr):
    """State k of one adjoint step. hp: h_{t-1,k}; q: a_{t+1} g_{t+1} (the adjoint carried in); returns the new
    carry a_t g_t, the dA accumulator, y, the sums over k of g B (sb) and of A g a h_{t-1} / ln 2 (sa), and this
    thread's terms of dB_t,k and dC_t,k (to be summed over channels)."""
    if k < NS:
        a = tl.exp2(dt * a2)  # [BE] the step's decay, recomputed
        h = a * hp + dtu * b_k  # [BE] h_t
        y = y + c_k * h
        g = c_k * gy + q  # [BE] g_t
        sb = sb + g * b_k
        w = g * a * hp  # [BE] dL/d(dt A) at this state
        sa = sa + a2 * w
        ga = ga + dt * w
        q = a * g
        return q, ga, y, sb, sa, g * dtu, gy * h
    else:
        return q, ga, y, sb, sa, q, q


@triton.jit
def _sum_out(row, k: tl.constexpr, v, tvalid, NS: tl.constexpr):
    """This program's sum over channels of state k's term, added to ``row[k]`` (the portable path)."""
    if k < NS:
        tl.atomic_add(row + k, tl.sum(v, axis=0), mask=tvalid, sem="relaxed")


@triton.jit
def _shfl_xor(x, m):
    """x of the lane whose index differs by the bits m (``shfl.sync.bfly``; compiled CUDA only)."""
    return tl.inline_asm_elementwise("shfl.sync.bfly.b32 $0, $1, $2, 31, 0xffffffff;", "=f,f,r", [x, m],
                                     dtype=tl.float32, is_pure=True, pack=1)


@triton.jit
def _half(lo, hi, bit, m):
    """One butterfly level: a lane keeps lo (bit clear) or hi (bit set), sends the other to its partner across bit
    m and adds what it receives, so each pair of lanes now holds half as many values, summed over both."""
    keep = tl.where(bit, hi, lo)
    send = tl.where(bit, lo, hi)
    return keep + _shfl_xor(send, m)


@triton.jit
def _sum16_lanes(v, lane, zero_i):
    """Sums over a warp's 32 lanes of 16 values at once (a transposing butterfly, 16 shuffles instead of 16 x 5):
    lane l returns the sum for value ``(l >> 1) & 15``."""
    b4 = (lane & 16) != 0
    b3 = (lane & 8) != 0
    b2 = (lane & 4) != 0
    b1 = (lane & 2) != 0
    m16 = zero_i + 16
    w0 = _half(v[0], v[8], b4, m16)
    w1 = _half(v[1], v[9], b4, m16)
    w2 = _half(v[2], v[10], b4, m16)
    w3 = _half(v[3], v[11], b4, m16)
    w4 = _half(v[4], v[12], b4, m16)
    w5 = _half(v[5], v[13], b4, m16)
    w6 = _half(v[6], v[14], b4, m16)
    w7 = _half(v[7], v[15], b4, m16)
    m8 = zero_i + 8
    x0 = _half(w0, w4, b3, m8)
    x1 = _half(w1, w5, b3, m8)
    x2 = _half(w2, w6, b3, m8)
    x3 = _half(w3, w7, b3, m8)
    m4 = zero_i + 4
    y0 = _half(x0, x2, b2, m4)
    y1 = _half(x1, x3, b2, m4)
    z0 = _half(y0, y1, b1, zero_i + 2)
    return z0 + _shfl_xor(z0, zero_i + 1)


@triton.jit
def _adj_out(dB, dC, y, sb, sa, u, dt, pre, gy, go, zv, sz, Dv, gD, gbias, m, tv, ti, tb_n, lane, s_lane, zero_i,
             gB_b, gC_b, gu_b, sgu_l, sgu_e, gdt_b, sgdt_l, sgdt_e, gz_b, sgz_l, sgz_e, offs_e, gscale, first,
             NS: tl.constexpr, HAS_D: tl.constexpr, HAS_Z: tl.constexpr, SOFTPLUS: tl.constexpr,
             BFLY: tl.constexpr, YS: tl.constexpr):
    """What an adjoint step writes once its 16 states are done (``_adj``): dB, dC summed over channels into
    their rows, du, d(dt) (raw, before bias and softplus) and this direction's dz term; returns the dD and
    d(bias) accumulators. dB, dC: this thread's 16 terms each; y, sb, sa: the sums over states. With YS, y is
    the forward's ``(y_0 + y_1) / 2`` and direction 0 (``first``) writes the whole dz; else y is this direction's
    output, recomputed, and each direction writes its float32 term."""
    if BFLY:  # lane l ends with state (l >> 1) & 15 summed over its warp; even lanes add it
        m_red = ((lane & 1) == 0) & (s_lane < NS) & tv
        tl.atomic_add(gB_b + tb_n + s_lane, _sum16_lanes(dB, lane, zero_i), mask=m_red, sem="relaxed")
        tl.atomic_add(gC_b + tb_n + s_lane, _sum16_lanes(dC, lane, zero_i), mask=m_red, sem="relaxed")
    else:
        for k in tl.static_range(16):
            _sum_out(gB_b + tb_n, k, dB[k], tv, NS)
            _sum_out(gC_b + tb_n, k, dC[k], tv, NS)
    gu = dt * sb  # [BE]
    if HAS_D:
        if not YS:
            y = y + Dv * u
        gu = gu + Dv * gy
        gD += gy * u
    gpre = sb * u + sa * LN2  # [BE] dL/d(dt)
    if SOFTPLUS:
        gpre = gpre * tl.sigmoid(pre)
    gpre = tl.where(m, gpre, 0.0)
    gbias += gpre
    tl.store(gu_b + ti * sgu_l + offs_e * sgu_e, gu.to(gu_b.dtype.element_ty), mask=m)
    tl.store(gdt_b + ti * sgdt_l + offs_e * sgdt_e, gpre.to(gdt_b.dtype.element_ty), mask=m)
    if HAS_Z:
        if YS:
            gz = go * y * sz * (1.0 + zv * (1.0 - sz))  # [BE] dz, both directions' terms
            tl.store(gz_b + ti * sgz_l + offs_e * sgz_e, gz.to(gz_b.dtype.element_ty), mask=m & first)
        else:
            gz = go * y * gscale * sz * (1.0 + zv * (1.0 - sz))  # [BE] this direction's term of dz
            tl.store(gz_b + ti * sgz_l + offs_e * sgz_e, gz, mask=m)
    return gD, gbias


@triton.jit
def _step_in(t, u_b, su_l, su_e, dt_b, sdt_l, sdt_e, offs_e, mask_e, bias, L, SOFTPLUS: tl.constexpr,
             FAST: tl.constexpr, OFF64: tl.constexpr):
    """u_t, dt_t (bias and softplus applied), dt_t u_t and the pre-activation; all zero past the sequence's end
    (a padded step leaves the state as it is)."""
    tv = t < L
    ti = _idx(t, OFF64)
    m = mask_e & tv
    u = tl.load(u_b + ti * su_l + offs_e * su_e, mask=m, other=0.0).to(tl.float32)  # [BE]
    pre = tl.load(dt_b + ti * sdt_l + offs_e * sdt_e, mask=m, other=0.0).to(tl.float32) + bias  # [BE]
    dt = _softplus_base2(pre, FAST) if SOFTPLUS else pre
    dt = tl.where(m, dt, 0.0)
    return u, dt, dt * u, pre


@triton.jit
def _fwd16(h, a, dt, dtu, brow, NS: tl.constexpr):
    """h <- exp2(dt a2) h + dt u B_t for a tuple of 16 states (no output: ``_step16``'s sum is dead code here)."""
    h, _ = _step16(h, a, dt, dtu, brow, brow, dt, NS)
    return h


@triton.jit
def _put16(p, h, BE: tl.constexpr, NS: tl.constexpr):
    """A tuple of 16 states into a scratch slot ``[16, BE]``."""
    for k in tl.static_range(16):
        _put(p, k, h[k], BE, NS)


@triton.jit
def _get16(p, BE: tl.constexpr, NS: tl.constexpr):
    return (_get(p, 0, BE, NS), _get(p, 1, BE, NS), _get(p, 2, BE, NS), _get(p, 3, BE, NS),
            _get(p, 4, BE, NS), _get(p, 5, BE, NS), _get(p, 6, BE, NS), _get(p, 7, BE, NS),
            _get(p, 8, BE, NS), _get(p, 9, BE, NS), _get(p, 10, BE, NS), _get(p, 11, BE, NS),
            _get(p, 12, BE, NS), _get(p, 13, BE, NS), _get(p, 14, BE, NS), _get(p, 15, BE, NS))


@triton.jit
def _load_states16(st, offs_e, mask_e, N, NS: tl.constexpr):
    """The 16 states of an ``[E, N]`` state row (a chunk state of the forward's) at this program's channels."""
    return (_load_state(st, 0, offs_e, mask_e, N, NS), _load_state(st, 1, offs_e, mask_e, N, NS),
            _load_state(st, 2, offs_e, mask_e, N, NS), _load_state(st, 3, offs_e, mask_e, N, NS),
            _load_state(st, 4, offs_e, mask_e, N, NS), _load_state(st, 5, offs_e, mask_e, N, NS),
            _load_state(st, 6, offs_e, mask_e, N, NS), _load_state(st, 7, offs_e, mask_e, N, NS),
            _load_state(st, 8, offs_e, mask_e, N, NS), _load_state(st, 9, offs_e, mask_e, N, NS),
            _load_state(st, 10, offs_e, mask_e, N, NS), _load_state(st, 11, offs_e, mask_e, N, NS),
            _load_state(st, 12, offs_e, mask_e, N, NS), _load_state(st, 13, offs_e, mask_e, N, NS),
            _load_state(st, 14, offs_e, mask_e, N, NS), _load_state(st, 15, offs_e, mask_e, N, NS))


@triton.jit
def _hk(hp, k: tl.constexpr, BE: tl.constexpr, NS: tl.constexpr, LD: tl.constexpr):
    """State k of h_{t-1}: ``hp[k]``, or with LD loaded from the scratch slot hp where it is used (loading all 16
    first costs the one-launch kernel 3% more instructions a step)."""
    if LD:
        return _get(hp, k, BE, NS)
    else:
        return hp[k]


@triton.jit
def _adj16(hp, a, q, ga, dt, dtu, gy, brow, crow, zero, BE: tl.constexpr, NS: tl.constexpr, LD: tl.constexpr):
    """One adjoint step of the 16 states (``_adj``; tuples hp: h_{t-1} (with LD its scratch slot, ``_hk``),
    a: A / ln 2, q: the carry, ga: the dA accumulators). Returns the new q and ga, y and the sums over states sb
    and sa, and this thread's terms of dB_t and dC_t (tuples of 16, to be summed over channels)."""
    y, sb, sa = zero, zero, zero
    q0, g0, y, sb, sa, b0, c0 = _adj(0, _hk(hp, 0, BE, NS, LD), a[0], q[0], ga[0], dt, dtu, gy, brow[0],
                                     crow[0], y, sb, sa, NS)
    q1, g1, y, sb, sa, b1, c1 = _adj(1, _hk(hp, 1, BE, NS, LD), a[1], q[1], ga[1], dt, dtu, gy, brow[1],
                                     crow[1], y, sb, sa, NS)
    q2, g2, y, sb, sa, b2, c2 = _adj(2, _hk(hp, 2, BE, NS, LD), a[2], q[2], ga[2], dt, dtu, gy, brow[2],
                                     crow[2], y, sb, sa, NS)
    q3, g3, y, sb, sa, b3, c3 = _adj(3, _hk(hp, 3, BE, NS, LD), a[3], q[3], ga[3], dt, dtu, gy, brow[3],
                                     crow[3], y, sb, sa, NS)
    q4, g4, y, sb, sa, b4, c4 = _adj(4, _hk(hp, 4, BE, NS, LD), a[4], q[4], ga[4], dt, dtu, gy, brow[4],
                                     crow[4], y, sb, sa, NS)
    q5, g5, y, sb, sa, b5, c5 = _adj(5, _hk(hp, 5, BE, NS, LD), a[5], q[5], ga[5], dt, dtu, gy, brow[5],
                                     crow[5], y, sb, sa, NS)
    q6, g6, y, sb, sa, b6, c6 = _adj(6, _hk(hp, 6, BE, NS, LD), a[6], q[6], ga[6], dt, dtu, gy, brow[6],
                                     crow[6], y, sb, sa, NS)
    q7, g7, y, sb, sa, b7, c7 = _adj(7, _hk(hp, 7, BE, NS, LD), a[7], q[7], ga[7], dt, dtu, gy, brow[7],
                                     crow[7], y, sb, sa, NS)
    q8, g8, y, sb, sa, b8, c8 = _adj(8, _hk(hp, 8, BE, NS, LD), a[8], q[8], ga[8], dt, dtu, gy, brow[8],
                                     crow[8], y, sb, sa, NS)
    q9, g9, y, sb, sa, b9, c9 = _adj(9, _hk(hp, 9, BE, NS, LD), a[9], q[9], ga[9], dt, dtu, gy, brow[9],
                                     crow[9], y, sb, sa, NS)
    q10, g10, y, sb, sa, b10, c10 = _adj(10, _hk(hp, 10, BE, NS, LD), a[10], q[10], ga[10], dt, dtu, gy, brow[10],
                                         crow[10], y, sb, sa, NS)
    q11, g11, y, sb, sa, b11, c11 = _adj(11, _hk(hp, 11, BE, NS, LD), a[11], q[11], ga[11], dt, dtu, gy, brow[11],
                                         crow[11], y, sb, sa, NS)
    q12, g12, y, sb, sa, b12, c12 = _adj(12, _hk(hp, 12, BE, NS, LD), a[12], q[12], ga[12], dt, dtu, gy, brow[12],
                                         crow[12], y, sb, sa, NS)
    q13, g13, y, sb, sa, b13, c13 = _adj(13, _hk(hp, 13, BE, NS, LD), a[13], q[13], ga[13], dt, dtu, gy, brow[13],
                                         crow[13], y, sb, sa, NS)
    q14, g14, y, sb, sa, b14, c14 = _adj(14, _hk(hp, 14, BE, NS, LD), a[14], q[14], ga[14], dt, dtu, gy, brow[14],
                                         crow[14], y, sb, sa, NS)
    q15, g15, y, sb, sa, b15, c15 = _adj(15, _hk(hp, 15, BE, NS, LD), a[15], q[15], ga[15], dt, dtu, gy, brow[15],
                                         crow[15], y, sb, sa, NS)
    return ((q0, q1, q2, q3, q4, q5, q6, q7, q8, q9, q10, q11, q12, q13, q14, q15),
            (g0, g1, g2, g3, g4, g5, g6, g7, g8, g9, g10, g11, g12, g13, g14, g15), y, sb, sa,
            (b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15),
            (c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15))


@triton.jit
def _ga_out(p, k: tl.constexpr, ga, offs_e, mask_e, N, NS: tl.constexpr):
    if k < NS:
        tl.atomic_add(p + offs_e * N + k, ga, mask=mask_e, sem="relaxed")


@triton.jit
def _ga_out16(gA, ga, offs_e, mask_e, N, NS: tl.constexpr):
    """The 16 dA accumulators (a tuple) added into ``gA [E, N]``."""
    for k in tl.static_range(16):
        _ga_out(gA, k, ga[k], offs_e, mask_e, N, NS)


# Channel strides are not specialised to 1, as in the seq forward: the [BE] vectors stay one element a thread.
@triton.jit(do_not_specialize=["su_e", "sdt_e", "sz_e", "sg_e", "sgu_e", "sgdt_e", "sgz_e", "T_rt", "G_rt"])
def scan_seq_bwd_kernel(
        u0_ptr, u1_ptr, su_b, su_l, su_e, dt0_ptr, dt1_ptr, sdt_b, sdt_l, sdt_e,
        B0_ptr, B1_ptr, sB_b, sB_l, sB_n, C0_ptr, C1_ptr, sC_b, sC_l, sC_n,
        At_ptr, D_ptr, bias_ptr, z_ptr, sz_b, sz_l, sz_e, g_ptr, sg_b, sg_l, sg_e, st_ptr, scr_ptr,
        gu_ptr, sgu_d, sgu_b, sgu_l, sgu_e, gdt_ptr, sgdt_d, sgdt_b, sgdt_l, sgdt_e, gB_ptr, gC_ptr,
        gz_ptr, sgz_d, sgz_b, sgz_l, sgz_e, gA_ptr, gD_ptr, gbias_ptr,
        batch, L, E, N, nchunks, T_rt, G_rt,
        BE: tl.constexpr, T: tl.constexpr, G: tl.constexpr, NS: tl.constexpr, NDIR: tl.constexpr,
        HAS_D: tl.constexpr, HAS_Z: tl.constexpr, SOFTPLUS: tl.constexpr, FAST: tl.constexpr = False,
        VEC: tl.constexpr = 0, F32: tl.constexpr = False, OFF64: tl.constexpr = True, BFLY: tl.constexpr = False):
    """Grid ``(cdiv(E, BE), batch, NDIR)``; a thread per channel; direction 1 (if any) scans right-to-left.

    u*, dt*, z, g (the output's gradient): ``[b, l, e]`` by strides; B*, C*: ``[b, l, n]`` by strides (the two
    directions' tensors share strides); At ``[NDIR, N, E]``, D, bias ``[NDIR, E]`` float32; st: the forward's
    chunk states ``[NDIR, batch, nchunks, E, N]`` (the state entering each chunk of T steps, in scan order);
    scr: float32 scratch, ``(T / G + G) * 16 * BE`` per program. Outputs: gu, gdt ``[NDIR, b, l, e]`` by strides
    (gdt is the gradient of the raw dt, before bias and softplus); gB, gC float32 ``[NDIR, batch, L, N]``, gA
    ``[NDIR, E, N]``, gD, gbias ``[NDIR, E]``, all zeroed (atomic sums); gz float32 ``[NDIR, b, l, e]`` by
    strides: each direction's term of dz (the launcher adds them). T_rt, G_rt: T and G again, as runtime values,
    so that the step loops stay loops. BFLY (compiled CUDA, d_state 16 or less): dB, dC summed over each warp by
    ``_sum16_lanes``, then one vector atomic each; else ``tl.sum`` and one scalar atomic per state.
    """
    tl.static_assert(T % G == 0, "the group size must divide the chunk")
    pid_e = tl.program_id(0)
    b = tl.program_id(1).to(tl.int64)
    d = tl.program_id(2)
    rev = d  # direction 1 scans right-to-left: its adjoint runs left-to-right
    offs_e = pid_e * BE + tl.arange(0, BE)  # [BE]
    mask_e = offs_e < E
    u_b = _pick(d, u0_ptr, u1_ptr) + b * su_b
    dt_b = _pick(d, dt0_ptr, dt1_ptr) + b * sdt_b
    B_b = _pick(d, B0_ptr, B1_ptr) + b * sB_b
    C_b = _pick(d, C0_ptr, C1_ptr) + b * sC_b
    z_b = z_ptr + b * sz_b
    g_b = g_ptr + b * sg_b
    gu_b = gu_ptr + d * sgu_d + b * sgu_b
    gdt_b = gdt_ptr + d * sgdt_d + b * sgdt_b
    gz_b = gz_ptr + d * sgz_d + b * sgz_b
    gB_b = gB_ptr + (d * batch + b) * L * N
    gC_b = gC_ptr + (d * batch + b) * L * N
    a = _a16(At_ptr + d * N * E, E, offs_e, mask_e, NS)  # 16 [BE]: A / ln 2
    bias = tl.load(bias_ptr + d * E + offs_e, mask=mask_e, other=0.0)  # [BE]
    Dv = tl.load(D_ptr + d * E + offs_e, mask=mask_e, other=0.0) if HAS_D else tl.zeros([BE], dtype=tl.float32)
    zero = tl.zeros([BE], dtype=tl.float32)
    zero_i = tl.zeros([BE], dtype=tl.int32)
    lane = tl.arange(0, BE) % 32  # [BE] a thread per channel: element i sits in lane i % 32
    s_lane = (lane >> 1) & 15  # [BE] the state a lane's butterfly sum belongs to
    gscale = 0.5 if NDIR == 2 else 1.0
    # adjoint carry q_k = a_{t+1} g_{t+1}, and the dA accumulators
    zeros16 = (zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero)
    q = zeros16
    ga = zeros16
    gD = zero
    gbias = zero
    NG: tl.constexpr = T // G
    scr = scr_ptr + ((d * batch + b) * tl.num_programs(0) + pid_e) * ((NG + G) * 16 * BE) + tl.arange(0, BE)
    scr_steps = scr + NG * 16 * BE  # [G, 16, BE]: h_{t-1} of each step of the current group
    st_b = st_ptr + (d * batch + b) * nchunks * E * N
    for i in range(nchunks):
        c = i + (1 - rev) * (nchunks - 1 - 2 * i)  # chunks in adjoint order
        t_c = c * T
        # 1. the chunk in scan order; keep the state entering each group
        h = _load_states16(st_b + c * E * N, offs_e, mask_e, N, NS)
        if NG > 1:  # with one group a chunk (G == T) the chunk's state is the group's: no first recompute
            for j in range(T_rt):
                if j % G == 0:
                    _put16(scr + (j // G) * 16 * BE, h, BE, NS)
                t = t_c + j + rev * (T - 1 - 2 * j)  # scan order
                u, dt, dtu, pre = _step_in(t, u_b, su_l, su_e, dt_b, sdt_l, sdt_e, offs_e, mask_e, bias, L,
                                           SOFTPLUS, FAST, OFF64)
                brow = _bc_unpack(_bc_load(B_b + _idx(tl.minimum(t, L - 1), OFF64) * sB_l, sB_n, zero_i, NS, VEC,
                                           F32), VEC, F32)
                h = _fwd16(h, a, dt, dtu, brow, NS)
        # 2. the groups in adjoint order
        for gi2 in range(NG):
            gi = NG - 1 - gi2
            if NG > 1:
                h = _get16(scr + gi * 16 * BE, BE, NS)
            for jj in range(G_rt):  # recompute the group, keeping each step's h_{t-1}
                _put16(scr_steps + jj * 16 * BE, h, BE, NS)
                j = gi * G + jj
                t = t_c + j + rev * (T - 1 - 2 * j)
                u, dt, dtu, pre = _step_in(t, u_b, su_l, su_e, dt_b, sdt_l, sdt_e, offs_e, mask_e, bias, L,
                                           SOFTPLUS, FAST, OFF64)
                brow = _bc_unpack(_bc_load(B_b + _idx(tl.minimum(t, L - 1), OFF64) * sB_l, sB_n, zero_i, NS, VEC,
                                           F32), VEC, F32)
                h = _fwd16(h, a, dt, dtu, brow, NS)
            for jj2 in range(G_rt):  # the adjoint steps
                jj = G - 1 - jj2
                j = gi * G + jj
                t = t_c + j + rev * (T - 1 - 2 * j)
                tv = t < L
                m = mask_e & tv
                ti = _idx(t, OFF64)
                u, dt, dtu, pre = _step_in(t, u_b, su_l, su_e, dt_b, sdt_l, sdt_e, offs_e, mask_e, bias, L,
                                           SOFTPLUS, FAST, OFF64)
                tb = _idx(tl.minimum(t, L - 1), OFF64)
                brow = _bc_unpack(_bc_load(B_b + tb * sB_l, sB_n, zero_i, NS, VEC, F32), VEC, F32)
                crow = _bc_unpack(_bc_load(C_b + tb * sC_l, sC_n, zero_i, NS, VEC, F32), VEC, F32)
                go = tl.load(g_b + ti * sg_l + offs_e * sg_e, mask=m, other=0.0).to(tl.float32)  # [BE]
                if HAS_Z:
                    zv = tl.load(z_b + ti * sz_l + offs_e * sz_e, mask=m, other=0.0).to(tl.float32)  # [BE]
                    sz = tl.sigmoid(zv)
                    gy = go * zv * sz * gscale  # [BE] dL/dy of this direction
                else:
                    zv, sz = go, go  # unused without a gate
                    gy = go * gscale
                q, ga, y, sb, sa, dB, dC = _adj16(scr_steps + jj * 16 * BE, a, q, ga, dt, dtu, gy, brow, crow, zero,
                                                   BE, NS, True)
                gD, gbias = _adj_out(dB, dC, y, sb, sa, u, dt, pre, gy, go, zv, sz, Dv, gD, gbias, m, tv, ti, tb * N,
                                     lane, s_lane, zero_i, gB_b, gC_b, gu_b, sgu_l, sgu_e, gdt_b, sgdt_l, sgdt_e,
                                     gz_b, sgz_l, sgz_e, offs_e, gscale, True, NS, HAS_D, HAS_Z, SOFTPLUS, BFLY,
                                     False)
    _ga_out16(gA_ptr + d * E * N, ga, offs_e, mask_e, N, NS)
    if HAS_D:
        tl.atomic_add(gD_ptr + d * E + offs_e, gD, mask=mask_e, sem="relaxed")
    tl.atomic_add(gbias_ptr + d * E + offs_e, gbias, mask=mask_e, sem="relaxed")


# --- The backward in two launches: every step's state first (parallel over chunks), then the adjoint alone ---
#
# The kernel above recomputes each chunk twice inside the serial adjoint walk and keeps h_{t-1} in a scratch that
# the GPU reads back from L2 (Nsight Compute: half its stalls wait on those loads, ROOFLINE.md). Here
# ``scan_seq_hist_kernel`` first recomputes h_{t-1} of every step, one program per (channels, batch, direction,
# chunk): thousands of independent short walks, so occupancy hides their latency; the DRAM traffic is one write and
# one read of NDIR x b x L x NS x E values (1.6 GB a layer in float32 at 64 x 512 tokens, e = 384; 0.8 GB in
# bf16). Then ``scan_seq_bwd_hist_kernel`` walks the adjoint with no recompute, loading each step's h_{t-1} one
# step ahead.


@triton.jit
def _get_h(p, k: tl.constexpr, BE: tl.constexpr, HW: tl.constexpr, NS: tl.constexpr):
    if k < NS:
        return tl.load(p + _h_off(k, BE, HW)).to(tl.float32)
    else:
        return tl.zeros([BE], dtype=tl.float32)


@triton.jit
def _get_h16(p, BE: tl.constexpr, HW: tl.constexpr, NS: tl.constexpr, HV: tl.constexpr):
    """h_{t-1} of one step from ``hs`` at p (this thread's channel's first value): 16 ``[BE]`` float32 vectors (zero
    past NS), or with HV the 8 raw words of two vector loads (``_h_unpack`` converts them where they are used)."""
    if HV:
        pw = p.to(tl.pointer_type(tl.int32))
        w0, w1, w2, w3 = _ld_v4(pw)
        w4, w5, w6, w7 = _ld_v4(pw + BE * 4)  # states 8..15: BE x 8 bf16 further
        return w0, w1, w2, w3, w4, w5, w6, w7
    else:
        return (_get_h(p, 0, BE, HW, NS), _get_h(p, 1, BE, HW, NS), _get_h(p, 2, BE, HW, NS),
                _get_h(p, 3, BE, HW, NS), _get_h(p, 4, BE, HW, NS), _get_h(p, 5, BE, HW, NS),
                _get_h(p, 6, BE, HW, NS), _get_h(p, 7, BE, HW, NS), _get_h(p, 8, BE, HW, NS),
                _get_h(p, 9, BE, HW, NS), _get_h(p, 10, BE, HW, NS), _get_h(p, 11, BE, HW, NS),
                _get_h(p, 12, BE, HW, NS), _get_h(p, 13, BE, HW, NS), _get_h(p, 14, BE, HW, NS),
                _get_h(p, 15, BE, HW, NS))


@triton.jit
def _h_unpack(raw, HV: tl.constexpr):
    """16 float32 states from what ``_get_h16`` loaded."""
    if HV:
        return _bc_unpack(raw, 4, False)  # the same bf16 pairs as a B row's words
    else:
        return raw


@triton.jit(do_not_specialize=["su_e", "sdt_e", "T_rt"])
def scan_seq_hist_kernel(
        u0_ptr, u1_ptr, su_b, su_l, su_e, dt0_ptr, dt1_ptr, sdt_b, sdt_l, sdt_e, B0_ptr, B1_ptr, sB_b, sB_l, sB_n,
        At_ptr, bias_ptr, st_ptr, hs_ptr, batch, L, E, N, nchunks, T_rt,
        BE: tl.constexpr, T: tl.constexpr, NS: tl.constexpr, SOFTPLUS: tl.constexpr, FAST: tl.constexpr = False,
        VEC: tl.constexpr = 0, F32: tl.constexpr = False, OFF64: tl.constexpr = True, HW: tl.constexpr = 1,
        HV: tl.constexpr = False, U: tl.constexpr = 1, CPT: tl.constexpr = 1):
    """Grid ``(cdiv(E, BE), batch, NDIR * nchunks)``: the state entering every step (in scan order; direction 1
    scans right-to-left) into ``hs [NDIR, batch, cdiv(E, BE), L, NS, BE]`` (float32, or bf16 to halve the
    traffic; the adjoint computes in float32 either way; with HW > 1 ``[.., L, NS / HW, BE, HW]``, ``_h_off``, and
    HV: by vector stores): a block of BE channels owns a
    contiguous ``[L, NS, BE]`` block, so a step is 16 whole 128-byte lines side by side (2 KB) and a chunk 64 KB,
    and the adjoint's loads need no mask. A program recomputes one chunk of T steps from the forward's chunk state
    ``st [NDIR, batch, nchunks, E, N]``. Other operands as ``scan_seq_bwd_kernel``. U: steps a loop trip (T a
    multiple). CPT 2: a thread scans two channels, of the program's two blocks of BE (grid axis 0 halved), with one
    load and unpacking of a step's B row."""
    pid_e = tl.program_id(0)
    b = tl.program_id(1).to(tl.int64)
    d = tl.program_id(2) // nchunks
    c = tl.program_id(2) % nchunks
    rev = d
    blk = pid_e * CPT  # this program's first block of BE channels
    offs_e = blk * BE + tl.arange(0, BE)  # [BE]
    mask_e = offs_e < E
    offs_2 = offs_e + BE  # [BE] with CPT 2, the second block's channels
    mask_2 = offs_2 < E
    has_2 = blk + 1 < tl.cdiv(E, BE)  # the second block exists (E may hold an odd number of blocks)
    u_b = _pick(d, u0_ptr, u1_ptr) + b * su_b
    dt_b = _pick(d, dt0_ptr, dt1_ptr) + b * sdt_b
    B_b = _pick(d, B0_ptr, B1_ptr) + b * sB_b
    a = _a16(At_ptr + d * N * E, E, offs_e, mask_e, NS)  # 16 [BE]: A / ln 2
    bias = tl.load(bias_ptr + d * E + offs_e, mask=mask_e, other=0.0)  # [BE]
    if CPT == 2:
        a_2 = _a16(At_ptr + d * N * E, E, offs_2, mask_2, NS)
        bias_2 = tl.load(bias_ptr + d * E + offs_2, mask=mask_2, other=0.0)  # [BE]
    zero_i = tl.zeros([BE], dtype=tl.int32)
    st = st_ptr + ((d * batch + b) * nchunks + c) * E * N
    h = _load_states16(st, offs_e, mask_e, N, NS)
    if CPT == 2:
        h_2 = _load_states16(st, offs_2, mask_2, N, NS)
    hs_b = hs_ptr + ((d * batch + b) * tl.cdiv(E, BE) + blk) * L * NS * BE + tl.arange(0, BE) * HW  # [BE]
    t_c = c * T
    # a step's loads are issued one step ahead (a chain of load -> math per step is what bounds this kernel)
    u_n, pre_n, braw_n = _hist_loads(t_c + rev * (T - 1), u_b, su_l, su_e, dt_b, sdt_l, sdt_e, B_b, sB_l, sB_n,
                                     offs_e, mask_e, L, zero_i, NS, VEC, F32, OFF64)
    if CPT == 2:
        u2_n, pre2_n = _up_loads(t_c + rev * (T - 1), u_b, su_l, su_e, dt_b, sdt_l, sdt_e, offs_2, mask_2, L, OFF64)
    tl.static_assert(T % U == 0, "the steps a loop trip must divide the chunk")
    for j0 in range(T_rt // U):
        for jj in tl.static_range(U):  # U steps a loop trip: the load queue's registers alternate, no moves
            j = j0 * U + jj
            t = t_c + j + rev * (T - 1 - 2 * j)  # scan order
            tv = t < L  # a padded step (past the end) stores nothing and leaves the state as it is
            u, pre, braw = u_n, pre_n, braw_n
            u_n, pre_n, braw_n = _hist_loads(t + 1 - 2 * rev, u_b, su_l, su_e, dt_b, sdt_l, sdt_e, B_b, sB_l,
                                             sB_n, offs_e, mask_e, L, zero_i, NS, VEC, F32, OFF64)
            if CPT == 2:
                u2, pre2 = u2_n, pre2_n
                u2_n, pre2_n = _up_loads(t + 1 - 2 * rev, u_b, su_l, su_e, dt_b, sdt_l, sdt_e, offs_2, mask_2, L,
                                         OFF64)
            p = hs_b + _idx(tl.minimum(t, L - 1), OFF64) * (NS * BE)
            _put_h16(p, h, BE, HW, tv, NS, HV)
            pre = pre + bias
            dt = _softplus_base2(pre, FAST) if SOFTPLUS else pre
            dt = tl.where(mask_e & tv, dt, 0.0)  # [BE]
            brow = _bc_unpack(braw, VEC, F32)
            h = _fwd16(h, a, dt, dt * u, brow, NS)
            if CPT == 2:  # the second block's channel: the same B row
                _put_h16(p + L * NS * BE, h_2, BE, HW, tv & has_2, NS, HV)
                pre2 = pre2 + bias_2
                dt2 = _softplus_base2(pre2, FAST) if SOFTPLUS else pre2
                dt2 = tl.where(mask_2 & tv, dt2, 0.0)  # [BE]
                h_2 = _fwd16(h_2, a_2, dt2, dt2 * u2, brow, NS)


@triton.jit
def _up_loads(t, u_b, su_l, su_e, dt_b, sdt_l, sdt_e, offs_e, mask_e, L, OFF64: tl.constexpr):
    """Step t's u and raw dt at these channels (zero outside ``[0, L)``)."""
    m = mask_e & (t >= 0) & (t < L)
    ti = _idx(t, OFF64)
    u = tl.load(u_b + ti * su_l + offs_e * su_e, mask=m, other=0.0).to(tl.float32)  # [BE]
    pre = tl.load(dt_b + ti * sdt_l + offs_e * sdt_e, mask=m, other=0.0).to(tl.float32)  # [BE]
    return u, pre


@triton.jit
def _hist_loads(t, u_b, su_l, su_e, dt_b, sdt_l, sdt_e, B_b, sB_l, sB_n, offs_e, mask_e, L, zero_i, NS: tl.constexpr,
                VEC: tl.constexpr, F32: tl.constexpr, OFF64: tl.constexpr):
    """Step t's u, raw dt (zero outside ``[0, L)``) and raw B row (of t clamped into the sequence)."""
    u, pre = _up_loads(t, u_b, su_l, su_e, dt_b, sdt_l, sdt_e, offs_e, mask_e, L, OFF64)
    braw = _bc_load(B_b + _idx(tl.minimum(tl.maximum(t, 0), L - 1), OFF64) * sB_l, sB_n, zero_i, NS, VEC, F32)
    return u, pre, braw


@triton.jit
def _adj_loads(t, u_b, su_l, su_e, dt_b, sdt_l, sdt_e, B_b, sB_l, sB_n, C_b, sC_l, sC_n, g_b, sg_l, sg_e, z_b, sz_l,
               sz_e, ys_b, sys_l, sys_e, first, offs_e, mask_e, L, zero_i, NS: tl.constexpr, VEC: tl.constexpr,
               F32: tl.constexpr, OFF64: tl.constexpr, HAS_Z: tl.constexpr, YS: tl.constexpr):
    """Step t's loads for the adjoint: u, raw dt, the output's gradient, z (zero outside ``[0, L)``; z is the
    gradient again without a gate), with YS the forward's ``(y_0 + y_1) / 2`` (direction 0 only, ``first``; else
    the gradient again) and the raw B, C rows (of t clamped into the sequence)."""
    m = mask_e & (t >= 0) & (t < L)
    ti = _idx(t, OFF64)
    u = tl.load(u_b + ti * su_l + offs_e * su_e, mask=m, other=0.0).to(tl.float32)  # [BE]
    pre = tl.load(dt_b + ti * sdt_l + offs_e * sdt_e, mask=m, other=0.0).to(tl.float32)  # [BE]
    go = tl.load(g_b + ti * sg_l + offs_e * sg_e, mask=m, other=0.0).to(tl.float32)  # [BE]
    zv = go
    if HAS_Z:
        zv = tl.load(z_b + ti * sz_l + offs_e * sz_e, mask=m, other=0.0).to(tl.float32)  # [BE]
    ys = go
    if YS:
        ys = tl.load(ys_b + ti * sys_l + offs_e * sys_e, mask=m & first, other=0.0).to(tl.float32)  # [BE]
    tc = _idx(tl.minimum(tl.maximum(t, 0), L - 1), OFF64)
    braw = _bc_load(B_b + tc * sB_l, sB_n, zero_i, NS, VEC, F32)
    craw = _bc_load(C_b + tc * sC_l, sC_n, zero_i, NS, VEC, F32)
    return u, pre, go, zv, ys, braw, craw


@triton.jit(do_not_specialize=["su_e", "sdt_e", "sz_e", "sg_e", "sgu_e", "sgdt_e", "sgz_e", "sys_e"])
def scan_seq_bwd_hist_kernel(
        u0_ptr, u1_ptr, su_b, su_l, su_e, dt0_ptr, dt1_ptr, sdt_b, sdt_l, sdt_e,
        B0_ptr, B1_ptr, sB_b, sB_l, sB_n, C0_ptr, C1_ptr, sC_b, sC_l, sC_n,
        At_ptr, D_ptr, bias_ptr, z_ptr, sz_b, sz_l, sz_e, g_ptr, sg_b, sg_l, sg_e, ys_ptr, sys_b, sys_l, sys_e, hs_ptr,
        gu_ptr, sgu_d, sgu_b, sgu_l, sgu_e, gdt_ptr, sgdt_d, sgdt_b, sgdt_l, sgdt_e, gB_ptr, gC_ptr,
        gz_ptr, sgz_d, sgz_b, sgz_l, sgz_e, gA_ptr, gD_ptr, gbias_ptr,
        batch, L, E, N,
        BE: tl.constexpr, NS: tl.constexpr, NDIR: tl.constexpr, HAS_D: tl.constexpr, HAS_Z: tl.constexpr,
        SOFTPLUS: tl.constexpr, FAST: tl.constexpr = False, VEC: tl.constexpr = 0, F32: tl.constexpr = False,
        OFF64: tl.constexpr = True, BFLY: tl.constexpr = False, PF: tl.constexpr = False, YS: tl.constexpr = False,
        HW: tl.constexpr = 1, HV: tl.constexpr = False):
    """Grid ``(cdiv(E, BE), batch, NDIR)``: the adjoint walk of ``scan_seq_bwd_kernel`` (same operands and outputs)
    with every step's h_{t-1} read from ``hs`` (``scan_seq_hist_kernel``) instead of recomputed; the next step's
    16 values are loaded while this step runs, and with PF its other loads too (u, dt, the output's gradient, z,
    the B and C rows: ~20 more registers). With YS (a gate and both directions), ``ys`` is the forward's
    ``(y_0 + y_1) / 2`` ``[b, e, l]`` (``ys_ptr``, by its strides): direction 0 writes the whole dz into ``gz``
    (in its dtype; ``sgz_d`` unused) and neither recomputes its output."""
    pid_e = tl.program_id(0)
    b = tl.program_id(1).to(tl.int64)
    d = tl.program_id(2)
    rev = d  # direction 1 scans right-to-left: its adjoint runs left-to-right
    offs_e = pid_e * BE + tl.arange(0, BE)  # [BE]
    mask_e = offs_e < E
    u_b = _pick(d, u0_ptr, u1_ptr) + b * su_b
    dt_b = _pick(d, dt0_ptr, dt1_ptr) + b * sdt_b
    B_b = _pick(d, B0_ptr, B1_ptr) + b * sB_b
    C_b = _pick(d, C0_ptr, C1_ptr) + b * sC_b
    z_b = z_ptr + b * sz_b
    g_b = g_ptr + b * sg_b
    ys_b = ys_ptr + b * sys_b
    first = d == 0
    gu_b = gu_ptr + d * sgu_d + b * sgu_b
    gdt_b = gdt_ptr + d * sgdt_d + b * sgdt_b
    gz_b = gz_ptr + (0 if YS else d * sgz_d) + b * sgz_b
    gB_b = gB_ptr + (d * batch + b) * L * N
    gC_b = gC_ptr + (d * batch + b) * L * N
    a = _a16(At_ptr + d * N * E, E, offs_e, mask_e, NS)  # 16 [BE]: A / ln 2
    bias = tl.load(bias_ptr + d * E + offs_e, mask=mask_e, other=0.0)  # [BE]
    Dv = tl.load(D_ptr + d * E + offs_e, mask=mask_e, other=0.0) if HAS_D else tl.zeros([BE], dtype=tl.float32)
    zero = tl.zeros([BE], dtype=tl.float32)
    zero_i = tl.zeros([BE], dtype=tl.int32)
    lane = tl.arange(0, BE) % 32  # [BE] a thread per channel: element i sits in lane i % 32
    s_lane = (lane >> 1) & 15  # [BE] the state a lane's butterfly sum belongs to
    gscale = 0.5 if NDIR == 2 else 1.0
    # adjoint carry q_k = a_{t+1} g_{t+1}, and the dA accumulators (all reassigned every trip, so all carried)
    zeros16 = (zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero)
    q = zeros16
    ga = zeros16
    gD = zero
    gbias = zero
    hs_b = hs_ptr + ((d * batch + b) * tl.num_programs(0) + pid_e) * L * NS * BE + tl.arange(0, BE) * HW  # [BE]
    # the first adjoint step: t = L - 1 (direction 0) or 0 (direction 1)
    hn = _get_h16(hs_b + _idx((1 - rev) * (L - 1), OFF64) * (NS * BE), BE, HW, NS, HV)
    # the per-step loads' operands (``_adj_loads``)
    la = (u_b, su_l, su_e, dt_b, sdt_l, sdt_e, B_b, sB_l, sB_n, C_b, sC_l, sC_n, g_b, sg_l, sg_e, z_b, sz_l, sz_e,
          ys_b, sys_l, sys_e, first, offs_e, mask_e, L, zero_i)
    if PF:
        u_n, pre_n, go_n, z_n, ys_n, braw_n, craw_n = _adj_loads((1 - rev) * (L - 1), *la, NS, VEC, F32, OFF64,
                                                                 HAS_Z, YS)
    for s in range(L):
        t = s + (1 - rev) * (L - 1 - 2 * s)  # adjoint order
        hraw = hn
        tn = tl.minimum(tl.maximum(t + 2 * rev - 1, 0), L - 1)  # the next adjoint step (clamped: a spare load)
        hn = _get_h16(hs_b + _idx(tn, OFF64) * (NS * BE), BE, HW, NS, HV)
        hp = _h_unpack(hraw, HV)  # 16 [BE]: h_{t-1}
        tv = t < L
        m = mask_e & tv
        ti = _idx(t, OFF64)
        if PF:  # this step's loads came with the last one; issue the next step's
            u, pre, go, zv, ys, braw, craw = u_n, pre_n, go_n, z_n, ys_n, braw_n, craw_n
            u_n, pre_n, go_n, z_n, ys_n, braw_n, craw_n = _adj_loads(t + 2 * rev - 1, *la, NS, VEC, F32, OFF64,
                                                                     HAS_Z, YS)
        else:
            u, pre, go, zv, ys, braw, craw = _adj_loads(t, *la, NS, VEC, F32, OFF64, HAS_Z, YS)
        pre = pre + bias  # [BE] the pre-activation of dt
        dt = _softplus_base2(pre, FAST) if SOFTPLUS else pre
        dt = tl.where(m, dt, 0.0)  # [BE]
        dtu = dt * u
        brow = _bc_unpack(braw, VEC, F32)
        crow = _bc_unpack(craw, VEC, F32)
        if HAS_Z:
            sz = tl.sigmoid(zv)
            gy = go * zv * sz * gscale  # [BE] dL/dy of this direction
        else:
            zv, sz = go, go  # unused without a gate
            gy = go * gscale
        q, ga, y, sb, sa, dB, dC = _adj16(hp, a, q, ga, dt, dtu, gy, brow, crow, zero, BE, NS, False)
        if YS:
            y = ys  # the forward's output: the recomputed one above is dead code
        gD, gbias = _adj_out(dB, dC, y, sb, sa, u, dt, pre, gy, go, zv, sz, Dv, gD, gbias, m, tv, ti, ti * N, lane,
                             s_lane, zero_i, gB_b, gC_b, gu_b, sgu_l, sgu_e, gdt_b, sgdt_l, sgdt_e, gz_b, sgz_l,
                             sgz_e, offs_e, gscale, first, NS, HAS_D, HAS_Z, SOFTPLUS, BFLY, YS)
    _ga_out16(gA_ptr + d * E * N, ga, offs_e, mask_e, N, NS)
    if HAS_D:
        tl.atomic_add(gD_ptr + d * E + offs_e, gD, mask=mask_e, sem="relaxed")
    tl.atomic_add(gbias_ptr + d * E + offs_e, gbias, mask=mask_e, sem="relaxed")
