"""GPU speed of the fused Triton bidirectional scan, and SSAMBA against SSAST with SDPA attention (issue 8).

Parts (each writes one JSON under ``--out-dir`` and prints a table last):

- ``ceilings``: the device's measured memory bandwidth (device-to-device copy, read + write bytes) and bf16 GEMM
  rate, for the roofline note (benchmarks/ROOFLINE.md).
- ``kernel``: the scan alone at the mixer's sizes: Triton fused bidirectional scan (forward; forward + backward)
  against mamba-ssm's ``selective_scan_fn`` run as the unfused mixer does (two calls, flipped copies, average).
  ``--sweep`` also times launch configurations of the Triton kernels.
- ``bwdsweep``: the seq backward's group sizes and butterfly sums against the chunked backward and mamba-ssm
  (``--seq-only`` picks cases: 0: 64 x 512 e384, 1: 4 x 22016 e384, 2: 64 x 512 e1536).
- ``models``: encoder blocks only, bf16, batch 4 at 512 and 22016 tokens, ssamba-tiny/base (scan backends
  ``triton`` and ``mamba_ssm``) against ssast-tiny/base (SDPA): median time, peak working memory, ratios; eager and
  CUDA-graph replay. Training step (batch 64 x 512 tokens, bf16 autocast, Adam) for tiny and base.

Timing: a minimal helper here (CUDA events around each call, median after warm-up), not the profiling package's
harness (issue 6), which was not committed when this ran. Usage::

    python benchmarks/gpu_speed.py ceilings kernel models --out-dir benchmarks/results
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from einops import rearrange

DTYPES = {"bf16": torch.bfloat16, "fp32": torch.float32}


@dataclass(frozen=True)
class TimingConfig:
    """Warm-up calls, then ``repeats`` timed calls (median), stopping early after ``budget_s`` seconds."""

    warmup: int = 5
    repeats: int = 30
    budget_s: float = 3.0


def time_ms(fn: Callable[[], object], timing: TimingConfig) -> float:
    """Median milliseconds of ``fn`` on the GPU (CUDA events around each call)."""
    for _ in range(timing.warmup):
        fn()
    torch.cuda.synchronize()
    times, t0 = [], time.perf_counter()
    for _ in range(timing.repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
        if len(times) >= 5 and time.perf_counter() - t0 > timing.budget_s:
            break
    return statistics.median(times)


def peak_working_mib(fn: Callable[[], object]) -> float:
    """Peak allocator bytes above what was allocated at entry (weights and inputs), in MiB."""
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    fn()
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - base) / 2 ** 20


def environment() -> dict:
    import triton

    env = dict(gpu=torch.cuda.get_device_name(), torch=torch.__version__, cuda=torch.version.cuda,
               triton=triton.__version__, python=sys.version.split()[0])
    try:
        import mamba_ssm

        env["mamba_ssm"] = mamba_ssm.__version__
    except Exception as exc:  # optional comparison backend
        env["mamba_ssm"] = f"unavailable ({type(exc).__name__})"
    return env


# ---------------------------------------------------------------- ceilings
def measure_ceilings(timing: TimingConfig) -> dict:
    n = 2 ** 30  # 1 GiB copied: far beyond L2
    src = torch.randn(n // 4, device="cuda")
    dst = torch.empty_like(src)
    copy_ms = time_ms(lambda: dst.copy_(src), timing)
    m = 8192
    a = torch.randn(m, m, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(m, m, device="cuda", dtype=torch.bfloat16)
    mm_ms = time_ms(lambda: a @ b, timing)
    return dict(copy_bytes=2 * n, copy_ms=copy_ms, bandwidth_GBps=2 * n / copy_ms / 1e6,
                gemm_shape=[m, m, m], gemm_ms=mm_ms, bf16_gemm_TFLOPs=2 * m ** 3 / mm_ms / 1e9)


# ---------------------------------------------------------------- kernel
@dataclass(frozen=True)
class ScanCase:
    """One scan size as the mixer produces it: batch, tokens, d_inner (e), d_state (n), dt_rank (r)."""

    batch: int
    tokens: int
    d_inner: int
    d_state: int = 16
    dt_rank: int = 12
    dtype: str = "bf16"

    def min_bytes(self) -> int:
        """Forward, each operand read once and the output written once: u, dt (both directions), z, out, B, C."""
        item = DTYPES[self.dtype].itemsize
        bel = self.batch * self.tokens * self.d_inner
        return item * (6 * bel + 4 * self.batch * self.tokens * self.d_state)


def scan_inputs(case: ScanCase) -> dict:
    """Mixer-layout inputs: u, dt ``[2, b, l, e]`` memory; B, C views into x_dbl; z a view into xz."""
    b, l, e, n, r = case.batch, case.tokens, case.d_inner, case.d_state, case.dt_rank
    dtype = DTYPES[case.dtype]
    dev = "cuda"
    u = torch.randn(2, b, l, e, device=dev, dtype=dtype).transpose(2, 3)  # [2, b, e, l]
    dt = (torch.randn(2, b, l, e, device=dev, dtype=dtype) * 0.5).transpose(2, 3)  # [2, b, e, l]
    # the fused mixer's x_proj layout (scan_triton.bidirectional_mixer_triton): B | C | dt_in | pad to 8
    x_dbl = torch.randn(2, b, l, 2 * n + r + (-(r + 2 * n) % 8), device=dev, dtype=dtype)  # [2, b, l, 2n + r + pad]
    B = x_dbl[..., :n].transpose(2, 3)  # [2, b, n, l]
    C = x_dbl[..., n:2 * n].transpose(2, 3)  # [2, b, n, l]
    xz = torch.randn(b, l, 2 * e, device=dev, dtype=dtype)
    z = xz[..., e:].transpose(1, 2)  # [b, e, l]
    A = -torch.arange(1, n + 1, device=dev, dtype=torch.float32).repeat(2, e, 1)  # [2, e, n]
    D = torch.ones(2, e, device=dev)
    bias = torch.full((2, e), -4.0, device=dev)  # softplus(-4) ~ 0.018: mid-range dt
    return dict(u=u, delta=dt, A=A, B=B, C=C, D=D, z=z, delta_bias=bias)


def mamba_ssm_bidirectional(p: dict) -> torch.Tensor:
    """The unfused mixer's composition: two selective_scan_fn calls, the backward one on flipped copies."""
    from mamba_ssm.ops.selective_scan_interface import selective_scan_fn

    def scan(d, flip):
        f = (lambda t: t.flip(-1)) if flip else (lambda t: t)
        return selective_scan_fn(f(p["u"][d]).contiguous(), f(p["delta"][d]).contiguous(), p["A"][d],
                                 f(p["B"][d]).contiguous(), f(p["C"][d]).contiguous(), p["D"][d],
                                 f(p["z"]).contiguous(), p["delta_bias"][d], True)

    return (scan(0, False) + scan(1, True).flip(-1)) / 2


