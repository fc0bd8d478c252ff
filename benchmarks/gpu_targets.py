"""Issue 8's targets, measured with notebook 05's harness (``ssamba_lab.profiling.profile_point``).

Every target is a ratio SSAMBA / SSAST-SDPA on the same GPU, bf16 (autocast over fp32 weights, as in notebook 05
and the efficiency sweep), whole encoder forward (patch embedding, blocks, final norm; no heads):

- inference, batch 4, 22,016 tokens: tiny <= 0.5x time and <= 1.0x memory; base <= 1.0x time;
- inference, batch 4, 512 tokens: tiny <= 1.5x;
- training step (forward, backward, Adam), batch 64 x 512 tokens: tiny <= 1.5x, base <= 2.0x.

SSAMBA runs once per scan variant: ``triton`` with each Triton forward kernel (``seq``: state in registers;
``chunked``: associative scans over tiles) and ``mamba_ssm`` (two ``selective_scan_fn`` calls on flipped copies).
Writes ``gpu_targets<tag>.json`` (command, environment, every ProfileRow) and ``gpu_targets<tag>.md`` (ratio
table, target met or not). Usage::

    python benchmarks/gpu_targets.py --out-dir benchmarks/results
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from ssamba_lab.ops import scan_triton as st
from ssamba_lab.profiling import MeasureConfig, ProfilePoint, environment, profile_point


@dataclass(frozen=True)
class Target:
    size: str  # 'tiny' | 'base'
    tokens: int
    kind: str  # 'inference' | 'train_step'
    batch: int
    max_time_ratio: float
    max_mem_ratio: float | None = None

    @property
    def name(self) -> str:
        return f"{self.kind} {self.size} b{self.batch} x {self.tokens} tok"


TARGETS = [
    Target("tiny", 22016, "inference", 4, 0.5, 1.0),
    Target("base", 22016, "inference", 4, 1.0),
    Target("tiny", 512, "inference", 4, 1.5),
    Target("tiny", 512, "train_step", 64, 1.5),
    Target("base", 512, "train_step", 64, 2.0),
]


def variants(names: list[str]) -> list[tuple[str, str, str | None]]:
    """(label, scan backend, Triton forward kernel or None) for each requested SSAMBA variant."""
    table = {"triton-seq": ("triton", "seq"), "triton-chunked": ("triton", "chunked"), "mamba_ssm": ("mamba_ssm", None)}
    for n in names:
        assert n in table, f"unknown variant {n!r}; choose from {sorted(table)}"
    return [(n, *table[n]) for n in names]


SEQ_KEYS = ("seq_block_e", "seq_unroll", "seq_fast_math", "seq_vec_bc", "seq_bc_f32",
            "seq_warps_per_sm")


def seq_config_from_sweep(path: Path, batch: int = 4, tokens: int = 22016, d_inner: int = 384) -> dict:
    """The fastest seq-forward launch settings of ``gpu_speed.py seqsweep`` at one scan size."""
    rows = [r for r in json.loads(path.read_text())["results"] if r["forward"] == "seq" and "fwd_ms" in r
            and (r["batch"], r["tokens"], r["d_inner"]) == (batch, tokens, d_inner)]
    assert rows, f"{path}: no seq rows at batch {batch}, {tokens} tokens, d_inner {d_inner}"
    best = min(rows, key=lambda r: r["fwd_ms"])
    return {k: best[k] for k in SEQ_KEYS}


def measure(target: Target, model: str, backend: str | None, forward: str | None, mcfg: MeasureConfig,
            seq: dict, overrides: dict | None = None) -> dict:
    if forward is not None:
        st.set_launch_config(replace(st.TritonScanConfig(), forward=forward, **(seq if forward == "seq" else {}),
                                     **(overrides or {})))
    point = ProfilePoint(model=model, tokens=target.tokens, kind=target.kind, dtype="bf16",
                         batch_size=target.batch, attn_impl="sdpa" if model.startswith("ssast") else None,
                         scan_backend=backend)
    row = asdict(profile_point(point, measure=mcfg))
    row["triton_forward"] = forward or ""
    return row


def ratio_table(rows: list[dict], labels: list[str]) -> list[str]:
    lines = ["| target | SSAMBA variant | ssamba ms | ssast ms | time ratio | limit | met | mem ratio | mem limit |",
             "|---|---|---:|---:|---:|---:|---|---:|---:|"]
    for t in (t for t in TARGETS if any(r["target"] == t.name for r in rows)):
        base = next((r for r in rows if r["target"] == t.name and r["variant"] == "ssast-sdpa"), None)
        for label in labels:
            r = next((r for r in rows if r["target"] == t.name and r["variant"] == label), None)
            if base is None or r is None or r["status"] != "ok" or base["status"] != "ok":
                status = "missing" if r is None else r["status"]
                lines.append(f"| {t.name} | {label} | {status} | | | {t.max_time_ratio} | - | | |")
                continue
            ratio = r["latency_ms_median"] / base["latency_ms_median"]
            mem = r["peak_mib"] / base["peak_mib"]  # NaN for CUDA-graph replays (not measured)
            measured = mem == mem
            met = ratio <= t.max_time_ratio and (t.max_mem_ratio is None or (measured and mem <= t.max_mem_ratio))
            verdict = "yes" if met else ("time only" if ratio <= t.max_time_ratio and not measured else "NO")
            lines.append(f"| {t.name} | {label} | {r['latency_ms_median']:.2f} | {base['latency_ms_median']:.2f} | "
                         f"{ratio:.2f} | {t.max_time_ratio} | {verdict} | {f'{mem:.2f}' if measured else '-'} | "
                         f"{t.max_mem_ratio if t.max_mem_ratio is not None else '-'} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", type=Path, default=Path("benchmarks/results"))
    ap.add_argument("--tag", default="")
    ap.add_argument("--variants", nargs="+", default=["triton-seq", "triton-chunked", "mamba_ssm"])
    ap.add_argument("--sizes", nargs="+", default=["tiny", "base"])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--budget-s", type=float, default=2.0)
    ap.add_argument("--seq-from", type=Path, default=None,
                    help="a gpu_speed.py seqsweep JSON: use its fastest seq settings at 4 x 22016 (else the defaults)")
    ap.add_argument("--kinds", nargs="+", default=["inference", "train_step"], help="which targets")
    ap.add_argument("--tokens", nargs="+", type=int, default=None, help="only the targets of these lengths")
    ap.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                    help="TritonScanConfig fields for the Triton variants (ints, or True / False), e.g. seq_fuse_dt=True")
    ap.add_argument("--cuda-graph", action="store_true",
                    help="time CUDA-graph replays (inference and training steps), for SSAST and SSAMBA alike")
    args = ap.parse_args()
    chosen = [t for t in TARGETS if t.size in args.sizes and t.kind in args.kinds
              and (args.tokens is None or t.tokens in args.tokens)]
    if not chosen:
        ap.error(f"no target has --sizes {args.sizes}, --kinds {args.kinds} and --tokens {args.tokens}; the targets: "
                 + ", ".join(t.name for t in TARGETS))
    seq = seq_config_from_sweep(args.seq_from) if args.seq_from else {}
    overrides = st.parse_config_fields(args.set)
    assert torch.cuda.is_available(), "gpu_targets.py measures GPU targets: it needs a CUDA device"
    args.out_dir.mkdir(parents=True, exist_ok=True)
    mcfg = MeasureConfig(device="cuda", warmup=3, repeats=args.repeats, min_repeats=5, budget_s=args.budget_s,
                         cuda_graph=args.cuda_graph)
    env = environment(torch.device("cuda")).to_dict()
    import triton

    env |= {"triton": triton.__version__, "python": sys.version.split()[0], "seq_settings": seq or "defaults",
            "config_overrides": overrides}
    print(json.dumps(env), flush=True)
    vs = variants(args.variants)
    default_cfg = st.set_launch_config(st.TritonScanConfig())
    rows, t0 = [], time.perf_counter()
    for t in chosen:
        for label, model, backend, forward in [("ssast-sdpa", f"ssast-{t.size}", None, None)] + [
                (lab, f"ssamba-{t.size}", be, fw) for lab, be, fw in vs]:
            row = measure(t, model, backend, forward, mcfg, seq, overrides) | {"target": t.name, "variant": label}
            st.set_launch_config(default_cfg)
            rows.append(row)
            print(json.dumps({k: row[k] for k in ("target", "variant", "status", "latency_ms_median", "peak_mib",
                                                  "scan_backend", "note")}), flush=True)
    table = ratio_table(rows, [v[0] for v in vs])
    cmd = "python " + " ".join(sys.argv)
    stem = args.out_dir / f"gpu_targets{args.tag}"
    stem.with_suffix(".json").write_text(json.dumps({"command": cmd, "environment": env, "rows": rows}, indent=1))
    md = [f"# Issue 8 targets on {env['device_name']} (notebook 05's harness)", "",
          f"Command: `{cmd}`", "",
          (f"torch {env['torch_version']}, CUDA {env['cuda_version']}, Triton {env['triton']}, mamba-ssm "
          f"{env['mamba_ssm_version'] or 'unavailable'}, Python {env['python']}; seq forward settings "
          f"{env['seq_settings']}. bf16 autocast over fp32 weights; "
          f"{'CUDA-graph replays (both models); ' if args.cuda_graph else ''}"
          "median of CUDA-event timings; memory = allocator peak (weights + input + working)."), ""] + table
    stem.with_suffix(".md").write_text("\n".join(md) + "\n")
    print("\n".join(table))
    print(f"[targets: {time.perf_counter() - t0:.0f} s -> {stem}.json, .md]")


if __name__ == "__main__":
    main()
