"""Efficiency sweep CLI over ssamba_lab.profiling: latency / peak memory vs input length, and training throughput.

  # the committed GPU sweep (one H100/H200; writes partial results after every point)
  python benchmarks/efficiency_sweep.py run --preset gpu --out benchmarks/results --tag gpu --deadline-s 360 \
      --extra-backends triton --extra-backend-lengths 512,4096,22016,65536
  # the same code end-to-end on CPU at tiny lengths (minutes on 2 cores)
  python benchmarks/efficiency_sweep.py run --preset cpu-smoke --out /tmp/eff --tag cpu_smoke
  # ratio table, comparison with SSAMBA_FACTS section 8, and the figures (HTML, plotly from a CDN)
  python benchmarks/efficiency_sweep.py report --csv benchmarks/results/efficiency_gpu.csv
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

from ssamba_lab.profiling import (MeasureConfig, SweepConfig, compare_with_facts, efficiency_figure, environment,
                                  plan_points, ratio_table, resolve_device, rows_to_frame, run_sweep)
from ssamba_lab.profiling.rows import markdown_table
from ssamba_lab.profiling.sweep import PAPER_LENGTHS

PRESETS = {
    "gpu": (SweepConfig(sizes=("tiny",), lengths=PAPER_LENGTHS, extra_sizes=("small", "base"),
                        extra_lengths=(512, 22016),
                        train_models=("ssamba-tiny", "ssast-tiny", "ssamba-base", "ssast-base")),
            MeasureConfig(warmup=2, repeats=10, min_repeats=3, budget_s=2.0)),
    "cpu-smoke": (SweepConfig(sizes=("tiny",), lengths=(64, 128), batch_size=1,
                              train_models=("ssamba-tiny", "ssast-tiny"), train_batch_size=2, train_tokens=64,
                              train_dtype="fp32"),
                  MeasureConfig(warmup=1, repeats=2, min_repeats=1, budget_s=1.0)),
}


def _csv_list(kind):
    return lambda s: tuple(kind(v) for v in s.split(",") if v)


def cmd_run(args) -> None:
    sweep, measure = PRESETS[args.preset]
    overrides = {k: getattr(args, k) for k in ("families", "sizes", "lengths", "dtypes", "attn_impls", "batch_size",
                                               "extra_sizes", "extra_lengths", "train_models", "scan_backend")
                 if getattr(args, k) is not None}
    sweep = replace(sweep, **overrides)
    measure = replace(measure, device=args.device, **({"repeats": args.repeats} if args.repeats else {}))
    points = plan_points(sweep)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out / f"efficiency_{args.tag}.csv", out / f"efficiency_{args.tag}.json"
    env = environment(resolve_device(measure.device))
    meta = {"command": "python " + shlex.join(["benchmarks/efficiency_sweep.py"] + sys.argv[1:]),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "environment": env.to_dict(),
            "sweep": asdict(sweep), "measure": asdict(measure), "num_points": len(points)}
    print(json.dumps(meta["environment"]), f"\n{len(points)} points, deadline {args.deadline_s}s", flush=True)
    rows = []

    def write(row) -> None:  # after every point, so a killed run still leaves everything measured so far
        rows.append(row)
        rows_to_frame(rows).to_csv(csv_path, index=False)
        json_path.write_text(json.dumps({**meta, "rows": [asdict(r) for r in rows]}, indent=1, default=str))

    t0 = time.perf_counter()
    run_sweep(points, measure=measure, deadline_s=args.deadline_s, on_row=write)
    for backend in args.extra_backends or ():  # lower priority: after the whole main grid
        extra = replace(sweep, families=("ssamba",), extra_sizes=(),
                        lengths=args.extra_backend_lengths or sweep.lengths, train_models=(), scan_backend=backend)
        left = None if args.deadline_s is None else args.deadline_s - (time.perf_counter() - t0)
        run_sweep(plan_points(extra), measure=measure, deadline_s=left, on_row=write, fallback_backend=None)
    meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    json_path.write_text(json.dumps({**meta, "rows": [asdict(r) for r in rows]}, indent=1, default=str))
    print(f"wrote {csv_path} and {json_path}")


def cmd_report(args) -> None:
    import pandas as pd

    csv = Path(args.csv)
    df = pd.read_csv(csv, keep_default_na=False, na_values=[""])
    stem = csv.with_suffix("")
    parts = []
    for size in ("tiny", "small", "base"):
        r = ratio_table(df, numerator=f"ssamba-{size}", denominator=f"ssast-{size}")
        if len(r):
            r.insert(0, "pair", f"ssamba-{size} / ssast-{size}")
            parts.append(r)
    ratios = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    ratios.to_csv(f"{stem}_ratios.csv", index=False, float_format="%.4g")
    facts = compare_with_facts(df)
    facts.to_csv(f"{stem}_vs_facts.csv", index=False, float_format="%.4g")
    train = df[df["kind"] == "train_step"][["label", "dtype", "batch_size", "tokens", "status", "latency_ms_median",
                                            "samples_per_s", "peak_mib", "scan_backend"]]
    with open(f"{stem}_tables.md", "w") as f:
        f.write(f"# Tables from {csv.name}\n\n## SSAMBA / SSAST ratios (inference)\n\n")
        f.write(markdown_table(ratios, digits=3) if len(ratios) else "(none)\n")
        f.write("\n\n## Training step\n\n" + markdown_table(train))
        f.write("\n\n## Measured vs SSAMBA_FACTS section 8 (H200)\n\n" + markdown_table(facts))
        f.write("\n")
    for y, name in (("latency_ms_median", "time"), ("peak_mib", "memory")):  # Figure 2: the tiny models
        fig = efficiency_figure(df, y=y, sizes=("tiny",))
        fig.write_html(f"{stem}_{name}.html", include_plotlyjs="cdn", full_html=True)
    print(f"wrote {stem}_ratios.csv, {stem}_vs_facts.csv, {stem}_tables.md, {stem}_time.html, {stem}_memory.html")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="measure a grid of points")
    r.add_argument("--preset", choices=sorted(PRESETS), default="cpu-smoke")
    r.add_argument("--out", required=True)
    r.add_argument("--tag", required=True, help="file names efficiency_<tag>.csv/.json")
    r.add_argument("--device", default="auto")
    r.add_argument("--deadline-s", type=float, default=None, help="start no point predicted to end after this")
    r.add_argument("--repeats", type=int, default=None)
    r.add_argument("--families", type=_csv_list(str))
    r.add_argument("--sizes", type=_csv_list(str))
    r.add_argument("--lengths", type=_csv_list(int))
    r.add_argument("--dtypes", type=_csv_list(str))
    r.add_argument("--attn-impls", dest="attn_impls", type=_csv_list(str))
    r.add_argument("--batch-size", dest="batch_size", type=int)
    r.add_argument("--extra-sizes", dest="extra_sizes", type=_csv_list(str))
    r.add_argument("--extra-lengths", dest="extra_lengths", type=_csv_list(int))
    r.add_argument("--train-models", dest="train_models", type=_csv_list(str))
    r.add_argument("--scan-backend", dest="scan_backend", default=None)
    r.add_argument("--extra-backends", dest="extra_backends", type=_csv_list(str), default=(),
                   help="after the grid, the Mamba curves again with each of these scan backends forced")
    r.add_argument("--extra-backend-lengths", dest="extra_backend_lengths", type=_csv_list(int), default=None)
    r.set_defaults(fn=cmd_run)
    rep = sub.add_parser("report", help="ratio table, comparison with the facts, figures from a sweep's CSV")
    rep.add_argument("--csv", required=True)
    rep.set_defaults(fn=cmd_report)
    args = p.parse_args(argv)
    args.fn(args)


if __name__ == "__main__":
    main()
