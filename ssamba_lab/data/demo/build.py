"""``build_demo_corpus(root, config=...)``: write every official layout of the demo corpus under ``root``.

Layout written (each readable by the same adapters as the real datasets)::

    <root>/speech_commands/       ks1 + ks2 (35 word folders, lists, _background_noise_)
    <root>/LibriSpeech/           pretraining speech (train-clean-100, dev-clean; flac)
    <root>/audioset/              as + pretraining (segment CSVs, class_labels_indices.csv, audio/*; flac)
    <root>/ESC-50/                esc
    <root>/UrbanSound8K/          dasl
    <root>/voxceleb1/             sid
    <root>/IEMOCAP_full_release/  er
    <root>/demo_corpus.json       config, counts, sizes; a rebuild with the same config is skipped
"""
from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

from . import layouts
from .config import DemoConfig
from .speech import Synthesizer

WRITERS = {
    "speech_commands": layouts.speech_commands,
    "LibriSpeech": layouts.librispeech,
    "audioset": layouts.audioset,
    "ESC-50": layouts.esc50,
    "UrbanSound8K": layouts.urbansound8k,
    "voxceleb1": layouts.voxceleb1,
    "IEMOCAP_full_release": layouts.iemocap,
}
STAMP = "demo_corpus.json"
VERSION = 1


def build_demo_corpus(root: str | Path = "data/demo", *, config: DemoConfig = DemoConfig(),
                      overwrite: bool = False, verbose: bool = False, workers: int | None = None) -> dict:
    """Generate the corpus (deterministic in ``config``); returns the stamp dict (per-dataset files/seconds/MB)."""
    root = Path(root)
    stamp_path = root / STAMP
    wanted = {"version": VERSION, "config": asdict(config)}
    if stamp_path.is_file() and not overwrite:
        stamp = json.loads(stamp_path.read_text())
        if {k: stamp.get(k) for k in wanted} == json.loads(json.dumps(wanted)):
            return stamp
    Synthesizer()  # fails early, with an install hint, when espeak-ng is unavailable
    root.mkdir(parents=True, exist_ok=True)
    stamp = {**wanted, "datasets": {}}
    t0 = time.perf_counter()
    # espeak-ng carries state from one utterance to the next inside a process, so each dataset is written by a
    # fresh process: the output then depends only on the config (and the writers run in parallel).
    workers = max(1, min(len(WRITERS), workers or os.cpu_count() or 1))
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, max_tasks_per_child=1) as pool:
        futures = {name: pool.submit(_write_one, name, root, config) for name in WRITERS}
        for name, fut in futures.items():
            stats = fut.result()
            stamp["datasets"][name] = stats
            if verbose:
                print(f"  {name:<22} {stats['files']:>5} files {stats['seconds']:>7.1f} s audio "
                      f"{stats['megabytes']:>6.2f} MB  ({stats['build_seconds']:.1f} s)", flush=True)
    stamp["total_megabytes"] = round(sum(d["megabytes"] for d in stamp["datasets"].values()), 2)
    stamp["build_seconds"] = round(time.perf_counter() - t0, 2)
    stamp_path.write_text(json.dumps(stamp, indent=1))
    return stamp


def _write_one(name: str, root: Path, config: DemoConfig) -> dict:
    """Write one dataset (in a fresh worker process); returns files / seconds / megabytes / build seconds."""
    t = time.perf_counter()
    if (root / name).exists():
        shutil.rmtree(root / name)
    stats = WRITERS[name](root, config, Synthesizer())
    stats["megabytes"] = round(sum(p.stat().st_size for p in (root / name).rglob("*") if p.is_file()) / 1e6, 2)
    stats["build_seconds"] = round(time.perf_counter() - t, 2)
    return stats