def triton_bidirectional(p: dict) -> torch.Tensor:
    from ssamba_lab.ops.scan_triton import bidirectional_selective_scan_triton

    return bidirectional_selective_scan_triton(**p, delta_softplus=True)


def _fwd_bwd(fn: Callable, p: dict) -> Callable[[], None]:
    leaves = {k: (v.detach().requires_grad_() if k in ("u", "delta", "B", "C", "z") else v) for k, v in p.items()}
    g = torch.randn_like(p["z"])

    def run():
        out = fn(leaves)
        torch.autograd.grad(out, [leaves[k] for k in ("u", "delta", "B", "C", "z")], g)

    return run


def bench_kernel(cases: list[ScanCase], timing: TimingConfig, *, with_mamba: bool) -> list[dict]:
    rows = []
    for case in cases:
        p = scan_inputs(case)
        row = asdict(case) | {"min_bytes": case.min_bytes()}
        with torch.no_grad():
            row["triton_fwd_ms"] = time_ms(lambda: triton_bidirectional(p), timing)
        row["triton_GBps"] = case.min_bytes() / row["triton_fwd_ms"] / 1e6
        row["triton_fwdbwd_ms"] = time_ms(_fwd_bwd(triton_bidirectional, p), timing)
        if with_mamba:
            with torch.no_grad():
                ref = mamba_ssm_bidirectional(p)
                out = triton_bidirectional(p)
                row["rel_err_vs_mamba"] = ((out.float() - ref.float()).norm() / ref.float().norm()).item()
                row["mamba_fwd_ms"] = time_ms(lambda: mamba_ssm_bidirectional(p), timing)
            row["mamba_fwdbwd_ms"] = time_ms(_fwd_bwd(mamba_ssm_bidirectional, p), timing)
            row["speedup_fwd"] = row["mamba_fwd_ms"] / row["triton_fwd_ms"]
            row["speedup_fwdbwd"] = row["mamba_fwdbwd_ms"] / row["triton_fwdbwd_ms"]
        rows.append(row)
        print(json.dumps(row), flush=True)
        del p
        torch.cuda.empty_cache()
    return rows


