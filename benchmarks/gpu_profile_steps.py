"""Where the time of issue 8's steps goes: torch.profiler over notebook 05's step callables (issue 8).

For each case (model, kind, batch x tokens) the step of ``ssamba_lab.profiling.measure.make_step`` (bf16 autocast
over fp32 weights) runs under ``torch.profiler`` with CUDA activity. Per step it reports the wall time (CUDA
events around ``--steps`` unprofiled steps: noisier than the harness's median), the summed GPU kernel time, the
kernel launches, and the kernels that take the most GPU time, so a
launch-bound step (GPU busy well under its wall time) shows as such. Writes ``gpu_profile_steps<tag>.json`` and
``.md``. Usage::

    python benchmarks/gpu_profile_steps.py --out-dir benchmarks/results --tag _r7
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from ssamba_lab.ops import scan_triton as st
from ssamba_lab.profiling import ProfilePoint, environment
from ssamba_lab.profiling.measure import build_for_point, make_step

CASES = [("ssamba-tiny", "train_step", 64, 512), ("ssast-tiny", "train_step", 64, 512),
         ("ssamba-tiny", "inference", 4, 512), ("ssast-tiny", "inference", 4, 512),
         ("ssamba-tiny", "inference", 4, 22016), ("ssast-tiny", "inference", 4, 22016)]


def profile_case(model: str, kind: str, batch: int, tokens: int, steps: int, top: int) -> dict:
    point = ProfilePoint(model=model, tokens=tokens, kind=kind, dtype="bf16", batch_size=batch,
                         attn_impl="sdpa" if model.startswith("ssast") else None,
                         scan_backend="triton" if model.startswith("ssamba") else None)
    net, shape = build_for_point(point)
    net = net.cuda()
    x = torch.randn(batch, shape.frames, shape.bins, device="cuda")  # [b, frames, bins]
    step = make_step(net, x, point, torch.device("cuda"))
    for _ in range(3):
        step()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(steps):
        step()
    end.record()
    end.synchronize()
    wall = start.elapsed_time(end) / steps
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA], record_shapes=True) as prof:
        for _ in range(steps):
            step()
        torch.cuda.synchronize()
    kernels = defaultdict(lambda: [0, 0.0])  # name -> [count, total us]
    for ev in prof.events():
        # GPU-side ranges of record_function annotations (the optimizer's "Optimizer.step#Adam.step") span
        # kernels that are listed on their own: counting them too would count those kernels twice
        annotation = getattr(ev, "is_user_annotation", False) or "#" in ev.name
        if ev.device_type == torch.autograd.DeviceType.CUDA and not annotation:
            k = kernels[ev.name[:90]]
            k[0] += 1
            k[1] += ev.device_time
    gpu_ms = sum(v[1] for v in kernels.values()) / 1e3 / steps
    launches = sum(v[0] for v in kernels.values()) / steps
    ranked = sorted(kernels.items(), key=lambda kv: -kv[1][1])[:top]
    # matrix products by input shapes: which projection (or its gradient) a slow GEMM kernel belongs to
    mm = [a for a in prof.key_averages(group_by_input_shape=True)
          if a.key in ("aten::mm", "aten::bmm", "aten::addmm", "aten::matmul", "aten::linear")]
    mm = sorted(mm, key=lambda a: -a.self_device_time_total)[:8]
    gemms = [dict(op=a.key, shapes=str(a.input_shapes)[:120], per_step=a.count / steps,
                  ms_per_step=a.self_device_time_total / 1e3 / steps) for a in mm]
    del net, x, step
    torch.cuda.empty_cache()
    return dict(model=model, kind=kind, batch=batch, tokens=tokens, wall_ms=wall, gpu_kernel_ms=gpu_ms,
                gpu_busy=gpu_ms / wall, launches=launches,
                top=[dict(name=n, per_step=c / steps, ms_per_step=t / 1e3 / steps) for n, (c, t) in ranked],
                gemms=gemms)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", type=Path, default=Path("benchmarks/results"))
    ap.add_argument("--tag", default="")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--cases", type=int, nargs="*", default=None, help="indices into CASES")
    ap.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE", help="TritonScanConfig fields")
    args = ap.parse_args()
    assert torch.cuda.is_available(), "gpu_profile_steps.py needs a CUDA device"
    if args.set:
        from dataclasses import replace
        st.set_launch_config(replace(st.TritonScanConfig(), **st.parse_config_fields(args.set)))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, case in enumerate(CASES):
        if args.cases is None or i in args.cases:
            rows.append(profile_case(*case, steps=args.steps, top=args.top))
            r = rows[-1]
            print(f"{r['model']} {r['kind']} b{r['batch']} x {r['tokens']}: wall {r['wall_ms']:.2f} ms, GPU kernels "
                  f"{r['gpu_kernel_ms']:.2f} ms ({100 * r['gpu_busy']:.0f}% busy), {r['launches']:.0f} launches",
                  flush=True)
    cmd = "python " + " ".join(sys.argv)
    env = asdict(environment(torch.device("cuda")))
    (args.out_dir / f"gpu_profile_steps{args.tag}.json").write_text(
        json.dumps(dict(command=cmd, environment=env, config=str(st._CONFIG), rows=rows), indent=1, default=str))
    lines = [f"# Where the step time goes (torch.profiler), {torch.cuda.get_device_name()}", "",
             f"Command: `{cmd}`; torch {torch.__version__}; scan config `{st._CONFIG}`.", ""]
    for r in rows:
        lines += [f"## {r['model']} {r['kind']} b{r['batch']} x {r['tokens']} tokens", "",
                  f"wall {r['wall_ms']:.2f} ms a step; GPU kernels {r['gpu_kernel_ms']:.2f} ms "
                  f"({100 * r['gpu_busy']:.0f}% busy); {r['launches']:.0f} kernel launches a step", "",
                  "| kernel | per step | ms per step |", "|---|---:|---:|"]
        lines += [f"| `{k['name']}` | {k['per_step']:.0f} | {k['ms_per_step']:.3f} |" for k in r["top"]]
        lines += ["", "| matrix product | input shapes | per step | ms per step (own kernels) |", "|---|---|---:|---:|"]
        lines += [f"| {g['op']} | `{g['shapes']}` | {g['per_step']:.0f} | {g['ms_per_step']:.3f} |" for g in r["gemms"]]
        lines.append("")
    (args.out_dir / f"gpu_profile_steps{args.tag}.md").write_text("\n".join(lines))
    print("\n".join(lines[-40:]))


if __name__ == "__main__":
    main()
