"""Backend parity on a CUDA GPU: the full ``ssamba-tiny`` encoder with the pure-PyTorch scan vs mamba-ssm +
causal-conv1d (and any other CUDA backend registered), fp32, forward and every parameter's gradient.

    python benchmarks/gpu_backend_parity.py --out benchmarks/results/gpu_backend_parity.json

Relative error = max |x - x_ref| / max |x_ref| per tensor; the reference is the PyTorch backend.
"""
from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch

from ssamba_lab import ops
from ssamba_lab.ops.parity import backend_parity
from ssamba_lab.models import build_model


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="ssamba-tiny")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--frames", type=int, default=1024)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/gpu_backend_parity.json"))
    args = ap.parse_args()
    assert torch.cuda.is_available(), "this script needs a CUDA GPU"
    torch.backends.cuda.matmul.allow_tf32 = False  # compare fp32 kernels, not TF32 GEMMs
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    model = build_model(args.model, drop_path=0.0).cuda()
    x = torch.randn(args.batch, args.frames, 128, device="cuda")  # [b, T, F]
    report = {"command": "python benchmarks/gpu_backend_parity.py " + " ".join(
        f"--{k} {v}" for k, v in vars(args).items() if k != "out"),
        "gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "cuda": torch.version.cuda,
        "python": platform.python_version(), "model": args.model, "input": [args.batch, args.frames, 128],
        "dtype": "float32", "tf32": False, "reference": "torch", "tolerance": 1e-4, "backends": {}}
    others = [b for b in ops.available_backends("cuda") if b != "torch"]
    for r in backend_parity(model, x, others):
        report["backends"][r.backend] = {**{k: v for k, v in vars(r).items() if k not in ("backend", "reference")},
                                         "pass": r.passes(1e-4)}
        print(r.backend, json.dumps(report["backends"][r.backend]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    if not report["backends"]:
        raise SystemExit("no CUDA backend besides 'torch' is available (install mamba-ssm / causal-conv1d)")
    if not all(b["pass"] for b in report["backends"].values()):
        raise SystemExit("parity FAILED")


if __name__ == "__main__":
    main()
