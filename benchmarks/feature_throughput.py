"""Feature-extraction throughput: 10-second clips -> normalised Kaldi fbank [1024, 128], clips/s per worker.

    python benchmarks/feature_throughput.py --clips 48 --out benchmarks/results/feature_throughput_cpu.json

Measures (1) one process, one torch thread: decode + resample-free fbank + pad + normalise (eval path) and the
train path (+ SpecAugment 48/192 + noise); (2) DataLoader over the same manifest with 1 and 2 workers
(batch 8), reporting total clips/s and clips/s per worker. Clips are 16 kHz mono 16-bit wav written to a
temporary folder (noise + tones), so decoding cost is included.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from ssamba_lab.data.dataset import AudioDataset, DataConfig
from ssamba_lab.data.manifest import LabelMap, Manifest, write_manifest
from ssamba_lab.features import AUDIOSET_STATS


def make_clips(folder: Path, n: int, seconds: float = 10.0) -> Path:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * 16000)) / 16000
    entries = []
    for i in range(n):
        x = 0.1 * rng.standard_normal(len(t)) + 0.3 * np.sin(2 * np.pi * rng.uniform(100, 2000) * t)
        path = folder / f"clip{i:04d}.wav"
        sf.write(str(path), x.astype(np.float32), 16000, subtype="PCM_16")
        entries.append({"wav": str(path), "labels": "a"})
    write_manifest(folder / "manifest.json", entries)
    return folder / "manifest.json"


def dataset(manifest: Path, *, train: bool) -> AudioDataset:
    cfg = DataConfig(target_frames=1024, stats=AUDIOSET_STATS, train=train, freqm=48, timem=192, noise=train)
    return AudioDataset(Manifest(manifest), LabelMap.from_mids(["a"]), cfg)


def single_process(manifest: Path, *, train: bool, repeats: int) -> float:
    torch.set_num_threads(1)
    ds = dataset(manifest, train=train)
    ds[0]  # warm-up
    t = time.perf_counter()
    for _ in range(repeats):
        for i in range(len(ds)):
            ds[i]
    return repeats * len(ds) / (time.perf_counter() - t)


def loader(manifest: Path, *, workers: int, repeats: int) -> float:
    ds = dataset(manifest, train=True)
    dl = torch.utils.data.DataLoader(ds, batch_size=8, num_workers=workers, persistent_workers=True)
    next(iter(dl))  # start the workers
    t = time.perf_counter()
    n = 0
    for _ in range(repeats):
        for b in dl:
            n += b["fbank"].shape[0]
    return n / (time.perf_counter() - t)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--clips", type=int, default=48)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as d:
        manifest = make_clips(Path(d), args.clips)
        res = {
            "command": "python benchmarks/feature_throughput.py " + f"--clips {args.clips} --repeats {args.repeats}",
            "clip_seconds": 10.0, "target_frames": 1024, "clips": args.clips,
            "cpu": platform.processor() or platform.machine(), "os_cpu_count": os.cpu_count(),
            "torch": torch.__version__, "load_average_1min_at_start": round(os.getloadavg()[0], 2),
            "note": "shared 2-core machine; other jobs were running (see load average), so these are lower bounds",
            "single_process_eval_clips_per_s": round(single_process(manifest, train=False, repeats=args.repeats), 1),
            "single_process_train_clips_per_s": round(single_process(manifest, train=True, repeats=args.repeats), 1),
        }
        for w in (1, 2):
            total = loader(manifest, workers=w, repeats=args.repeats)
            res[f"loader_{w}_workers_clips_per_s"] = round(total, 1)
            res[f"loader_{w}_workers_clips_per_s_per_worker"] = round(total / w, 1)
    print(json.dumps(res, indent=1))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
