"""Triton selective scan: fused bidirectional forward and backward, plus the fused bidirectional mixer core.

Public functions (all differentiable; CUDA tensors, or CPU tensors under ``TRITON_INTERPRET=1`` for tests):

- ``selective_scan_triton(u, delta, A, B, C, D, z, delta_bias, delta_softplus)``: mamba-ssm's signature.
- ``bidirectional_selective_scan_triton(u, delta, A, B, C, D, z, delta_bias, delta_softplus)``: the same with a
  leading direction axis of 2 on u, delta, A, B, C, D, delta_bias (z is shared). Direction 1 is scanned
  right-to-left over natural-order inputs. Returns ``(y_0 + y_1) / 2 * silu(z)``.
- ``bidirectional_conv1d_triton(x, weight, bias)``: causal conv (direction 0) and anti-causal conv (direction 1,
  the backward direction's causal conv without flips), SiLU, one launch.
- ``bidirectional_mixer_triton(x, z, fwd, bwd, weights=None)``: conv, x_proj, dt_proj and the scan of both
  directions of a ``MambaMixer`` (everything between ``in_proj`` and ``out_proj``) with no flips and no
  transposes; ``prepare_mixer(fwd, bwd)`` builds its ``weights`` once for callers that keep them.

Kernels: ``triton_scan_kernels.py`` (chunked forward, backward), ``triton_scan_seq_kernels.py`` (seq forward),
``triton_scan_seq_bwd_kernels.py`` (seq backward, the default backward), ``triton_conv_kernels.py``.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, fields

import torch
import triton
from einops import rearrange

from .add_norm import add_layer_norm_torch, add_layer_norm_triton
from .triton_conv_kernels import (
    conv_bidir_bwd_pre_kernel,
    conv_bidir_bwd_seq_kernel,
    conv_bidir_bwd_x_kernel,
    conv_bidir_fwd_kernel,
)
from .triton_scan_kernels import scan_bwd_kernel, scan_fwd_kernel
from .triton_scan_seq_bwd_kernels import scan_seq_bwd_hist_kernel, scan_seq_bwd_kernel, scan_seq_hist_kernel
from .triton_scan_seq_kernels import gate_average_kernel, scan_seq_fwd_kernel


@dataclass(frozen=True)
class ScanLaunchConfig:
    """Tiling of one scan kernel: channels per program and warps per program."""

    block_e: int = 8
    num_warps: int = 4

    def __post_init__(self):
        assert self.block_e > 0 and self.block_e & (self.block_e - 1) == 0, (
            f"block_e must be a power of two, got {self.block_e}")


@dataclass(frozen=True)
class TritonScanConfig:
    """Launch configuration of the scan kernels (set with ``set_launch_config``). ``chunk``: time steps per
    associative scan, shared by forward and backward (the backward restarts from the forward's chunk states).

    ``forward``: ``"seq"`` (``triton_scan_seq_kernels``: one thread per channel, the state in registers, d_state
    <= 16; ``seq_block_e`` channels per program, a warp per 32; ``seq_unroll`` steps a loop trip; ``seq_fast_math``:
    softplus through MUFU ``lg2.approx`` instead of libdevice's log; ``seq_vec_bc``: B, C rows by 16-byte
    vector loads where their alignment allows, instead of 32 scalar loads a step; ``seq_bc_f32``: B, C first
    copied into one aligned float32 ``[b, l, 2n]`` buffer, so a step needs no conversions) or ``"chunked"``
    (``triton_scan_kernels``: associative scans over ``[chunk, block_e, state]`` tiles; the only forward for
    d_state > 16). ``segments``: sequence-parallel segments of the seq forward (0: as many as fit one
    direction's programs in one wave of ``seq_warps_per_sm`` warps per SM; 12 is what a SM holds of the pass-2
    kernel at its ~136 registers). The seq options change compiled CUDA code only: the interpreter always
    takes the scalar path.
    """

    # Defaults from H200 sweeps: the chunked kernels' tiles from benchmarks/results/gpu_speed_kernel.json; the seq
    # forward's from benchmarks/results/gpu_seq_h200_r3 (4 x 22016 tokens: 1.6 ms against 4.9 for chunked)
    chunk: int = 32
    fwd: ScanLaunchConfig = ScanLaunchConfig(block_e=4, num_warps=4)
    bwd: ScanLaunchConfig = ScanLaunchConfig(block_e=4, num_warps=2)
    forward: str = "seq"
    seq_block_e: int = 32
    seq_unroll: int = 1
    segments: int = 0
    seq_warps_per_sm: int = 12
    seq_fast_math: bool = True
    seq_vec_bc: bool = True
    seq_bc_f32: bool = False
    # inference (no gradients) of at least this many tokens (batch x length) runs the mixer's two directions one
    # after the other, so only one direction's conv output, x_proj output and dt are alive at a time
    low_memory_tokens: int = 32768
    # in that path, dt_proj inside the seq forward (one step a loop trip, dt rank <= 16): no dt tensor at all.
    # H200, ssamba-tiny, 4 x 22016 tokens (benchmarks/results/gpu_seq_h200_r5): memory 1.03x -> 0.94x of
    # ssast-tiny, time 0.99x -> 1.07x; memory is what this path is for. Re-measured with the current kernels
    # (results/gpu_issue8_h200_r44, graphed): 39.83 ms fused against 40.47 unfused, and 39.05 with both directions
    # at once, which needs 1.33x ssast-tiny's memory
    seq_fuse_dt: bool = True
    # ``backward``: "seq" (``triton_scan_seq_bwd_kernels``: a thread per channel, d_state <= 16; in its one-launch
    # form each chunk is recomputed in groups of ``seq_bwd_group`` steps) or "chunked" (``triton_scan_kernels``; any d_state)
    backward: str = "seq"
    seq_bwd_group: int = 8
    # training with the seq forward and backward (d_state <= 16): the forward stores the state entering every
    # ``seq_train_chunk`` steps (0: every ``chunk``); a smaller chunk stores twice the states but shrinks the
    # backward's per-thread scratch ((chunk / group + group) x 16 values, in L2: results/gpu_issue8_h200_r10's
    # Nsight Compute). Off by default: on the H200 (results/gpu_issue8_h200_r12) seq_train_chunk=16 with
    # seq_bwd_group=4 made the graphed 64 x 512-token training step 4.7% faster (tiny 80.6 -> 76.8 ms, base
    # 283.5 -> 271.9) for 16% more memory (tiny 6.9 -> 8.1 GB, base 27.9 -> 32.4 GB: no longer inside 32 GB).
    # With seq_bwd_group equal to the training chunk the backward skips its first recompute; seq_train_chunk=16,
    # seq_bwd_group=16 measured the same kind of trade (tiny 73.3 -> 70.8 ms, results/gpu_issue8_h200_r26)
    seq_train_chunk: int = 0
    # inference with the seq forward: sequence segments are whole chunks, so a smaller chunk gives finer segments
    # (0: ``chunk``). Measured, not better on the H200 (results/gpu_issue8_h200_r14, ssamba-tiny, graphed): at
    # 4 x 512 tokens 16 -> 4.36 ms and 8 -> 8.60 ms against 3.60 ms at 32 (pass 2 folds every earlier segment
    # one by one), at 4 x 22016 53.7 against 54.9 ms (within noise)
    seq_infer_chunk: int = 0
    # compiled CUDA: dB, dC summed over a warp by a transposing butterfly (16 shuffles for 16 states) and one
    # vector atomic, instead of a tl.sum (5 shuffles) and a scalar atomic per state
    seq_bwd_butterfly: bool = True
    # the seq backward in two launches (``seq_bwd_hist``): every step's state recomputed first, by a program per
    # chunk, into a buffer of ndir x b x l x n x e values, then the adjoint walk with no recompute, reading it one
    # step ahead. Taken when that buffer fits in ``seq_bwd_hist_mb`` MiB (it lives for one layer's backward), else
    # the one-launch backward with its per-program scratch. H200, graphed training step at 64 x 512 tokens
    # (results/GPU_HIST_2026-12-04.md): tiny 70.12 -> 61.69 ms (float32 states, 1.5 GiB, r34), 61.14 -> 53.88 ms
    # with bf16 states (0.75 GiB, r35); base 254.57 -> 197.45 ms with bf16 states (3 GiB, r36). The limit lets
    # base's bf16 states in; its float32 states (6 GiB, float32 training) take the one-launch path
    seq_bwd_hist: bool = True
    seq_bwd_hist_mb: int = 4096
    # registers a thread of that adjoint walk may use (0: the compiler's choice). Left free, ptxas takes 255 for
    # its one-warp programs (8 a SM: 1.45 waves at 64 x 512 tokens, e = 384; r32: 81.07 against 70.02 ms capped);
    # 168 keeps 12 a SM (one wave) with no spills. ssamba-base (4 waves) gained nothing from 144 (14 a SM, 5% more
    # instructions a step): 194.61 against 193.95 ms (r37)
    seq_bwd_hist_maxnreg: int = 168
    # that adjoint walk loads every operand of a step one step ahead, else only h_{t-1} (r33: 61.87 against
    # 66.73 ms)
    seq_bwd_hist_pf: bool = True
    # the states in bf16 when the scan's inputs are bf16 (autocast training), else float32. Each stored state is
    # rounded once and enters only per-step gradient terms, not a recurrence: against float64 the bf16-input
    # gradients of A and delta_bias go from ~1e-7 to ~2e-3 relative error (those of u, delta, B, C, z stay
    # 2e-3 - 3e-3, the inputs' own rounding), for half the buffer and its traffic
    seq_bwd_hist_bf16: bool = True
    # that buffer laid out ``[.., l, n / 8, e, 8]``: a thread's 8 states side by side (16 bytes in bf16), so on CUDA
    # with bf16 states a step is stored by two vector stores of 4 packed words (the state kernel: 16 scalar stores
    # and 16 conversions before) and read by two vector loads (the adjoint: 16). Compile report (sm_90a, Triton
    # 3.6, SASS a step): state kernel 166 against 190, adjoint 536 against 561 at 168 registers, no spills. Off
    # the CUDA path it is the same layout by scalar accesses (what the CPU tests check); float32 states on CUDA
    # keep ``[.., l, n, e]``. H200, graphed tiny training step at 64 x 512 tokens: 50.21 -> 49.72 ms
    # (results/gpu_issue8_h200_r68)
    seq_bwd_hist_vec: bool = True
    # steps a loop trip of that state kernel (1 or 2; the chunk must be a multiple): with 2 the next step's loads
    # alternate between two sets of registers instead of being moved into place (8 moves a step), 166 -> 155 SASS
    # a step with seq_bwd_hist_vec (190 -> 186 without; compile report, Triton 3.6). H200, tiny training step:
    # 49.72 -> 49.53 ms with seq_bwd_hist_vec (r68)
    seq_hist_unroll: int = 2
    # channels a thread of that state kernel (1 or 2): with 2 a thread scans a channel of each of two blocks of
    # ``seq_block_e`` with one load and unpacking of a step's B row, 166 -> 142 SASS a channel and step with
    # seq_bwd_hist_vec (135 with seq_hist_unroll=2), at 128 registers instead of 70 (compile report, Triton 3.6).
    # Off: it gave nothing on the H200 (tiny training step 49.53 -> 49.52 ms, r68)
    seq_hist_channels_per_thread: int = 1
    # training with the two-launch backward: the forward's pass 2 stores the state entering every step into that
    # backward's buffer from the registers it is in, laid out side by side (as ``seq_bwd_hist_vec``: on CUDA two
    # vector stores a step), so the backward runs no state kernel (7.2 of the tiny step's ~45 ms of kernels, r58).
    # The cost is memory: the buffer is held from a layer's forward to its backward, every layer's at once
    # (ssamba-tiny at 64 x 512 tokens, bf16: 0.8 GB a layer, 19 GB in all), where the state kernel's lives for
    # one layer's backward. Compile report (sm_90a, Triton 3.6), the forward's pass 2 at 4 steps ahead, SASS a
    # 4-step loop trip: direction 0 739 -> 787, direction 1 (combining, gating) 835 -> 948 at
    # ``seq_fwd_hist_maxnreg`` 168 (881 at 188 registers uncapped: 10 warps a SM instead of 12; 0 leaves the
    # compiler's choice). H200, graphed training step at 64 x 512 tokens (results/gpu_issue8_h200_r69): tiny
    # 50.17 -> 44.57 ms (2.43x -> 2.15x of ssast-tiny), base 188.22 -> 163.71 ms (2.81x -> 2.44x); uncapped
    # 44.70. Off by default for its memory (an 80 GB GPU could not hold base's at this batch)
    seq_fwd_hist: bool = False
    seq_fwd_hist_maxnreg: int = 168
    # the forward keeps (y_0 + y_1) / 2 before the gate (one [b, l, e] tensor in the activations' dtype a layer,
    # held for the backward) so that the two-launch adjoint writes dz once, in its dtype, instead of a float32
    # term per direction that a third kernel sums, and does not recompute its outputs. Taken where the forward
    # pairs both directions' pass 2 (gate_average_kernel) and the backward will run in two launches. H200, graphed
    # tiny training step at 64 x 512 tokens: 54.23 -> 52.60 ms (results/gpu_issue8_h200_r40), for 24 MiB a layer
    # more activation memory there (ssamba-tiny, bf16)
    seq_bwd_ysum: bool = True
    # seq forward, one step a loop trip: every load of a step is issued this many steps before it (1, 2 or 4;
    # 0: automatic, ``_auto_ahead``). Each step of queue costs ~28 registers (80 -> 168 at 4); it hides memory
    # latency that few warps per SM cannot (Nsight Compute at 4 x 512 tokens, ~5 warps per SM: 62% of the stalls
    # waited on loads with 1, pass times 21-36 -> 14-24 us with 4; results/gpu_issue8_h200_r16)
    seq_ahead: int = 0
    # seq forward, one step a loop trip: channels a thread (1 or 2). With 2 a thread scans two channels
    # with one load and unpacking of a step's B, C rows, and on CUDA (4 steps ahead, bf16 rows read by vector
    # loads) the rows are loaded 4 steps at a time spread over a warp's lanes and handed to every lane by
    # shuffles instead of queued in every lane (16 registers a row and step), so that both channels fit 168
    # registers (12 warps a SM). Compile report (sm_90a, Triton 3.6 as on the GPU machine, a channel and
    # step): pass 2 160 SASS against 181, with the fused dt_proj 176 against 199, pass 1 122 against 138,
    # storing chunk states 169 against 194 (11-13% fewer). Untimed on a GPU: off by default until measured
    # (two channels with the rows queued, r41: 248 registers, slower)
    seq_channels_per_thread: int = 1
    # seq forward with sequence segments: pass 1 (the segment summaries) of both directions in one launch, and
    # pass 2 (the outputs) too: direction 1 then writes a scratch output, gate_average_kernel averages and gates.
    # Twice the warps of a launch that is a fraction of a wave. H200, ssamba-tiny, 4 x 512 tokens, graphed:
    # both off 2.55 ms, pass 1 paired 2.34 (results/gpu_issue8_h200_r18), both paired 2.02 against 2.20 with pass 2
    # unpaired in the same call (results/gpu_issue8_h200_r20); training at 64 x 512 within noise
    seq_pass1_both: bool = True
    seq_pass2_both: bool = True
    # the encoder's residual add + stochastic depth + next LayerNorm as one kernel, and one for its backward
    # (add_norm.py, the backend's add_norm hook); False runs the same op unfused, for A/B timings
    fused_add_norm: bool = True
    # the bidirectional conv's backward a thread a channel walking time (``conv_bidir_bwd_seq_kernel``: one launch,
    # x loaded once a step for both directions, no float32 buffer) instead of the two tile kernels;
    # ``conv_seq_steps``: positions a program (0: enough programs for ``_conv_steps``' target)
    conv_seq: bool = True
    conv_seq_steps: int = 0
    # steps a loop trip of that backward (1, 2, 4 or 8). Each step shifts its windows of x and of the gradients by
    # one (36 register moves of its 173 SASS a step); inside a trip of U steps the shifts are renamings, so only
    # the trip's end moves values. Compile report (sm_90a, Triton 3.6), SASS a step: 173 at 1, 148 at 2, 134 at 4
    # (94 registers), 122 at 8 (117 registers, a 15 KB loop body). H200, tiny training step: 49.52 -> 48.02 ms
    # at 4 (r68; 8 not timed)
    conv_seq_unroll: int = 4

    def __post_init__(self):
        assert self.chunk > 0 and self.chunk & (self.chunk - 1) == 0, f"chunk must be a power of two, got {self.chunk}"
        assert self.forward in ("chunked", "seq"), f"forward must be 'chunked' or 'seq', got {self.forward!r}"
        assert self.seq_block_e >= 32 and self.seq_block_e & (self.seq_block_e - 1) == 0, (
            f"seq_block_e must be a power of two >= 32 (a warp), got {self.seq_block_e}")
        assert 0 < self.seq_unroll and self.seq_unroll & (self.seq_unroll - 1) == 0, (
            f"seq_unroll must be a power of two, got {self.seq_unroll}")
        assert self.segments >= 0, f"segments must be >= 0 (0: automatic), got {self.segments}"
        assert self.seq_channels_per_thread in (1, 2), (
            f"seq_channels_per_thread must be 1 or 2, got {self.seq_channels_per_thread}")
        assert self.backward in ("chunked", "seq"), f"backward must be 'chunked' or 'seq', got {self.backward!r}"
        assert 0 < self.seq_bwd_group and self.seq_bwd_group & (self.seq_bwd_group - 1) == 0, (
            f"seq_bwd_group must be a power of two, got {self.seq_bwd_group}")
        for name in ("seq_train_chunk", "seq_infer_chunk"):
            v = getattr(self, name)
            assert v >= 0 and v & (v - 1) == 0, f"{name} must be 0 (use chunk) or a power of two, got {v}"
        assert self.seq_ahead in (0, 1, 2, 4), f"seq_ahead must be 0 (automatic), 1, 2 or 4, got {self.seq_ahead}"
        assert self.seq_hist_unroll in (1, 2), f"seq_hist_unroll must be 1 or 2, got {self.seq_hist_unroll}"
        assert self.seq_hist_channels_per_thread in (1, 2), (
            f"seq_hist_channels_per_thread must be 1 or 2, got {self.seq_hist_channels_per_thread}")
        assert self.seq_fwd_hist_maxnreg == 0 or 24 <= self.seq_fwd_hist_maxnreg <= 255, (
            f"seq_fwd_hist_maxnreg must be 0 (the compiler's choice) or 24..255, got {self.seq_fwd_hist_maxnreg}")
        assert self.seq_bwd_hist_mb >= 0, f"seq_bwd_hist_mb must be >= 0, got {self.seq_bwd_hist_mb}"
        assert self.seq_bwd_hist_maxnreg == 0 or 24 <= self.seq_bwd_hist_maxnreg <= 255, (
            f"seq_bwd_hist_maxnreg must be 0 (the compiler's choice) or 24..255, got {self.seq_bwd_hist_maxnreg}")
        assert self.conv_seq_steps >= 0, f"conv_seq_steps must be >= 0 (0: automatic), got {self.conv_seq_steps}"
        assert self.conv_seq_unroll in (1, 2, 4, 8), f"conv_seq_unroll must be 1, 2, 4 or 8, got {self.conv_seq_unroll}"
        for f in fields(self):  # a string such as "False" would be truthy
            v = getattr(self, f.name)
            assert f.type not in ("bool", bool) or isinstance(v, bool), f"{f.name} must be True or False, got {v!r}"


_CONFIG = TritonScanConfig()


def parse_config_fields(items: list[str]) -> dict:
    """``["seq_unroll=2", "seq_fuse_dt=False", "backward=chunked"]`` -> ``TritonScanConfig`` field overrides
    (ints, True / False, or the string fields' values), for the benchmarks' ``--set`` options."""
    fields_ = TritonScanConfig.__dataclass_fields__
    fields = {}
    for item in items:
        key, sep, value = item.partition("=")
        assert sep and key in fields_, f"--set {item!r}: expected FIELD=VALUE with FIELD one of {sorted(fields_)}"
        if fields_[key].type in (str, "str"):
            fields[key] = value  # checked by TritonScanConfig.__post_init__
            continue
        assert value in ("True", "False") or value.lstrip("-").isdigit(), (
            f"--set {item!r}: VALUE must be an int, True or False")
        fields[key] = value == "True" if value in ("True", "False") else int(value)
    return fields


def set_launch_config(config: TritonScanConfig) -> TritonScanConfig:
    """Replace the launch configuration (benchmarks sweep it); returns the previous one."""
    global _CONFIG
    assert isinstance(config, TritonScanConfig), f"expected TritonScanConfig, got {type(config).__name__}"
    previous, _CONFIG = _CONFIG, config
    return previous


def add_layer_norm(x, residual, weight, bias, eps, *, x_scale=None, out_dtype=None):
    """The Triton backend's ``add_norm`` hook (``backend.py``): the fused kernel, or the unfused ops with
    ``fused_add_norm=False``; arguments as ``add_norm.add_layer_norm_triton``."""
    fn = add_layer_norm_triton if _CONFIG.fused_add_norm else add_layer_norm_torch
    return fn(x, residual, weight, bias, eps, x_scale=x_scale, out_dtype=out_dtype)


def _bln(t: torch.Tensor) -> tuple[int, int, int]:
    """Strides of a ``[batch, channels|state, length]`` tensor, ordered (batch, length, channels|state)."""
    s = t.stride()
    return s[0], s[2], s[1]


def _d_bln(t: torch.Tensor) -> tuple[int, int, int, int]:
    """Strides of a ``[dir, batch, channels, length]`` tensor, ordered (dir, batch, length, channels)."""
    s = t.stride()
    return s[0], s[1], s[3], s[2]


def _same_layout(a: torch.Tensor, b: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The two directions' tensors with identical strides (the kernel takes one set); copies only if they differ."""
    if b is None:
        return a, a
    if a.stride() != b.stride():
        a, b = a.contiguous(), b.contiguous()
    return a, b


def _token_major(shape_bel: tuple[int, ...], *, dtype, device, lead: int | None = None) -> torch.Tensor:
    """Empty ``[(lead,) b, e, l]`` tensor whose memory is ``[(lead,) b, l, e]`` (channels contiguous)."""
    b, e, l = shape_bel
    if lead is None:
        return torch.empty(b, l, e, dtype=dtype, device=device).transpose(1, 2)  # [b, e, l] view
    return torch.empty(lead, b, l, e, dtype=dtype, device=device).transpose(2, 3)  # [lead, b, e, l] view


def _f32(t: torch.Tensor | None, shape: tuple[int, ...], device) -> torch.Tensor:
    return torch.zeros(shape, dtype=torch.float32, device=device) if t is None else t.float().contiguous()


def _infer_chunk() -> int:
    """The chunk of the seq forward in inference (no states stored): the unit of its sequence segments."""
    return _CONFIG.seq_infer_chunk or _CONFIG.chunk


def _auto_segments(batch: int, e: int, nchunks: int, block_e: int, device: torch.device, cpt: int = 1) -> int:
    """Sequence segments for the seq forward (1 off CUDA): the most whose programs for one direction still fit
    in one wave of ``seq_warps_per_sm`` warps per SM (at least 1, at most one a chunk).

    Rounding down keeps each pass's last wave full; rounding up (before 2026-12-04 evening, with 24 warps) left a
    nearly empty one. H200, graphed (results/gpu_issue8_h200_r49, _r50), this rule's count against the old one:
    tiny 4 x 22016 tokens 33 against 63 segments, 38.09 against 39.50 ms; base 4 x 22016 8 against 17, 159.31
    against 161.78 ms; tiny training 64 x 512 2 against 4, 50.80 against 52.17 ms; base training 1 against 2,
    191.04 against 192.37 ms; tiny 4 x 512 16 (one a chunk) both."""
    if device.type != "cuda":
        return 1
    sms = torch.cuda.get_device_properties(device).multi_processor_count
    # per direction and segment (cpt channels a thread)
    warps = batch * triton.cdiv(e, block_e * cpt) * (block_e // 32)
    return max(1, min(nchunks, _CONFIG.seq_warps_per_sm * sms // warps))


def _auto_ahead(device: torch.device) -> int:
    """How many steps ahead the seq forward loads (``seq_ahead`` 0): 4 on CUDA, 1 off it (the interpreter gains
    nothing). H200, ssamba-tiny, graphed inference (results/gpu_issue8_h200_r16): at 4 x 512 tokens (~6 warps per
    SM) 1 / 2 / 4 steps gave 3.69 / 3.25 / 3.24 ms, at 4 x 22016 (24 warps per SM, so 2 waves at AHEAD 4's 168
    registers) 56.1 / 51.1 / 46.8 ms."""
    if _CONFIG.seq_ahead:
        return _CONFIG.seq_ahead
    return 4 if device.type == "cuda" else 1


@dataclass(frozen=True)
class LowRankDt:
    """dt as its factors, for the seq forward's fused dt_proj: ``x [b, r, l]`` (x_proj's dt_in columns, any
    strides) and ``weight_t [r, e]`` (dt_proj's weight transposed, float32, contiguous); dt = ``weight_t^T x``."""

    x: torch.Tensor
    weight_t: torch.Tensor
    readable16: bool = False  # each row of x has 16 readable columns (zero past r): vector loads may read them


def _tensors(entry) -> list[torch.Tensor]:
    return [t.x if isinstance(t, LowRankDt) else t for t in entry]


def _vec_width(B: torch.Tensor, C: torch.Tensor) -> int:
    """Words per vector load of the seq forward's B, C rows (``[b, n, l]`` views, n = 16): 4 when every row
    starts on 16 bytes, else 0 (scalar loads), also for a dtype other than bf16 / float32."""
    if B.dtype not in (torch.bfloat16, torch.float32) or C.dtype != B.dtype:
        return 0
    if any(t.stride(1) != 1 for t in (B, C)):
        return 0
    size = B.element_size()
    aligned = all(t.data_ptr() % 16 == 0 and (t.stride(0) * size) % 16 == 0 and (t.stride(2) * size) % 16 == 0
                  for t in (B, C))
    return 4 if aligned else 0


def _bc_f32(B: torch.Tensor, C: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """B, C ``[b, n, l]`` copied into one float32 ``[b, l, 2n]`` buffer (rows of 128 bytes for n = 16); returns
    the two ``[b, n, l]`` views of it."""
    b, n, l = B.shape
    bc = torch.empty(b, l, 2 * n, dtype=torch.float32, device=B.device)  # [b, l, 2n]
    bc[..., :n].copy_(B.transpose(1, 2))
    bc[..., n:].copy_(C.transpose(1, 2))
    return bc[..., :n].transpose(1, 2), bc[..., n:].transpose(1, 2)  # [b, n, l] each


def _seq_forward(dirs, A32, D32, bias32, z, has_z: bool, out, states, softplus: bool, chunk: int, nchunks: int,
                 store_states: bool, keep_ysum: bool = False, hs: torch.Tensor | None = None,
                 hist_layout: tuple[int, bool] = (1, False)) -> torch.Tensor | None:
    """The seq forward (``triton_scan_seq_kernels``): per direction, pass 1 (segment summaries, when the sequence
    is split) and pass 2 (outputs); direction 1 combines with direction 0's raw output in ``out`` and gates it.
    With segments and both directions run (``seq_pass1_both``, ``seq_pass2_both``), each pass is one launch of
    both; pass 2 then writes direction 1's raw output into a scratch tensor in ``out``'s dtype and
    ``gate_average_kernel`` combines (so in bf16 both directions' y are rounded once before the average).
    dirs: per direction ``(u, dt, B, C)`` (``[b, e, l]`` / ``[b, n, l]``, any strides); A32 ``[ndir, e, n]``; D32,
    bias32 ``[ndir, e]`` (D32 None without D); z ``[b, e, l]`` (a placeholder when not has_z); out ``[b, e, l]``;
    states ``[ndir, b, nchunks, e, n]`` (written when store_states). A direction given as None is not run now
    (the low-memory inference path runs direction 0, then direction 1, each with only its own intermediates).
    Returns, with keep_ysum and where ``gate_average_kernel`` ran, ``(y_0 + y_1) / 2`` before the gate
    (``[b, e, l]``, laid out as out), else None. hs: the two-launch backward's state buffer (``seq_fwd_hist``;
    ``[ndir, ...]``, ``_hist_numel``), which pass 2 fills with every step's state, laid out by hist_layout
    ``(HW, HV)`` (``_hist_layout``)."""
    ndir = len(dirs)
    batch, e, length = next(dd for dd in dirs if dd is not None)[0].shape
    n = A32.shape[-1]
    be = _CONFIG.seq_block_e
    cpt = _CONFIG.seq_channels_per_thread if _CONFIG.seq_unroll == 1 else 1  # channels a thread
    nseg = _CONFIG.segments or _auto_segments(batch, e, nchunks, be, out.device, cpt)
    seg_chunks = triton.cdiv(nchunks, min(nseg, nchunks))
    nseg = triton.cdiv(nchunks, seg_chunks)  # no empty segment
    At = A32.transpose(1, 2).contiguous()  # [ndir, n, e]
    seg_h = torch.empty(ndir, batch, nseg, n, e, dtype=torch.float32, device=out.device)  # state-major: coalesced
    seg_dt = torch.empty(ndir, batch, nseg, e, dtype=torch.float32, device=out.device)
    Dd = D32 if D32 is not None else bias32  # placeholder pointer without D

    vec, f32 = [0] * ndir, [False] * ndir
    if out.is_cuda and n == 16 and _CONFIG.seq_bc_f32:
        dirs = [None if dd is None else (dd[0], dd[1], *_bc_f32(dd[2], dd[3])) for dd in dirs]
    for d, dd in enumerate(dirs):
        if dd is None:
            continue
        B, C = dd[2], dd[3]
        vec[d] = _vec_width(B, C) if out.is_cuda and n == 16 and (_CONFIG.seq_vec_bc or _CONFIG.seq_bc_f32) else 0
        f32[d] = B.dtype == torch.float32
    # int32 step offsets unless one batch of a tensor spans 2**31 elements
    every = [t for dd in dirs if dd is not None for t in _tensors(dd)] + [out, z]
    off64 = any(length * max(t.stride()) >= 2 ** 31 for t in every)
    if hs is not None:
        hs = hs.view(ndir, -1)  # a direction's part of the buffer
        off64 = off64 or length * n * be >= 2 ** 31

    unroll = min(_CONFIG.seq_unroll, chunk)
    q_ahead = min(_auto_ahead(out.device), chunk) if unroll == 1 else 1  # steps the loads are issued ahead

    def operands(d: int):
        """Direction d's tensors as the kernel takes them, and the constexprs they set."""
        u, dt, B, C = dirs[d]
        xr, w_t, rank = (dt.x, dt.weight_t, dt.x.shape[1]) if isinstance(dt, LowRankDt) else (B, bias32[d], 0)
        vec_x = 0
        if rank and dt.readable16 and out.is_cuda and _CONFIG.seq_vec_bc and xr.dtype == torch.bfloat16:
            vec_x = _vec_width(xr, xr)
        dt = u if rank else dt  # a placeholder pointer when dt_proj is fused
        layout = (_bln(u), _bln(dt), _bln(B), _bln(C), _bln(xr), vec[d], f32[d], rank, vec_x)
        return (u, dt, B, C, xr, w_t), layout

    def launch(d: int, pass_: int, both: bool = False, o1: torch.Tensor | None = None) -> None:
        (u, dt, B, C, xr, w_t), (_, _, _, _, _, _, _, rank, vec_x) = operands(d)
        (u1, dt1, B1, C1, xr1, w_t1), _ = operands(1) if both else ((u, dt, B, C, xr, w_t), None)
        e1 = 1 if both else d  # direction 1's per-channel operands (direction d's when not both)
        shfl = (cpt == 2 and q_ahead == 4 and vec[d] == 4 and not f32[d] and n == 16
                and (rank == 0 or vec_x == 4))
        grid = (triton.cdiv(e, be * cpt), batch, (2 if both else 1) * (nseg - 1 if pass_ == 1 else nseg))
        st = (states[d], states[e1]) if store_states else (states, states)
        hist = hs is not None and pass_ == 2
        assert not hist or rank == 0, "the stored states need the backward's dt (no fused dt_proj)"
        hp = (hs[d], hs[e1]) if hist else (seg_h[d], seg_h[e1])  # placeholder pointers without them
        scan_seq_fwd_kernel[grid](
            u, *_bln(u), dt, *_bln(dt), B, *_bln(B), C, *_bln(C), At[d], Dd[d], bias32[d], z, *_bln(z),
            out, *_bln(out), st[0], seg_h[d], seg_dt[d], xr, *_bln(xr), w_t, hp[0],
            length, e, n, nchunks, seg_chunks, nseg,
            u1, dt1, B1, C1, At[e1], Dd[e1], bias32[e1], out if o1 is None else o1, st[1], seg_h[e1], seg_dt[e1],
            xr1, w_t1, hp[1],
            BE=be, T=chunk, U=unroll, NS=n, REVERSE=d == 1, PASS=pass_, COMBINE=d == 1 and not both,
            HAS_D=D32 is not None, GATE=has_z and d == ndir - 1 and not both, SOFTPLUS=softplus,
            STORE_STATES=store_states and pass_ == 2, FAST=out.is_cuda and _CONFIG.seq_fast_math,
            VEC=vec[d], F32=f32[d], OFF64=off64, DT_R=rank, VEC_X=vec_x,
            AHEAD=q_ahead, BOTH=both, SHFL=shfl, CPT=cpt, STORE_HIST=hist, HW=hist_layout[0], HV=hist_layout[1],
            num_warps=be // 32,
            # two channels within 12 warps a SM: left free, ptxas gives pass 1 with the fused dt_proj 255
            # registers (the other variants 128-168, no spills); at 168 it spills none (Triton 3.6 compile
            # report). Storing every state: seq_fwd_hist_maxnreg
            **({"maxnreg": 168} if cpt == 2 and pass_ == 1 and out.is_cuda
               else _maxnreg(_CONFIG.seq_fwd_hist_maxnreg) if hist and out.is_cuda else {}))

    run = [d for d in range(ndir) if dirs[d] is not None]
    # a pass of both directions in one launch where their layouts agree (the mixer's stacked tensors do)
    pair = run == [0, 1] and operands(0)[1] == operands(1)[1]
    if nseg > 1:
        if pair and _CONFIG.seq_pass1_both:
            launch(0, 1, both=True)
        else:
            for d in run:
                launch(d, 1)
    if pair and nseg > 1 and _CONFIG.seq_pass2_both:
        o1 = torch.empty_like(out)  # direction 1's raw y, laid out as out
        assert o1.stride() == out.stride(), "empty_like keeps a dense layout"
        launch(0, 2, both=True, o1=o1)
        bl, be_c = 16, 64
        grid = (triton.cdiv(length, bl), triton.cdiv(e, be_c), batch)
        keep = keep_ysum and has_z
        gate_average_kernel[grid](out, o1, *_bln(out), z, *_bln(z), length, e, BL=bl, BE=be_c, GATE=has_z,
                                  KEEP=keep, num_warps=4)
        return o1 if keep else None
    for d in run:
        launch(d, 2)
    return None


def _seq_backward(dirs, ndir: int, A32, D32, has_D: bool, bias32, z, gout, states, gu, gdt, gBC, gA, gD, gbias,
                  softplus: bool, chunk: int, nchunks: int, ysum: torch.Tensor | None = None,
                  hs: torch.Tensor | None = None, hist_layout: tuple[int, bool] | None = None) -> torch.Tensor | None:
    """The seq backward (``triton_scan_seq_bwd_kernels``), both directions in each launch: the state recompute and
    the adjoint as two launches (``seq_bwd_hist``, where the states' buffer fits), else one. Fills gu, gdt
    ``[ndir, b, e, l]``, gBC ``[2, ndir, b, l, n]`` (zeroed), gA, gD, gbias (zeroed); returns dz ``[b, e, l]``
    (or None). ysum: the forward's ``(y_0 + y_1) / 2`` ``[b, e, l]`` (``seq_bwd_ysum``), which lets the two-launch
    adjoint write dz directly; None to recompute the outputs instead. hs: every step's state, stored by the
    forward (``seq_fwd_hist``) in hist_layout: then no state kernel runs, and states is not read."""
    (u0, dt0, B0, C0), (u1, dt1, B1, C1) = dirs
    batch, e, length = u0.shape
    n = A32.shape[-1]
    be = _CONFIG.seq_block_e
    group = min(_CONFIG.seq_bwd_group, chunk)
    n_e = triton.cdiv(e, be)
    dev = u0.device
    At = A32.transpose(1, 2).contiguous()  # [ndir, n, e]
    two = hs is not None or _two_launches(ndir, batch, e, length, n, u0.dtype)
    ys = two and ysum is not None and z is not None and ndir == 2
    if ys:  # direction 0's adjoint writes the whole dz: one tensor in z's dtype
        gz_parts = _token_major((batch, e, length), dtype=z.dtype, device=dev).unsqueeze(0)  # [1, b, e, l]
    else:  # a float32 term per direction, summed below
        gz_parts = None if z is None else _token_major((batch, e, length), dtype=torch.float32, device=dev, lead=ndir)
    zz = gout if z is None else z  # placeholder pointers without a gate
    gzp = gu if gz_parts is None else gz_parts
    yy = ysum if ys else gout  # a placeholder pointer without ysum
    cuda16 = u0.is_cuda and n == 16 and _CONFIG.seq_vec_bc
    vec = min(_vec_width(B0, C0), _vec_width(B1, C1)) if cuda16 else 0
    every = [u0, u1, dt0, dt1, B0, B1, C0, C1, zz, gout, yy, gu[0], gdt[0], gzp[0]]
    off64 = any(length * max(t.stride()) >= 2 ** 31 for t in every)
    fast, f32 = u0.is_cuda and _CONFIG.seq_fast_math, B0.dtype == torch.float32
    bfly = u0.is_cuda and _CONFIG.seq_bwd_butterfly
    if two:
        off64 = off64 or length * n * be >= 2 ** 31
        if hs is None:
            # hs [ndir, b, n_e, l, n / hw, be, hw]: each step's h_{t-1}; hv: by vector accesses (bf16, 8 a thread)
            hs = torch.empty(_hist_numel(ndir, batch, e, length, n), dtype=_hist_dtype(u0.dtype), device=dev)
            hw, hv = _hist_layout(hs, n, _CONFIG.seq_bwd_hist_vec)
            cpt = _CONFIG.seq_hist_channels_per_thread
            scan_seq_hist_kernel[(triton.cdiv(n_e, cpt), batch, ndir * nchunks)](
                u0, u1, *_bln(u0), dt0, dt1, *_bln(dt0), B0, B1, *_bln(B0), At, bias32, states, hs,
                batch, length, e, n, nchunks, chunk,
                BE=be, T=chunk, NS=n, SOFTPLUS=softplus, FAST=fast, VEC=vec, F32=f32, OFF64=off64, HW=hw, HV=hv,
                U=_CONFIG.seq_hist_unroll if chunk % _CONFIG.seq_hist_unroll == 0 else 1, CPT=cpt,
                num_warps=be // 32)
        else:  # stored by the forward
            hw, hv = hist_layout
        scan_seq_bwd_hist_kernel[(n_e, batch, ndir)](
            u0, u1, *_bln(u0), dt0, dt1, *_bln(dt0), B0, B1, *_bln(B0), C0, C1, *_bln(C0),
            At, D32, bias32, zz, *_bln(zz), gout, *_bln(gout), yy, *_bln(yy), hs,
            gu, *_d_bln(gu), gdt, *_d_bln(gdt), gBC[0], gBC[1], gzp, *_d_bln(gzp), gA, gD, gbias,
            batch, length, e, n,
            BE=be, NS=n, NDIR=ndir, HAS_D=has_D, HAS_Z=z is not None, SOFTPLUS=softplus, FAST=fast, VEC=vec,
            F32=f32, OFF64=off64, BFLY=bfly, PF=_CONFIG.seq_bwd_hist_pf, YS=ys, HW=hw, HV=hv, num_warps=be // 32,
            **_maxnreg(_CONFIG.seq_bwd_hist_maxnreg))
    else:
        scratch = torch.empty(ndir * batch * n_e * (chunk // group + group) * 16 * be, dtype=torch.float32,
                              device=dev)
        scan_seq_bwd_kernel[(n_e, batch, ndir)](
            u0, u1, *_bln(u0), dt0, dt1, *_bln(dt0), B0, B1, *_bln(B0), C0, C1, *_bln(C0),
            At, D32, bias32, zz, *_bln(zz), gout, *_bln(gout), states, scratch,
            gu, *_d_bln(gu), gdt, *_d_bln(gdt), gBC[0], gBC[1], gzp, *_d_bln(gzp), gA, gD, gbias,
            batch, length, e, n, nchunks, chunk, group,
            BE=be, T=chunk, G=group, NS=n, NDIR=ndir, HAS_D=has_D, HAS_Z=z is not None, SOFTPLUS=softplus,
            FAST=fast, VEC=vec, F32=f32, OFF64=off64, BFLY=bfly, num_warps=be // 32)
    if gz_parts is None:
        return None
    if ys:
        return gz_parts[0]
    gz = gz_parts[0] + gz_parts[1] if ndir == 2 else gz_parts[0]  # [b, e, l], token-major
    return gz.to(z.dtype)


def _hist_numel(ndir: int, batch: int, e: int, length: int, n: int) -> int:
    """Values in the two-launch seq backward's state buffer: ``[ndir, b, cdiv(e, BE), l, n, BE]`` (or with
    ``seq_bwd_hist_vec`` ``[ndir, b, cdiv(e, BE), l, n / 8, BE, 8]``)."""
    be = _CONFIG.seq_block_e
    return ndir * batch * triton.cdiv(e, be) * length * n * be  # channels padded to whole programs


def _hist_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.bfloat16 if _CONFIG.seq_bwd_hist_bf16 and dtype == torch.bfloat16 else torch.float32


def _hist_layout(hs: torch.Tensor, n: int, side_by_side: bool) -> tuple[int, bool]:
    """``(HW, HV)`` of that buffer: HW 8 puts 8 states of a channel side by side (side_by_side), HV stores and
    loads them by vector accesses (compiled CUDA, bf16 states, n = 16)."""
    hv = hs.is_cuda and n == 16 and hs.dtype == torch.bfloat16 and side_by_side
    hw = 8 if side_by_side and (hv or not hs.is_cuda) and n % 8 == 0 else 1
    return hw, hv


def _two_launches(ndir: int, batch: int, e: int, length: int, n: int, dtype: torch.dtype) -> bool:
    """Whether the seq backward runs in two launches (``seq_bwd_hist``: its state buffer fits the limit)."""
    nbytes = _hist_numel(ndir, batch, e, length, n) * _hist_dtype(dtype).itemsize
    return _CONFIG.seq_bwd_hist and nbytes <= _CONFIG.seq_bwd_hist_mb * 2 ** 20


def _maxnreg(n: int) -> dict:
    """The ``maxnreg`` launch option (a register cap per thread) when n > 0, else nothing."""
    return {"maxnreg": n} if n else {}


class _ScanFn(torch.autograd.Function):
    """Per direction d: u_d, delta_d ``[b, e, l]``; B_d, C_d ``[b, n, l]``; or, stacked, u0, dt0, B0, C0 with a
    leading direction axis and u1.. None (gradients then come back stacked, without select/copy). Shared: A
    ``[ndir, e, n]``; D, delta_bias ``[ndir, e]`` (or None); z ``[b, e, l]`` (or None). With a second direction
    it is scanned right-to-left and the output is the gated average."""

    @staticmethod
    def forward(ctx, delta_softplus: bool, u0, dt0, B0, C0, u1, dt1, B1, C1, A, D, z, delta_bias):
        stacked = u0.dim() == 4
        if stacked:
            assert u0.shape[0] == dt0.shape[0] == B0.shape[0] == C0.shape[0] == 2, "stacked inputs need 2 directions"
            (u0, u1), (dt0, dt1), (B0, B1), (C0, C1) = u0.unbind(0), dt0.unbind(0), B0.unbind(0), C0.unbind(0)
        ndir = 1 if u1 is None else 2
        batch, e, length = u0.shape
        n = A.shape[-1]
        for name, t in (("delta", dt0), ("u_1", u1), ("delta_1", dt1), ("z", z)):
            assert t is None or t.shape == u0.shape, f"{name} {tuple(t.shape)} != u {tuple(u0.shape)}"
        for t in (B0, C0, B1, C1):
            assert t is None or t.shape == (batch, n, length), f"B, C must be {(batch, n, length)}, got {tuple(t.shape)}"
        assert A.shape == (ndir, e, n), f"A must be {(ndir, e, n)}, got {tuple(A.shape)}"
        (u0, u1), (dt0, dt1) = _same_layout(u0, u1), _same_layout(dt0, dt1)
        (B0, B1), (C0, C1) = _same_layout(B0, B1), _same_layout(C0, C1)
        train = any(ctx.needs_input_grad)
        cfg, chunk = _CONFIG.fwd, _CONFIG.chunk
        if train and _CONFIG.seq_train_chunk and _CONFIG.forward == _CONFIG.backward == "seq" and n <= 16:
            chunk = _CONFIG.seq_train_chunk
        elif not train and _CONFIG.forward == "seq" and n <= 16:
            chunk = _infer_chunk()
        nchunks = triton.cdiv(length, chunk)
        dev = u0.device
        A32, D32, bias32 = _f32(A, (ndir, e, n), dev), _f32(D, (ndir, e), dev), _f32(delta_bias, (ndir, e), dev)
        out = _token_major((batch, e, length), dtype=u0.dtype, device=dev)  # [b, e, l]
        seq = _CONFIG.forward == _CONFIG.backward == "seq" and n <= 16
        two = train and seq and _two_launches(ndir, batch, e, length, n, u0.dtype)
        # seq_fwd_hist: every step's state, stored by the forward for the backward, instead of a state per chunk
        fwd_hist = two and _CONFIG.seq_fwd_hist
        hs, hist_layout = None, None
        if fwd_hist:
            hs = torch.empty(_hist_numel(ndir, batch, e, length, n), dtype=_hist_dtype(u0.dtype), device=dev)
            # side by side: 2 vector stores a step in the forward; 16 scalar ones cost it 35% more instructions and
            # spill at 168 registers (compile report, Triton 3.6)
            hist_layout = _hist_layout(hs, n, side_by_side=True)
        states = torch.empty((ndir, batch, nchunks, e, n) if train and not fwd_hist else (1,), dtype=torch.float32,
                             device=dev)
        zz = out if z is None else z  # placeholder pointer when there is no gate
        ysum = None
        if _CONFIG.forward == "seq" and n <= 16:
            keep = two and _CONFIG.seq_bwd_ysum and ndir == 2
            ysum = _seq_forward(((u0, dt0, B0, C0), (u1, dt1, B1, C1))[:ndir], A32, D32 if D is not None else None,
                                bias32, zz, z is not None, out, states, bool(delta_softplus), chunk, nchunks,
                                train and not fwd_hist, keep_ysum=keep, hs=hs, hist_layout=hist_layout or (1, False))
        else:
            grid = (triton.cdiv(e, cfg.block_e), batch)
            scan_fwd_kernel[grid](
                u0, u1, *_bln(u0), dt0, dt1, *_bln(dt0), B0, B1, *_bln(B0), C0, C1, *_bln(C0),
                A32, D32, bias32, zz, *_bln(zz), out, *_bln(out), states, batch, length, e, n, nchunks,
                BE=cfg.block_e, NP=triton.next_power_of_2(n), T=chunk, BIDIR=ndir == 2, HAS_D=D is not None,
                HAS_Z=z is not None, HAS_BIAS=delta_bias is not None, SOFTPLUS=bool(delta_softplus),
                STORE_STATES=train, num_warps=cfg.num_warps)
        if train:
            ctx.save_for_backward(u0, dt0, B0, C0, u1, dt1, B1, C1, A32, D32, z, bias32, states, ysum, hs)
            ctx.meta = (stacked, ndir, delta_softplus, D is not None, delta_bias is not None, A.dtype,
                        None if D is None else D.dtype, None if delta_bias is None else delta_bias.dtype, chunk,
                        hist_layout)
        return out

    @staticmethod
    def backward(ctx, gout):
        u0, dt0, B0, C0, u1, dt1, B1, C1, A32, D32, z, bias32, states, ysum, hs = ctx.saved_tensors
        stacked, ndir, delta_softplus, has_D, has_bias, A_dtype, D_dtype, bias_dtype, chunk, hist_layout = ctx.meta
        batch, e, length = u0.shape
        n = A32.shape[-1]
        nchunks = triton.cdiv(length, chunk)  # the forward stored one state per chunk of this size
        dev = u0.device
        gu = _token_major((batch, e, length), dtype=u0.dtype, device=dev, lead=ndir)  # [ndir, b, e, l]
        gdt = _token_major((batch, e, length), dtype=dt0.dtype, device=dev, lead=ndir)  # [ndir, b, e, l]
        gBC = torch.zeros(2, ndir, batch, length, n, dtype=torch.float32, device=dev)  # atomic sums over channels
        gA = torch.zeros(ndir, e, n, dtype=torch.float32, device=dev)
        gD = torch.zeros(ndir, e, dtype=torch.float32, device=dev)
        gbias = torch.zeros(ndir, e, dtype=torch.float32, device=dev)
        if u1 is None:
            u1, dt1, B1, C1 = u0, dt0, B0, C0
        dirs = (u0, dt0, B0, C0), (u1, dt1, B1, C1)
        if hs is not None or (_CONFIG.backward == "seq" and n <= 16):  # with hs, the backward the forward planned
            gz = _seq_backward(dirs, ndir, A32, D32, has_D, bias32, z, gout, states, gu, gdt, gBC, gA, gD, gbias,
                               bool(delta_softplus), chunk, nchunks, ysum, hs=hs, hist_layout=hist_layout)
        else:
            gz = None if z is None else _token_major((batch, e, length), dtype=z.dtype, device=dev)  # [b, e, l]
            zz = gout if z is None else z
            gzz = gout if gz is None else gz
            cfg = _CONFIG.bwd
            grid = (triton.cdiv(e, cfg.block_e), batch)
            scan_bwd_kernel[grid](
                u0, u1, *_bln(u0), dt0, dt1, *_bln(dt0), B0, B1, *_bln(B0), C0, C1, *_bln(C0),
                A32, D32, bias32, zz, *_bln(zz), gout, *_bln(gout), states,
                gu, *_d_bln(gu), gdt, *_d_bln(gdt), gBC[0], gBC[1], gzz, *_bln(gzz), gA, gD, gbias,
                batch, length, e, n, nchunks,
                BE=cfg.block_e, NP=triton.next_power_of_2(n), T=chunk, BIDIR=ndir == 2, HAS_D=has_D,
                HAS_Z=z is not None, HAS_BIAS=has_bias, SOFTPLUS=bool(delta_softplus), num_warps=cfg.num_warps)
        gB = rearrange(gBC[0], "d b l n -> d b n l").to(B0.dtype)  # [ndir, b, n, l]
        gC = rearrange(gBC[1], "d b l n -> d b n l").to(C0.dtype)  # [ndir, b, n, l]
        if stacked:
            grads = (gu, gdt, gB, gC, None, None, None, None)
        else:
            grads = (gu[0], gdt[0], gB[0], gC[0]) + ((gu[1], gdt[1], gB[1], gC[1]) if ndir == 2 else (None,) * 4)
        return (None, *grads, gA.to(A_dtype), gD.to(D_dtype) if has_D else None, gz,
                gbias.to(bias_dtype) if has_bias else None)


def selective_scan_triton(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False):
    """mamba-ssm's ``selective_scan_fn``: u, delta, z ``[b, e, l]``; A ``[e, n]``; B, C ``[b, n, l]``; D,
    delta_bias ``[e]``. Returns ``[b, e, l]`` in u's dtype (memory laid out ``[b, l, e]``)."""
    lead = lambda t: None if t is None else t.unsqueeze(0)  # noqa: E731 - the direction axis of 1
    return _ScanFn.apply(bool(delta_softplus), u, delta, B, C, None, None, None, None, lead(A), lead(D), z,
                         lead(delta_bias))


def bidirectional_selective_scan_triton(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False):
    """Both directions in one launch. u, delta ``[2, b, e, l]``; A ``[2, e, n]``; B, C ``[2, b, n, l]``; D,
    delta_bias ``[2, e]``; z ``[b, e, l]`` (all in natural time order, any strides).

    Returns ``[b, e, l]``: ``(y_0 + y_1) / 2 * silu(z)``, y_0 scanned left-to-right, y_1 right-to-left.
    """
    assert u.shape[0] == 2, f"leading direction axis must be 2, got {tuple(u.shape)}"
    return _ScanFn.apply(bool(delta_softplus), u, delta, B, C, None, None, None, None, A, D, z, delta_bias)


def bidirectional_selective_scan_split_triton(x_f, x_b, z, dt_f, B_f, C_f, A_f, D_f, bias_f, dt_b, B_b, C_b, A_b,
                                              D_b, bias_b):
    """The backend hook ``bidirectional_selective_scan`` (see ``ops/backend.py``): per-direction tensors, direction
    ``_b`` in natural time order and scanned right-to-left; ``softplus(dt + bias)``. x_*, z, dt_*: ``[b, e, l]``;
    B_*, C_* ``[b, n, l]``; A_* ``[e, n]``; D_*, bias_* ``[e]``. Returns ``[b, e, l]``."""
    pair = lambda a, b: torch.stack([a, b])  # noqa: E731 - small per-channel parameters only
    return _ScanFn.apply(True, x_f, dt_f, B_f, C_f, x_b, dt_b, B_b, C_b, pair(A_f, A_b), pair(D_f, D_b), z,
                         pair(bias_f, bias_b))


def _conv_w4(w32: torch.Tensor) -> torch.Tensor:
    """Conv weights ``[2, e, k]`` (k <= 4) as 4 taps with k - 4 leading zeros: the same conv in both directions
    (causal: tap i of k meets x[t - (k-1) + i], which is tap 4 - k + i of 4), for the K = 4 seq kernels."""
    k = w32.shape[-1]
    assert k <= 4, f"the conv kernels handle kernel widths up to 4, got {k}"
    return w32 if k == 4 else torch.cat([w32.new_zeros(*w32.shape[:-1], 4 - k), w32], dim=-1).contiguous()


def _conv_steps(batch: int, e: int, length: int, device: torch.device) -> int:
    """Positions a program of the seq conv backward walks: enough programs for ~32 one-warp programs a SM (the
    loop is a chain of dependent loads and math; occupancy hides it), at least 32 steps (a segment re-walks 6)."""
    if _CONFIG.conv_seq_steps:
        return _CONFIG.conv_seq_steps
    if device.type != "cuda":
        return length
    sms = torch.cuda.get_device_properties(device).multi_processor_count
    segments = triton.cdiv(32 * sms, batch * triton.cdiv(e, 32))
    return max(32, triton.cdiv(length, segments))


def _conv_fwd(x: torch.Tensor, w32: torch.Tensor, b32: torch.Tensor, out: torch.Tensor, only: int = -1) -> None:
    """The bidirectional conv + SiLU of x ``[b, e, l]`` (any strides) into out ``[2 (1 with only), b, l, e]``."""
    batch, e, length = x.shape
    grid = (triton.cdiv(length, 64), triton.cdiv(e, 32), batch)
    conv_bidir_fwd_kernel[grid](x, x.stride(0), x.stride(2), x.stride(1), w32, b32, out, batch, length, e,
                                K=w32.shape[-1], BT=64, BE=32, ONLY=only, num_warps=4)


class _ConvFn(torch.autograd.Function):
    """The bidirectional conv + SiLU. With ``tokens`` it returns its output twice, as ``[2, b, e, l]`` (for the
    scan) and as ``[2, b*l, e]`` (for x_proj), two views of one buffer: each consumer's gradient then arrives
    separately and the backward kernel adds them as it loads them, instead of autograd adding them first (one
    full-size add a layer: 0.91 of the tiny training step's 45.3 ms of kernels, results/gpu_issue8_h200_r58)."""

    @staticmethod
    def forward(ctx, x, weight, bias, tokens=False):
        batch, e, length = x.shape
        k = weight.shape[-1]
        assert weight.shape == (2, e, k) and bias.shape == (2, e), "weight [2, e, k], bias [2, e]"
        w32, b32 = weight.float().contiguous(), bias.float().contiguous()
        out = torch.empty(2, batch, length, e, dtype=x.dtype, device=x.device)  # [2, b, l, e]
        _conv_fwd(x, w32, b32, out)
        ctx.save_for_backward(x, w32, b32)
        ctx.dtypes = (weight.dtype, bias.dtype)
        if tokens:
            return out.transpose(2, 3), out.view(2, batch * length, e)  # [2, b, e, l], [2, b*l, e]
        return out.transpose(2, 3)  # [2, b, e, l]

    @staticmethod
    def backward(ctx, gu, gu_tok=None):
        x, w32, b32 = ctx.saved_tensors
        batch, e, length = x.shape
        k = w32.shape[-1]
        # [2, b, l, e] each (no-ops for the fused path's gradients); gu_tok only with ``tokens`` (autograd gives an
        # unused output a zero gradient, never None)
        gu = rearrange(gu, "d b e l -> d b l e").contiguous()
        gu2 = None if gu_tok is None else gu_tok.reshape(2, batch, length, e).contiguous()
        assert k <= 4, f"the conv backward kernel handles kernel widths up to 4, got {k}"
        gx = _token_major((batch, e, length), dtype=x.dtype, device=x.device)  # [b, e, l]
        if _CONFIG.conv_seq:
            gw = torch.zeros(2, e, 4, dtype=torch.float32, device=x.device)
            gb = torch.zeros_like(b32)
            steps = _conv_steps(batch, e, length, x.device)
            conv_bidir_bwd_seq_kernel[(triton.cdiv(e, 32), batch, triton.cdiv(length, steps))](
                x, x.stride(0), x.stride(2), x.stride(1), _conv_w4(w32), b32, gu, gx, gx.stride(0), gx.stride(2),
                gx.stride(1), gw, gb, batch, length, e, steps, gu if gu2 is None else gu2, BE=32, TWO=gu2 is not None,
                U=_CONFIG.conv_seq_unroll, num_warps=1)
            return gx, gw[..., 4 - k:].to(ctx.dtypes[0]), gb.to(ctx.dtypes[1]), None
        if gu2 is not None:
            gu = gu + gu2
        gp = torch.empty(2, batch, length, e, dtype=torch.float32, device=x.device)  # [2, b, l, e] d loss / d pre
        gw = torch.zeros_like(w32)
        gb = torch.zeros_like(b32)
        steps = 256  # positions a program of part 1 walks: its weight sums go out once
        conv_bidir_bwd_pre_kernel[(triton.cdiv(e, 32), batch, triton.cdiv(length, steps))](
            x, x.stride(0), x.stride(2), x.stride(1), w32, b32, gu, gp, gw, gb, batch, length, e, steps,
            K=k, BT=32, BE=32, num_warps=4)
        conv_bidir_bwd_x_kernel[(triton.cdiv(length, 64), triton.cdiv(e, 32), batch)](
            gp, w32, gx, gx.stride(0), gx.stride(2), gx.stride(1), batch, length, e, K=k, BT=64, BE=32, num_warps=4)
        return gx, gw.to(ctx.dtypes[0]), gb.to(ctx.dtypes[1]), None


def bidirectional_conv1d_triton(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """x ``[b, e, l]`` (any strides); weight ``[2, e, k]``; bias ``[2, e]``. Returns ``[2, b, e, l]`` (memory
    ``[2, b, l, e]``): ``silu`` of the causal conv with weight[0] and of the anti-causal conv with weight[1], i.e.
    of ``causal_conv1d(x.flip(-1), weight[1]).flip(-1)``."""
    return _ConvFn.apply(x, weight, bias)


def _dir_linear(x: torch.Tensor, w: torch.Tensor, *, split: bool) -> torch.Tensor:
    """``x [2, T, in] @ w[d]^T`` per direction -> ``[2, T, out]``. With ``split`` (training) the tokens are cut
    into up to 16 groups that share the weight by broadcasting, so autograd computes the weight gradient as 2 x 16
    partial products over T / 16 tokens and sums them: split-K. Unsplit, cuBLAS ran one of these gradients
    (output 48 x 384 or 384 x 12 a direction, K = T) with a 64 x 64-tile batched kernel, i.e. about 12 thread
    blocks by the tile count: 0.8 ms per layer at 64 x 512 tokens on an H200, 16% of the training step
    (benchmarks/results/gpu_profile_steps_r7.md; it was gone after the split, gpu_profile_steps_r8.md)."""
    groups = next(g for g in (16, 8, 4, 2, 1) if x.shape[1] % g == 0) if split else 1
    if groups == 1:
        return torch.bmm(x, w.transpose(1, 2))  # [2, T, out]
    xg = x.view(x.shape[0], groups, x.shape[1] // groups, x.shape[2])  # [2, g, T/g, in], a view
    y = torch.matmul(xg, w.transpose(1, 2).unsqueeze(1))  # [2, g, T/g, out]
    return y.view(x.shape[0], x.shape[1], w.shape[1])  # [2, T, out]


class _SplitColumnsFn(torch.autograd.Function):
    """x_dbl ``[..., rp + 2n]`` -> its column blocks dt_in ``[..., rp]``, B, C ``[..., n]`` (views). The backward
    is one ``cat`` of the three gradients. Three plain slices would cost, in autograd's backward, a zero fill and a
    copy each (``slice_backward``) and two adds: 7 more launches a layer (r57's profile of the tiny training step:
    72 bf16 fills and 72 bf16 adds, 1.34 ms of 45.7)."""

    @staticmethod
    def forward(ctx, x_dbl: torch.Tensor, rp: int, n: int):
        assert x_dbl.shape[-1] == rp + 2 * n, f"x_dbl has {x_dbl.shape[-1]} columns, expected {rp} + 2 x {n}"
        return x_dbl[..., :rp], x_dbl[..., rp:rp + n], x_dbl[..., rp + n:]

    @staticmethod
    def backward(ctx, g_dt, g_B, g_C):  # an unused block's gradient comes as zeros (autograd materialises it)
        return torch.cat((g_dt, g_B, g_C), dim=-1), None, None  # [..., rp + 2n]


@dataclass(frozen=True)
class MixerWeights:
    """Both directions' mixer parameters as ``bidirectional_mixer_triton``'s kernels take them (``prepare_mixer``):
    stacked per direction, x_proj's rows reordered and padded, dt_proj's rank padded. Built per call in training;
    a mixer without gradients keeps it between calls (``MambaMixer``), which saves ~8 small launches a layer."""

    conv_weight: torch.Tensor  # [2, e, k]
    conv_bias: torch.Tensor  # [2, e]
    x_proj_weight: torch.Tensor  # [2, rp + 2n, e]: rows 0 (rp - r) | dt_in (r) | B (n) | C (n)
    dt_proj_weight: torch.Tensor  # [2, e, rp]: the dt rank r with rp - r zero columns in front
    A: torch.Tensor  # [2, e, n]
    D: torch.Tensor  # [2, e]
    dt_bias: torch.Tensor  # [2, e]
    rank: int  # r


def prepare_mixer(fwd: dict, bwd: dict) -> MixerWeights:
    """``MambaMixer.direction_params`` of each direction -> :class:`MixerWeights` (the ``prepare_mixer`` hook).

    x_proj's rows get ``pad`` zero rows in front, ``pad = -(r + 2n) % 8``: its output x_dbl is then
    ``[0 (pad) | dt_in (r) | B (n) | C (n)]`` with a multiple of 8 columns, and B, C start on 16 bytes in bf16
    (n a multiple of 4), so the seq forward reads them with vector loads (``_vec_width``). dt_proj reads the first
    ``rp = pad + r`` columns with ``pad`` zero weight columns in front: the same product, with 16-byte rows in every
    matrix of its forward and backward, so cuBLAS takes its aligned kernels (rank 12 ran in align1 / align2
    CUTLASS kernels: 3.9 ms of a 64 x 512-token training step, results/gpu_seq_bwd_h200_r9/gpu_profile_steps_r9.md).
    Padding in front rather than reordering the rows to B | C | dt_in (as until 2026-12-04) keeps each parameter
    whole: a slice of a weight costs a zero fill, a copy and an add in the backward. (Building all stacked
    tensors as views of one cat instead of a stack each changed nothing measurable: results/gpu_issue8_h200_r31.)
    """
    r = fwd["dt_proj_weight"].shape[1]
    e = fwd["x_proj_weight"].shape[1]
    n = fwd["A"].shape[1]
    pad = -(r + 2 * n) % 8
    pad_rows = _zeros(pad * e, fwd["x_proj_weight"].dtype, fwd["x_proj_weight"].device).view(pad, e)
    stack = lambda key: torch.stack([fwd[key], bwd[key]])  # noqa: E731 - [2, ...] per-direction parameters
    x_proj = torch.cat([pad_rows, fwd["x_proj_weight"], pad_rows, bwd["x_proj_weight"]])  # [2 (rp + 2n), e]
    w_dt = torch.cat([pad_rows, fwd["dt_proj_weight"].T, pad_rows, bwd["dt_proj_weight"].T])  # [2 rp, e]
    return MixerWeights(conv_weight=stack("conv_weight"), conv_bias=stack("conv_bias"),
                        x_proj_weight=rearrange(x_proj, "(two c) e -> two c e", two=2),
                        dt_proj_weight=rearrange(w_dt, "(two rp) e -> two e rp", two=2),  # a view: bmm reads w^T
                        A=stack("A"), D=stack("D"), dt_bias=stack("dt_bias"), rank=r)


@functools.lru_cache(maxsize=32)
def _zeros(numel: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A zero vector for ``prepare_mixer``'s padding, made once (only ever read; a normal tensor even when first
    asked for under ``inference_mode``, since training calls reuse it)."""
    with torch.inference_mode(False):
        return torch.zeros(numel, dtype=dtype, device=device)


def bidirectional_mixer_triton(x: torch.Tensor, z: torch.Tensor, fwd: dict, bwd: dict, *,
                               weights: MixerWeights | None = None) -> torch.Tensor:
    """The two SSM directions of a bidirectional ``MambaMixer`` between ``in_proj`` and ``out_proj``.

    x, z: ``[b, e, l]`` (the in_proj halves; any strides). fwd, bwd: ``MambaMixer.direction_params`` of each
    direction; weights: ``prepare_mixer(fwd, bwd)`` if the caller keeps it (else built here). Returns ``[b, e, l]``
    = ``(y_fwd + y_bwd) / 2 * silu(z)`` with memory ``[b, l, e]``, so that ``out_proj`` reads it without a
    transpose.
    """
    batch = x.shape[0]
    n = fwd["A"].shape[1]
    grad = torch.is_grad_enabled() and any(t.requires_grad for t in (x, z, *fwd.values(), *bwd.values())
                                           if isinstance(t, torch.Tensor))
    if not grad and _CONFIG.forward == "seq" and n <= 16 and batch * x.shape[-1] >= _CONFIG.low_memory_tokens:
        return _mixer_one_direction_at_a_time(x, z, fwd, bwd)
    w = prepare_mixer(fwd, bwd) if weights is None else weights
    assert w.A.shape[1:] == fwd["A"].shape and w.rank == fwd["dt_proj_weight"].shape[1], (
        f"weights for A {tuple(w.A.shape[1:])}, rank {w.rank} do not match the parameters' A "
        f"{tuple(fwd['A'].shape)}, rank {fwd['dt_proj_weight'].shape[1]}")
    rp = w.dt_proj_weight.shape[-1]  # x_dbl's columns: zeros and dt_in (rp), B (n), C (n)
    # [2, b, e, l] for the scan and [2, b*l, e] for x_proj: one buffer, each consumer's gradient kept apart
    u, u_tok = _ConvFn.apply(x, w.conv_weight, w.conv_bias, True)
    x_dbl = _dir_linear(u_tok, w.x_proj_weight, split=grad)  # [2, b*l, rp + 2n]
    dt_in, B, C = _SplitColumnsFn.apply(x_dbl, rp, n)  # views [2, b*l, rp], [2, b*l, n] x 2
    dt = _dir_linear(dt_in, w.dt_proj_weight, split=grad)  # [2, b*l, e]
    dt = rearrange(dt, "d (b l) e -> d b e l", b=batch)  # [2, b, e, l], a view
    B = rearrange(B, "d (b l) n -> d b n l", b=batch)  # [2, b, n, l], a view
    C = rearrange(C, "d (b l) n -> d b n l", b=batch)  # [2, b, n, l], a view
    return bidirectional_selective_scan_triton(u, dt, w.A, B, C, w.D, z, w.dt_bias, True)


def _bc_first(w: torch.Tensor, r: int, dt_cols: int = 0) -> torch.Tensor:
    """x_proj weights ``[..., r + 2n, e]`` (rows dt_in | B | C) reordered to B | C | dt_in and padded with zero rows
    to a multiple of 8 (and to at least ``dt_cols`` dt_in rows): every B and C row of the product then starts on
    16 bytes in bf16, so the seq forward reads it with vector loads (``_vec_width``)."""
    rows = w.shape[-2] + max(0, dt_cols - r)
    pad = w.new_zeros(*w.shape[:-2], rows - w.shape[-2] + (-rows % 8), w.shape[-1])
    return torch.cat([w[..., r:, :], w[..., :r, :], pad], dim=-2)


def _mixer_one_direction_at_a_time(x: torch.Tensor, z: torch.Tensor, fwd: dict, bwd: dict) -> torch.Tensor:
    """``bidirectional_mixer_triton`` for inference with the seq forward: direction 0's conv, x_proj, dt_proj and
    scan, then direction 1's, each freeing its intermediates before the next (about half the activation memory of
    computing both at once, for two more launches). Same arguments and result."""
    batch, e, length = x.shape
    n = fwd["A"].shape[1]
    r = fwd["dt_proj_weight"].shape[1]
    pair = lambda key: torch.stack([fwd[key], bwd[key]]).float().contiguous()  # noqa: E731 - [2, ...] parameters
    A32, D32, bias32 = pair("A"), pair("D"), pair("dt_bias")
    w_conv, b_conv = pair("conv_weight"), pair("conv_bias")  # [2, e, k], [2, e]
    chunk = _infer_chunk()
    nchunks = triton.cdiv(length, chunk)
    out = _token_major((batch, e, length), dtype=x.dtype, device=x.device)  # [b, e, l]
    no_states = torch.empty(1, dtype=torch.float32, device=x.device)
    for d, params in enumerate((fwd, bwd)):
        u = torch.empty(batch, length, e, dtype=x.dtype, device=x.device)  # [b, l, e]
        _conv_fwd(x, w_conv, b_conv, u, only=d)
        fuse = _CONFIG.seq_fuse_dt and _CONFIG.seq_unroll == 1 and r <= 16
        w = _bc_first(params["x_proj_weight"], r, 16 if fuse else 0)  # [2n + r + pad, e]
        x_dbl = rearrange(u, "b l e -> (b l) e") @ w.T  # [b*l, 2n + r + pad]
        x_bcl = rearrange(x_dbl, "(b l) c -> b c l", b=batch)  # [b, 2n + r + pad, l], a view
        if fuse:
            dt = LowRankDt(x_bcl[:, 2 * n:2 * n + r], params["dt_proj_weight"].T.float().contiguous(), True)
        else:
            dt = x_dbl[:, 2 * n:2 * n + r] @ params["dt_proj_weight"].T  # [b*l, e]
            dt = rearrange(dt, "(b l) e -> b e l", b=batch)  # [b, e, l], a view
        dirs = [None, None]
        dirs[d] = (u.transpose(1, 2), dt, x_bcl[:, :n], x_bcl[:, n:2 * n])
        _seq_forward(dirs, A32, D32, bias32, z, True, out, no_states, True, chunk, nchunks, False)
        del u, x_dbl, x_bcl, dt, dirs
    return out
