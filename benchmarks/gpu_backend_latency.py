"""Encoder forward latency of every available CUDA scan backend (median of CUDA-event timings after warm-up).

    python benchmarks/gpu_backend_latency.py --out benchmarks/results/gpu_backend_latency.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from ssamba_lab import ops
from ssamba_lab.models import build_model


def median_ms(fn, repeats: int = 10, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return sorted(times)[len(times) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="ssamba-tiny")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--tokens", type=int, nargs="+", default=[512, 4096])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/gpu_backend_latency.json"))
    args = ap.parse_args()
    rows = []
    for tokens in args.tokens:
        frames = 16 * tokens // 8  # 8 frequency rows of 16x16 patches on 128 bins
        model = build_model(args.model, input_tdim=frames).cuda().eval()
        x = torch.randn(args.batch, frames, 128, device="cuda")  # [b, T, F]
        for backend in ops.available_backends("cuda"):
            model.set_scan_backend(backend)
            with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
                ms = median_ms(lambda: model(x))
            rows.append({"tokens": tokens, "backend": backend, "bf16_ms": ms})
            print(json.dumps(rows[-1]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"command": f"python benchmarks/gpu_backend_latency.py --model {args.model} "
                                               f"--batch {args.batch} --tokens {' '.join(map(str, args.tokens))}",
                                    "gpu": torch.cuda.get_device_name(), "torch": torch.__version__,
                                    "model": args.model, "batch": args.batch, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
