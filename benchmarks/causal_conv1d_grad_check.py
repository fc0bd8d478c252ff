"""Why did causal-conv1d's weight gradient disagree with PyTorch in the mixer's backward direction?

Checks ``causal_conv1d_fn`` against :func:`ssamba_lab.ops.conv.causal_conv1d_torch` (fp32, forward and the
gradients of x, weight and bias) for the input layouts the mixer produces: contiguous ``[b, e, l]``, a flipped
copy, a channel-last view of ``in_proj``'s output, and a flipped channel-last view; and for output gradients that
are contiguous or flipped views.

    python benchmarks/causal_conv1d_grad_check.py --out benchmarks/results/causal_conv1d_grad_check.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from ssamba_lab.ops.conv import causal_conv1d_torch


def rel(a, b):
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/causal_conv1d_grad_check.json"))
    args = ap.parse_args()
    import causal_conv1d
    from causal_conv1d import causal_conv1d_fn

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(0)
    b, e, l, k = 2, 384, 513, 4
    xz = torch.randn(b, l, 2 * e, device="cuda")  # [b, l, 2e] like in_proj's output
    w = torch.randn(e, k, device="cuda") * 0.3  # [e, k]
    bias = torch.randn(e, device="cuda")  # [e]
    g = torch.randn(b, e, l, device="cuda")  # [b, e, l] upstream gradient
    layouts = {
        "contiguous": lambda t: t.transpose(1, 2).contiguous(),
        "flip_copy": lambda t: t.transpose(1, 2).flip(-1),
        "channel_last_view": lambda t: t.transpose(1, 2),
        "flip_channel_last_then_contiguous": lambda t: t.transpose(1, 2).flip(-1).contiguous(),
    }
    grads = {"contiguous": lambda: g, "flipped_view": lambda: g.flip(-1).flip(-1)}
    report = {"causal_conv1d": getattr(causal_conv1d, "__version__", "?"), "torch": torch.__version__,
              "gpu": torch.cuda.get_device_name(), "shape": [b, e, l, k], "cases": {}}
    for lname, make in layouts.items():
        for gname, gg in grads.items():
            res = {}
            outs = {}
            for impl, fn in (("torch", causal_conv1d_torch), ("cc1d", None)):
                src = xz[..., :e].detach().clone().requires_grad_(True)  # leaf keeps xz's strides
                ww = w.detach().clone().requires_grad_(True)
                bb = bias.detach().clone().requires_grad_(True)
                x = make(src)
                x_in = x if impl == "torch" else x
                y = (causal_conv1d_torch(x_in, ww, bb, "silu") if impl == "torch"
                     else causal_conv1d_fn(x_in, ww, bb, activation="silu"))
                y.backward(gg())
                outs[impl] = (y.detach(), src.grad, ww.grad, bb.grad)
                res[f"{impl}_x_strides"] = list(x.stride())
            for i, name in enumerate(("y", "dx", "dweight", "dbias")):
                res[name] = rel(outs["cc1d"][i], outs["torch"][i])
            res["pass"] = all(res[n] < 1e-4 for n in ("y", "dx", "dweight", "dbias"))
            report["cases"][f"{lname}/{gname}"] = res
            print(lname, gname, json.dumps(res))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