def sweep_kernel(cases: list[ScanCase], timing: TimingConfig) -> list[dict]:
    """Time launch configurations of the forward and the backward kernel."""
    from ssamba_lab.ops import scan_triton as st

    rows = []
    default = st.set_launch_config(st.TritonScanConfig())
    st.set_launch_config(default)
    for case in cases:
        p = scan_inputs(case)
        for chunk in (16, 32, 64):
            for be in (4, 8, 16, 32):
                for warps in (2, 4, 8):
                    cfg = st.ScanLaunchConfig(block_e=be, num_warps=warps)
                    st.set_launch_config(st.TritonScanConfig(chunk=chunk, fwd=cfg, bwd=cfg, forward="chunked"))
                    row = asdict(case) | dict(chunk=chunk, block_e=be, num_warps=warps)
                    try:
                        with torch.no_grad():
                            row["fwd_ms"] = time_ms(lambda: triton_bidirectional(p), timing)
                        row["fwdbwd_ms"] = time_ms(_fwd_bwd(triton_bidirectional, p), timing)
                    except Exception as exc:  # out of resources for large tiles
                        row["error"] = f"{type(exc).__name__}: {str(exc)[:120]}"
                    rows.append(row)
                    print(json.dumps(row), flush=True)
        del p
        torch.cuda.empty_cache()
    st.set_launch_config(default)
    return rows


def seq_sweep(cases: list[ScanCase], timing: TimingConfig, quick: bool = False) -> list[dict]:
    """The seq forward (state in registers, ``triton_scan_seq_kernels``) against the chunked forward: channels
    per program, unrolled steps, L1 prefetch distance of the B / C rows and the warps per SM that set the
    sequence segments; relative difference to the chunked kernel's output."""
    from ssamba_lab.ops import scan_triton as st

    rows = []
    default = st.set_launch_config(st.TritonScanConfig())
    for case in cases:
        p = scan_inputs(case)
        # the reference row is the chunked forward (in the r3 run it was the default, already the seq forward)
        st.set_launch_config(st.TritonScanConfig(forward="chunked"))
        with torch.no_grad():
            ref = triton_bidirectional(p).float()
            base = asdict(case) | dict(forward="chunked")
            base["fwd_ms"] = time_ms(lambda: triton_bidirectional(p), timing)
        rows.append(base)
        print(json.dumps(base), flush=True)
        # (block_e, unroll, fast softplus, vector B/C, float32 B/C copy, warps per SM). Full: the 2026-12-02 sweep
        # (benchmarks/results/gpu_seq_h200_r2/sweep_full), whose first row is the 2026-12-01 configuration
        # (before fast softplus, vector loads, int32 offsets); quick: around its winner, one step a loop trip
        if quick:
            grid = [(32, 1, True, True, False, 16), (32, 1, True, True, False, 24), (32, 1, True, True, False, 32),
                    (32, 1, True, False, True, 24), (32, 1, True, False, True, 32), (32, 2, True, True, False, 32),
                    (64, 1, True, True, False, 32)]
        else:
            grid = [(64, 4, False, False, False, 8), (32, 4, False, False, False, 8), (32, 4, True, False, False, 16)]
            grid += [(be, 4, True, vec, f32, wps) for vec, f32 in ((True, False), (False, True)) for be in (32, 64)
                     for wps in (8, 16, 32)]
            grid += [(32, 2, True, False, True, 16), (32, 2, True, False, True, 32), (128, 4, True, False, True, 16)]
        for be, unroll, fast, vec, f32, wps in grid:
            st.set_launch_config(st.TritonScanConfig(forward="seq", seq_block_e=be, seq_unroll=unroll,
                                                     seq_fast_math=fast, seq_vec_bc=vec, seq_bc_f32=f32,
                                                     seq_warps_per_sm=wps))
            row = asdict(case) | dict(forward="seq", seq_block_e=be, seq_unroll=unroll, seq_fast_math=fast,
                                      seq_vec_bc=vec, seq_bc_f32=f32, seq_warps_per_sm=wps)
            try:
                with torch.no_grad():
                    out = triton_bidirectional(p).float()
                    row["rel_diff_vs_chunked"] = ((out - ref).norm() / ref.norm()).item()
                    row["fwd_ms"] = time_ms(lambda: triton_bidirectional(p), timing)
            except Exception as exc:
                row["error"] = f"{type(exc).__name__}: {str(exc)[:160]}"
            rows.append(row)
            print(json.dumps(row), flush=True)
        del p
        torch.cuda.empty_cache()
    st.set_launch_config(default)
    return rows


