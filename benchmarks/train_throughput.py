"""Pretraining throughput on one GPU: samples/s of full optimiser steps (joint objective, two passes, AdamW),
batch 64 x 512 tokens (1024 frames x 128 bins, 16x16 patches), bf16 autocast, synthetic inputs.

    python benchmarks/train_throughput.py --out /tmp/tp            # ssamba-tiny/base, ssast-tiny/base
    python benchmarks/train_throughput.py --out /tmp/tp --device cpu --models ssamba-tiny \\
        --model-override depth=1 --batch 2 --steps 2 --warmup 1     # smoke test
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from ssamba_lab.models import MaskedPretrainer, ObjectiveConfig, build_model
from ssamba_lab.train.overrides import parse_overrides
from ssamba_lab.train.loop import autocast_dtype


def measure(name: str, *, device: torch.device, batch: int, frames: int, steps: int, warmup: int, precision: str,
            overrides: dict, backend: str | None) -> dict:
    torch.manual_seed(0)
    enc = build_model(name, input_tdim=frames, **overrides)
    if backend and hasattr(enc, "set_scan_backend"):
        enc.set_scan_backend(backend)
    model = MaskedPretrainer(encoder=enc, objective=ObjectiveConfig(num_masked=round(enc.config.num_patches * 400 / 512))).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=5e-8, betas=(0.95, 0.999))
    x = torch.randn(batch, frames, 128, device=device)  # [b, T, 128]
    dtype = autocast_dtype(precision, device)

    def step():
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            loss = model(x)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(warmup):
        step()
    sync()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t = time.perf_counter()
    for _ in range(steps):
        loss = step()
    sync()
    dt = time.perf_counter() - t
    res = {"model": name, "tokens": enc.config.num_patches, "batch": batch, "steps": steps,
           "samples_per_s": batch * steps / dt, "step_ms": 1000 * dt / steps, "final_loss": float(loss),
           "params_m": sum(p.numel() for p in model.encoder.parameters()) / 1e6}
    if device.type == "cuda":
        res["peak_mem_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--device", default="cuda")
    p.add_argument("--models", nargs="+", default=["ssamba-tiny", "ssamba-base", "ssast-tiny", "ssast-base"])
    p.add_argument("--model-override", nargs="*", default=[])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--frames", type=int, default=1024)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--precision", default="bf16")
    p.add_argument("--scan-backend", default=None, help="force a scan backend (default: automatic)")
    a = p.parse_args(argv)
    device = torch.device(a.device)
    torch.backends.cuda.matmul.allow_tf32 = True
    rows = []
    for name in a.models:
        try:
            r = measure(name, device=device, batch=a.batch, frames=a.frames, steps=a.steps, warmup=a.warmup,
                        precision=a.precision, overrides=parse_overrides(a.model_override), backend=a.scan_backend)
        except torch.cuda.OutOfMemoryError as exc:
            r = {"model": name, "batch": a.batch, "error": f"out of memory: {str(exc).splitlines()[0]}"}
        if device.type == "cuda":
            torch.cuda.empty_cache()
        rows.append(r)
        print(json.dumps(r), flush=True)
    info = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
            "torch": torch.__version__, "command": "python " + " ".join([sys.argv[0], *(argv or sys.argv[1:])]),
            "args": vars(a)}
    try:
        from ssamba_lab.ops import resolve_backend

        info["scan_backend_auto"] = resolve_backend(device, None, training=True)
    except Exception as exc:  # informational only
        info["scan_backend_auto"] = f"unknown ({exc})"
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "train_throughput.json").write_text(json.dumps({**info, "results": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
