"""DDP parity and throughput: the same fine-tuning run (ks1 shape: 128 frames, stride 10 -> 144 patches, 12
classes, BCE) on one process and under ``torchrun --nproc-per-node N`` with the same global batch.

Phase 1 (parity, fp32, TF32 off): per-step training loss of both runs and their largest difference.
Phase 2 (throughput, ``--precision``, default bf16 on CUDA): samples/s of both, timed after warm-up steps.
Synthetic inputs (fixed seed), drop-path off, no augmentation, so the only differences are the reduction order.

    python benchmarks/ddp_parity.py --out /tmp/ddp --world-size 2                       # 2 GPUs (nccl)
    python benchmarks/ddp_parity.py --out /tmp/ddp --world-size 2 --device cpu \\
        --model-override depth=1 embed_dim=32 --frames 32 --steps 4 --global-batch 8 --timed-steps 0   # gloo
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch


def _args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--world-size", type=int, default=2)
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--model", default="ssamba-tiny")
    p.add_argument("--model-override", nargs="*", default=[])
    p.add_argument("--frames", type=int, default=128)
    p.add_argument("--stride", type=int, default=10)
    p.add_argument("--classes", type=int, default=12)
    p.add_argument("--global-batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=20, help="parity steps (fp32)")
    p.add_argument("--timed-steps", type=int, default=30, help="throughput steps after warm-up (0 = skip)")
    p.add_argument("--warmup-steps", type=int, default=5)
    p.add_argument("--precision", default="auto", help="throughput phase precision (auto = bf16 on CUDA)")
    p.add_argument("--tolerance", type=float, default=1e-3, help="max |loss difference| for 'pass'")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def _run_phase(a, *, steps: int, precision: str, timed_from: int, seed: int) -> dict:
    from ssamba_lab.models import build_model
    from ssamba_lab.train import distributed as D
    from ssamba_lab.train.batches import LoaderSource, TensorDictDataset
    from ssamba_lab.train.classifier import FinetuneModel
    from ssamba_lab.train.overrides import parse_overrides
    from ssamba_lab.train.task_loss import task_loss
    from ssamba_lab.train.loop import LoopConfig, Trainer
    from ssamba_lab.train.schedules import LrSchedule, ScheduleConfig

    info = D.current()
    device = D.resolve_device(a.device, info)
    torch.manual_seed(seed)  # same init on every rank (DDP broadcasts rank 0's anyway)
    overrides = {"input_tdim": a.frames, "fstride": a.stride, "tstride": a.stride, "drop_path": 0.0,
                 **parse_overrides(a.model_override)}
    model = FinetuneModel(encoder=build_model(a.model, **overrides), num_classes=a.classes).to(device)
    g = torch.Generator().manual_seed(seed)
    n = a.global_batch * steps
    data = TensorDictDataset(fbank=torch.randn(n, a.frames, 128, generator=g),  # [n, T, 128]
                             target=torch.eye(a.classes)[torch.randint(0, a.classes, (n,), generator=g)])  # [n, C]
    per_rank = a.global_batch // info.world_size
    source = LoaderSource(data, batch_size=per_rank, seed=seed, shuffle=True, drop_last=True, rank=info.rank,
                          world_size=info.world_size)
    opt = torch.optim.Adam(model.parameters(), lr=2.5e-4, weight_decay=5e-7, betas=(0.95, 0.999))
    times: list[float] = []

    def clock(trainer, out):
        if trainer.state.step in (timed_from, steps):
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter())

    log_every = 1 if timed_from == 0 else steps  # per-step loss logging syncs the ranks: parity phase only
    trainer = Trainer(model=model, optimizer=opt, schedule=LrSchedule(opt, ScheduleConfig()), train=source,
                      step_fn=lambda m, b: {"loss": task_loss(m(b["fbank"]), b["target"], "bce")}, evaluate=None,
                      config=LoopConfig(epochs=1, max_steps=steps, log_every_steps=log_every, precision=precision,
                                        progress=False), device=device, run_dir=None, checkpoint_config={})
    trainer.fit(callbacks=[clock])
    losses = [r["loss"] for r in trainer.log.records if r["kind"] == "train"]
    res = {"losses": losses, "world_size": info.world_size, "per_rank_batch": per_rank}
    if timed_from:
        res["samples_per_s"] = a.global_batch * (steps - timed_from) / (times[1] - times[0])
    if device.type == "cuda":
        res["peak_mem_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    return res


def worker(a) -> None:
    from ssamba_lab.train import distributed as D

    info = D.init_distributed(a.device)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    result = {"parity": _run_phase(a, steps=a.steps, precision="fp32", timed_from=0, seed=0)}
    if a.timed_steps:
        torch.backends.cuda.matmul.allow_tf32 = True
        result["throughput"] = _run_phase(a, steps=a.warmup_steps + a.timed_steps, precision=a.precision,
                                          timed_from=a.warmup_steps, seed=1)
    if info.is_main:
        Path(a.out).mkdir(parents=True, exist_ok=True)
        (Path(a.out) / "worker.json").write_text(json.dumps(result))
    D.cleanup()


def launch(a, argv: list[str]) -> dict:
    out = Path(a.out)
    common = [__file__, "--worker", *argv]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    runs = {}
    for name, prefix in (("single", [sys.executable]),
                         (f"ddp{a.world_size}", [sys.executable, "-m", "torch.distributed.run", "--standalone",
                                            f"--nproc-per-node={a.world_size}"])):
        t = time.time()
        cmd = prefix + common + ["--out", str(out / name)]
        subprocess.run(cmd, check=True, env=env)
        runs[name] = json.loads((out / name / "worker.json").read_text())
        runs[name]["wall_s"] = round(time.time() - t, 1)
    single, ddp = runs["single"], runs[f"ddp{a.world_size}"]
    diffs = [abs(x - y) for x, y in zip(single["parity"]["losses"], ddp["parity"]["losses"])]
    summary = {"steps": len(diffs), "max_abs_loss_diff": max(diffs), "tolerance": a.tolerance,
               "pass": max(diffs) <= a.tolerance}
    if a.timed_steps:
        s1, s2 = single["throughput"]["samples_per_s"], ddp["throughput"]["samples_per_s"]
        summary.update(single_samples_per_s=s1, ddp_samples_per_s=s2, speedup=s2 / s1)
    device = torch.cuda.get_device_name(0) if a.device == "cuda" and torch.cuda.is_available() else "cpu"
    result = {"command": "python " + " ".join([sys.argv[0], *argv]), "device": device, "args": vars(a),
              "summary": summary, "runs": runs}
    out.mkdir(parents=True, exist_ok=True)
    (out / "ddp_parity.json").write_text(json.dumps(result, indent=1))
    print("step  single        ddp           |diff|")
    for i, (x, y) in enumerate(zip(single["parity"]["losses"], ddp["parity"]["losses"])):
        print(f"{i + 1:4d}  {x:.8f}  {y:.8f}  {abs(x - y):.2e}")
    print(json.dumps(summary, indent=1))
    return result


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    a = _args(argv)
    if a.worker:
        worker(a)
        return 0
    argv = [x for i, x in enumerate(argv) if x != "--out" and (i == 0 or argv[i - 1] != "--out")]
    return 0 if launch(a, argv)["summary"]["pass"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