# bwdsweep settings (backward, chunk, group, butterfly); "chunks" also moves the chunk shared with the forward:
# a smaller chunk stores twice the forward's states but shrinks the seq backward's scratch ((T / G + G) x 16 values
# a thread), which lives in L2 (Nsight Compute, results/gpu_issue8_h200_r10/ncu_seq_bwd.txt)
BWD_GRIDS = {
    "full": [("chunked", 32, 8, False)] + [("seq", 32, gs, bf) for gs in (4, 8, 16) for bf in (True, False)],
    "chunks": [("chunked", 32, 8, False), ("seq", 32, 8, True), ("seq", 16, 4, True), ("seq", 16, 8, True),
               ("seq", 64, 8, True)],
    # one group a chunk (G == T): the seq backward skips its first recompute, for more stored states
    "onegroup": [("seq", 32, 8, True), ("seq", 16, 16, True), ("seq", 8, 8, True), ("seq", 32, 32, True),
                 ("seq", 16, 4, True)],
    # the seq backward in one launch against two (every step's state first: float32 states, then bf16 states
    # for bf16 inputs; the group size applies to the one-launch kernel only)
    "hist": [("chunked", 32, 8, False), ("seq", 32, 8, True), ("seq-hist-f32", 32, 8, True), ("seq-hist", 32, 8, True)],
}


def bwd_sweep(cases: list[ScanCase], timing: TimingConfig, *, with_mamba: bool, grid: str = "full") -> list[dict]:
    """The seq backward (``triton_scan_seq_bwd_kernels``) against the chunked one, both after the default (seq)
    forward: forward + backward time, backward alone (the difference, against the default forward), chunk, group
    size, butterfly sums; the gradients' relative difference to the grid's first row. ``seq`` rows run the
    one-launch seq backward, ``seq-hist`` / ``seq-hist-f32`` the two-launch one (``seq_bwd_hist``) with bf16 /
    float32 states. mamba-ssm's forward + backward for comparison."""
    from ssamba_lab.ops import scan_triton as st

    names = ("u", "delta", "B", "C", "z")
    rows = []
    default = st.set_launch_config(st.TritonScanConfig())
    for case in cases:
        p = scan_inputs(case)
        leaves = {k: (v.detach().requires_grad_() if k in names else v) for k, v in p.items()}
        g = torch.randn_like(p["z"])

        def grads():
            return torch.autograd.grad(triton_bidirectional(leaves), [leaves[k] for k in names], g)

        st.set_launch_config(st.TritonScanConfig())
        with torch.no_grad():
            fwd_ms = time_ms(lambda: triton_bidirectional(p), timing)
        ref = None
        for backward, chunk, group, bfly in BWD_GRIDS[grid]:
            hist = backward.startswith("seq-hist")
            st.set_launch_config(st.TritonScanConfig(chunk=chunk, backward="seq" if hist else backward,
                                                     seq_bwd_group=group, seq_bwd_butterfly=bfly, seq_train_chunk=0,
                                                     seq_bwd_hist=hist, seq_bwd_hist_bf16=backward == "seq-hist"))
            row = asdict(case) | dict(backward=backward, chunk=chunk, seq_bwd_group=group, seq_bwd_butterfly=bfly,
                                      fwd_ms=fwd_ms)
            try:
                got = [t.float() for t in grads()]
                if ref is None:
                    ref = got
                row["grad_rel_diff_vs_chunked"] = {k: ((a - r).norm() / r.norm()).item()
                                                   for k, a, r in zip(names, got, ref)}
                row["fwdbwd_ms"] = time_ms(grads, timing)
                row["bwd_ms"] = row["fwdbwd_ms"] - fwd_ms
            except Exception as exc:
                row["error"] = f"{type(exc).__name__}: {str(exc)[:160]}"
            rows.append(row)
            print(json.dumps(row), flush=True)
        if with_mamba:
            row = asdict(case) | dict(backward="mamba_ssm")
            row["fwdbwd_ms"] = time_ms(_fwd_bwd(mamba_ssm_bidirectional, p), timing)
            rows.append(row)
            print(json.dumps(row), flush=True)
        del p, leaves, ref
        torch.cuda.empty_cache()
    st.set_launch_config(default)
    return rows


