"""Re-render latency of the ReconstructionExplorer (widgets/) on the CPU: issue 5's "< 1 s per control change".

Drives the explorer exactly as a user's click does (widget value set -> synchronous observer -> forward pass,
figure and summary update) and times that call, per clip length and scan backend:
- ``count (new)``: the masked-count slider moves to a value not seen before (one encoder forward);
- ``count (cached)``: back to a value already seen (the forward comes from the explorer's cache);
- ``new seed``: the *new seed* button (one forward);
- ``strategy``: switching cluster / frame / random at a fresh seed (one forward each);
- ``forward only`` / ``draw only``: the two parts of a new render, timed separately;
- ``audio``: the *synthesise audio* button (mel inversion + Griffin-Lim of both clips).
The browser's own redraw (plotly.js) comes on top and is not measured here.

Model: ``ssamba-tiny`` (24 layers; random weights: the speed does not depend on them), joint objective.
Example::

    python benchmarks/explorer_latency.py --frames 128,256 --backends numba,torch \\
        --out benchmarks/results/explorer_latency.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from ssamba_lab.explore import MaskChoice, random_pretrainer, reconstruct, write_synthetic_clips
from widgets import ReconstructionExplorer

TARGET_S = 1.0


@dataclass(frozen=True)
class BenchConfig:
    model: str = "ssamba-tiny"
    frames: tuple[int, ...] = (128, 256)
    backends: tuple[str, ...] = ("numba", "torch")
    repeats: int = 6
    audio_repeats: int = 2
    threads: int = 1
    seed: int = 0


@dataclass
class Timing:
    frames: int
    backend: str
    action: str
    median_s: float
    min_s: float
    max_s: float
    runs: int


@dataclass
class Report:
    command: str
    machine: dict
    config: dict
    timings: list[Timing] = field(default_factory=list)


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _add(report: Report, frames: int, backend: str, action: str, times: list[float]) -> None:
    t = Timing(frames, backend, action, statistics.median(times), min(times), max(times), len(times))
    report.timings.append(t)
    print(f"{frames:5d} {backend:6s} {action:18s} median {t.median_s:7.3f} s  min {t.min_s:7.3f}  max {t.max_s:7.3f}"
          f"  (n={t.runs})", flush=True)


def bench_one(report: Report, cfg: BenchConfig, frames: int, backend: str, clip_paths: dict) -> None:
    model = random_pretrainer(cfg.model, input_tdim=frames, seed=cfg.seed)
    model.encoder.set_scan_backend(backend)
    ex = ReconstructionExplorer(clips=clip_paths, checkpoints={"random": model}, frames=frames, strategy="random",
                                ratio=0.5, seed=cfg.seed, torch_threads=cfg.threads)
    ex.count.value = ex.count.value - 1  # warm-up: JIT compilation, first plotly validation
    start = ex.count.value
    counts = [start - 1 - i for i in range(cfg.repeats)]
    _add(report, frames, backend, "count (new)", [_timed(lambda c=c: setattr(ex.count, "value", c)) for c in counts])
    _add(report, frames, backend, "count (cached)",  # back over the values just visited
         [_timed(lambda c=c: setattr(ex.count, "value", c)) for c in reversed(counts[:-1])])
    _add(report, frames, backend, "new seed", [_timed(ex.new_seed.click) for _ in range(cfg.repeats)])
    order, times = ["cluster", "frame", "random"], []
    for i in range(cfg.repeats):
        ex.seed.value = 1000 + i  # untimed: makes the next strategy's view new (not cached)
        times.append(_timed(lambda s=order[i % 3]: setattr(ex.strategy, "value", s)))
    _add(report, frames, backend, "strategy", times)
    clip = ex.current_clip
    fwd = [_timed(lambda i=i: reconstruct(model, clip, MaskChoice(num_masked=3 + i, seed=99), audio=False))
           for i in range(cfg.repeats)]
    _add(report, frames, backend, "forward only", fwd)
    results = [reconstruct(model, clip, MaskChoice(num_masked=3 + i, seed=99), audio=False) for i in range(2)]
    _add(report, frames, backend, "draw only", [_timed(lambda r=results[i % 2]: ex._draw(r)) for i in range(cfg.repeats)])
    ex.synthesise_audio()  # warm-up (librosa's first call compiles)
    _add(report, frames, backend, "audio", [_timed(ex.synthesise_audio) for _ in range(cfg.audio_repeats)])


def markdown(report: Report) -> str:
    lines = [f"# Explorer re-render latency ({report.config['model']}, CPU)", "",
             f"Command: `{report.command}`", "",
             (f"Machine: {report.machine['cpus']} CPUs, load average before/after "
             f"{report.machine['load_before']} / {report.machine['load_after']}, torch {report.machine['torch']}, "
             f"{report.config['threads']} torch thread(s). Target: a control change re-renders in < {TARGET_S:.0f} s "
             f"(Python side; plotly.js's redraw in the browser comes on top)."), "",
             "| frames | backend | action | median s | min s | max s | runs |", "|---|---|---|---|---|---|---|"]
    for t in report.timings:
        lines.append(f"| {t.frames} | {t.backend} | {t.action} | {t.median_s:.3f} | {t.min_s:.3f} | {t.max_s:.3f} "
                     f"| {t.runs} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", default="128,256")
    p.add_argument("--backends", default="numba,torch")
    p.add_argument("--repeats", type=int, default=BenchConfig.repeats)
    p.add_argument("--threads", type=int, default=BenchConfig.threads)
    p.add_argument("--out", type=Path, default=None, help="JSON path; a .md table is written beside it")
    args = p.parse_args(argv)
    cfg = BenchConfig(frames=tuple(int(f) for f in args.frames.split(",")),
                      backends=tuple(args.backends.split(",")), repeats=args.repeats, threads=args.threads)
    report = Report(command="python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
                    machine={"cpus": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__,
                             "load_before": [round(x, 2) for x in os.getloadavg()]},
                    config=asdict(cfg))
    with tempfile.TemporaryDirectory() as tmp:
        clip_paths = write_synthetic_clips(tmp)
        for frames in cfg.frames:
            for backend in cfg.backends:
                bench_one(report, cfg, frames, backend, clip_paths)
    report.machine["load_after"] = [round(x, 2) for x in os.getloadavg()]
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(asdict(report), indent=2))
        args.out.with_suffix(".md").write_text(markdown(report))
        print(f"wrote {args.out} and {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