SEQ_KEYS = ("seq_block_e", "seq_unroll", "seq_fast_math", "seq_vec_bc", "seq_bc_f32",
            "seq_warps_per_sm")


# ---------------------------------------------------------------- models
@dataclass(frozen=True)
class ModelCase:
    model: str
    tokens: int
    batch: int = 4
    backend: str | None = None  # scan backend for SSAMBA; None for SSAST
    graph: bool = False  # time CUDA-graph replays instead of eager calls


def _build(model: str, backend: str | None, dtype: torch.dtype):
    from ssamba_lab.models import build_model

    enc = build_model(model).cuda().to(dtype)
    if backend is not None:
        enc.set_scan_backend(backend)
    return enc


def _graphed(fn: Callable[[], object]) -> Callable[[], object]:
    """Capture ``fn`` (static inputs) in a CUDA graph; returns the replay."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    return graph.replay


def bench_inference(case: ModelCase, timing: TimingConfig) -> dict:
    enc = _build(case.model, case.backend, torch.bfloat16).eval()
    h = torch.randn(case.batch, case.tokens, enc.config.embed_dim, device="cuda", dtype=torch.bfloat16)
    row = asdict(case)
    with torch.inference_mode():
        fn = lambda: enc.forward_blocks(h)  # noqa: E731
        fn()
        row["peak_MiB"] = peak_working_mib(fn)
        if case.graph:
            fn = _graphed(fn)
        row["ms"] = time_ms(fn, timing)
    del enc, h
    torch.cuda.empty_cache()
    return row


def bench_train(model: str, backend: str | None, timing: TimingConfig, *, batch: int = 64, tokens: int = 512) -> dict:
    enc = _build(model, backend, torch.float32).train()
    opt = torch.optim.Adam(enc.parameters(), lr=1e-4, fused=True)
    h = torch.randn(batch, tokens, enc.config.embed_dim, device="cuda")

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out = enc.forward_blocks(h)
        out.float().pow(2).mean().backward()
        opt.step()

    step()
    row = dict(model=model, backend=backend, batch=batch, tokens=tokens, peak_MiB=peak_working_mib(step))
    row["ms"] = time_ms(step, TimingConfig(warmup=3, repeats=15, budget_s=timing.budget_s))
    del enc, opt, h
    torch.cuda.empty_cache()
    return row


def bench_models(timing: TimingConfig, backends: list[str], sizes: list[str]) -> dict:
    inf, train = [], []
    for size in sizes:
        for tokens in (512, 22016):
            for graph in ((False, True) if tokens == 512 else (False,)):
                cases = [ModelCase(f"ssast-{size}", tokens, graph=graph)]
                cases += [ModelCase(f"ssamba-{size}", tokens, backend=b, graph=graph) for b in backends]
                for case in cases:
                    try:
                        row = bench_inference(case, timing)
                    except Exception as exc:  # record and go on (e.g. a graph capture that fails)
                        row = asdict(case) | {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
                        torch.cuda.empty_cache()
                    inf.append(row)
                    print(json.dumps(row), flush=True)
        for model, backend in [(f"ssast-{size}", None)] + [(f"ssamba-{size}", b) for b in backends]:
            try:
                row = bench_train(model, backend, timing)
            except Exception as exc:
                row = dict(model=model, backend=backend, error=f"{type(exc).__name__}: {str(exc)[:200]}")
                torch.cuda.empty_cache()
            train.append(row)
            print(json.dumps(row), flush=True)
    return dict(inference=inf, train=train)


TARGETS = [  # (model, tokens, mode, max ratio of ssamba/ssast time) from issue 8
    ("tiny", 22016, "inference", 0.5), ("base", 22016, "inference", 1.0), ("tiny", 512, "inference", 1.5),
    ("tiny", 512, "train", 1.5), ("base", 512, "train", 2.0),
]


def ratio_lines(res: dict, backend: str) -> list[str]:
    """Markdown rows: SSAMBA / SSAST time (and memory) against each target."""
    def find(rows, model, tokens, be, graph=False):
        for r in rows:
            if r["model"] == model and r["tokens"] == tokens and r["backend"] == be and r.get("graph", False) == graph:
                return r
        return None

    lines = ["| target | ssamba ms | ssast ms | time ratio | limit | met | mem ratio |", "|---|---|---|---|---|---|---|"]
    for size, tokens, mode, limit in TARGETS:
        for graph in ((False, True) if mode == "inference" and tokens == 512 else (False,)):
            rows = res["inference"] if mode == "inference" else res["train"]
            a, s = find(rows, f"ssamba-{size}", tokens, backend, graph), find(rows, f"ssast-{size}", tokens, None, graph)
            if a is None or s is None or "ms" not in a or "ms" not in s:
                continue
            ratio = a["ms"] / s["ms"]
            mem = a["peak_MiB"] / max(s["peak_MiB"], 1e-9)
            name = f"{mode} {size} {tokens} tok{' (CUDA graph)' if graph else ''}"
            lines.append(f"| {name} | {a['ms']:.2f} | {s['ms']:.2f} | {ratio:.2f} | {limit} | "
                         f"{'yes' if ratio <= limit else 'NO'} | {mem:.2f} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("parts", nargs="+", choices=["ceilings", "kernel", "sweep", "seqsweep", "bwdsweep", "models"])
    ap.add_argument("--out-dir", type=Path, default=Path("benchmarks/results"))
    ap.add_argument("--tag", default="", help="suffix of the result files")
    ap.add_argument("--backends", nargs="+", default=["triton", "mamba_ssm"], help="SSAMBA scan backends (models)")
    ap.add_argument("--sizes", nargs="+", default=["tiny", "base"])
    ap.add_argument("--no-mamba", action="store_true", help="skip the mamba-ssm comparison (kernel)")
    ap.add_argument("--kernel-d-inner", nargs="+", type=int, default=[384, 1536], help="kernel: d_inner sizes")
    ap.add_argument("--kernel-dtypes", nargs="+", default=["bf16", "fp32"], choices=list(DTYPES))
    ap.add_argument("--budget-s", type=float, default=3.0, help="timing budget per measurement")
    ap.add_argument("--triton-forward", choices=["chunked", "seq"], default=None,
                    help="Triton scan forward kernel for kernel/models (default: the package's default)")
    ap.add_argument("--seq-grid", choices=["full", "quick"], default="full", help="seqsweep: which settings")
    ap.add_argument("--bwd-grid", choices=sorted(BWD_GRIDS), default="full", help="bwdsweep: which settings")
    ap.add_argument("--seq-only", type=int, nargs="*", default=None, metavar="CASE",
                    help="seqsweep: only these of its cases (0: 4x22016 e384, 1: e1536, 2: 4x512, 3: 64x512)")
    args = ap.parse_args()
    assert torch.cuda.is_available(), "gpu_speed.py needs a CUDA device"
    args.out_dir.mkdir(parents=True, exist_ok=True)
    timing = TimingConfig(budget_s=args.budget_s)
    env = environment()
    if args.triton_forward is not None:
        from dataclasses import replace

        from ssamba_lab.ops import scan_triton as st
        st.set_launch_config(replace(st.TritonScanConfig(), forward=args.triton_forward))
    env["triton_forward"] = args.triton_forward or "default"
    print(json.dumps(env), flush=True)
    cmd = "python " + " ".join(sys.argv)
    summary = []
    for part in args.parts:
        t0 = time.perf_counter()
        if part == "ceilings":
            res = measure_ceilings(timing)
            summary.append(f"ceilings: {res['bandwidth_GBps']:.0f} GB/s copy, {res['bf16_gemm_TFLOPs']:.0f} TFLOP/s bf16")
        elif part == "seqsweep":
            shapes = [(4, 22016, 384), (4, 22016, 1536), (4, 512, 384), (64, 512, 384)]
            shapes = [sh for i, sh in enumerate(shapes) if args.seq_only is None or i in args.seq_only]
            res = seq_sweep([ScanCase(*sh) for sh in shapes], timing, quick=args.seq_grid == "quick")
            for batch, tokens, e in shapes:
                sel = [r for r in res if (r["batch"], r["tokens"], r["d_inner"]) == (batch, tokens, e) and "fwd_ms" in r]
                best = min((r for r in sel if r["forward"] == "seq"), key=lambda r: r["fwd_ms"], default=None)
                chunked = next(r for r in sel if r["forward"] == "chunked")
                summary.append(f"seqsweep b{batch} l{tokens} e{e}: chunked fwd {chunked['fwd_ms']:.3f} ms; best seq "
                               f"{best and best['fwd_ms']:.3f} ms "
                               f"{best and {k: best[k] for k in SEQ_KEYS + ('rel_diff_vs_chunked',)}}")
        elif part == "bwdsweep":
            shapes = [(64, 512, 384), (4, 22016, 384), (64, 512, 1536)]
            shapes = [sh for i, sh in enumerate(shapes) if args.seq_only is None or i in args.seq_only]
            res = bwd_sweep([ScanCase(*sh) for sh in shapes], timing, with_mamba=not args.no_mamba,
                            grid=args.bwd_grid)
            for batch, tokens, e in shapes:
                sel = [r for r in res if (r["batch"], r["tokens"], r["d_inner"]) == (batch, tokens, e)
                       and "fwdbwd_ms" in r]
                for r in sel:
                    summary.append(f"bwdsweep b{batch} l{tokens} e{e} {r['backward']} T{r.get('chunk')} "
                                   f"G{r.get('seq_bwd_group')} "
                                   f"bfly {r.get('seq_bwd_butterfly')}: fwd+bwd {r['fwdbwd_ms']:.3f} ms, bwd "
                                   f"{r.get('bwd_ms', float('nan')):.3f} ms")
        elif part in ("kernel", "sweep"):
            cases = [ScanCase(4, l, e, dtype=dt) for l in (512, 22016) for e in args.kernel_d_inner
                     for dt in args.kernel_dtypes]
            cases.append(ScanCase(64, 512, 384, dtype=args.kernel_dtypes[0]))  # the training step's scan
            if part == "sweep":
                res = sweep_kernel([ScanCase(4, 22016, 384), ScanCase(64, 512, 384)], timing)
                ok = [r for r in res if "error" not in r]
                for key in ("fwd_ms", "fwdbwd_ms"):
                    for tokens in (22016, 512):
                        best = min((r for r in ok if r["tokens"] == tokens), key=lambda r: r[key])
                        summary.append(f"sweep best {key} @{tokens}: {best}")
            else:
                res = bench_kernel(cases, timing, with_mamba=not args.no_mamba)
                for r in res:
                    summary.append(f"scan b{r['batch']} l{r['tokens']} e{r['d_inner']} {r['dtype']}: triton fwd "
                                   f"{r['triton_fwd_ms']:.3f} ms ({r['triton_GBps']:.0f} GB/s) fwd+bwd "
                                   f"{r['triton_fwdbwd_ms']:.3f} | mamba fwd {r.get('mamba_fwd_ms', float('nan')):.3f}"
                                   f" fwd+bwd {r.get('mamba_fwdbwd_ms', float('nan')):.3f}")
        else:
            res = bench_models(timing, args.backends, args.sizes)
            for be in args.backends:
                summary.append(f"ratios with scan backend {be}:")
                summary += ratio_lines(res, be)
        out = args.out_dir / f"gpu_speed_{part}{args.tag}.json"
        out.write_text(json.dumps(dict(command=cmd, environment=env, results=res), indent=1))
        summary.append(f"[{part}: {time.perf_counter() - t0:.0f} s -> {out}]")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
