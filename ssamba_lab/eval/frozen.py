"""Frozen-embedding evaluation of a checkpoint on a task (SSAM's protocol on scene embeddings).

    python -m ssamba_lab.eval.frozen --task esc --checkpoint checkpoints/ssamba-tiny --data-root data/demo

For each fold (cross-validated tasks) the task's train / validation / test manifests are prepared, every clip is
embedded once with the frozen encoder (mean over its time columns), and an MLP probe is trained per seed.
Score per seed = mean over folds of the test score at the best validation epoch; the summary is the mean and
95% interval over seeds. Results go to ``--out`` as JSON.
"""
from __future__ import annotations

import argparse
import json
import logging
import warnings
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

import torch

from ..features import FbankStats
from ..tasks import get_task
from .probe import ProbeConfig
from .seeds import mean_ci95, probe_over_seeds

log = logging.getLogger(__name__)


def _targets(prepared, entries: list[dict], multilabel: bool) -> torch.Tensor:
    labels = [prepared.labels.encode(e["labels"]) for e in entries]
    if multilabel:
        y = torch.zeros(len(entries), len(prepared.labels))
        for i, idx in enumerate(labels):
            y[i, idx] = 1.0
        return y  # [n, C]
    assert all(len(idx) == 1 for idx in labels), "a single-label task has exactly one label per clip"
    return torch.tensor([idx[0] for idx in labels])  # [n]


def embed_entries(embedder, entries: list[dict], cache: dict) -> torch.Tensor:
    """Scene embeddings ``[n, D]`` of manifest entries, clips of equal length batched, each clip embedded once."""
    from ..data import load_waveform

    def key(e: dict) -> str:
        return json.dumps({k: e.get(k) for k in ("wav", "start", "duration", "segments")}, sort_keys=True)

    todo = [e for e in entries if key(e) not in cache]
    by_len: dict[int, list[tuple[str, torch.Tensor]]] = defaultdict(list)
    for e in todo:
        wav = load_waveform(e)  # [samples]
        by_len[wav.shape[0]].append((key(e), wav))
    for group in by_len.values():
        embs = embedder.clip_embeddings(torch.stack([w for _, w in group]))  # [g, D]
        for (k, _), emb in zip(group, embs):
            cache[k] = emb
    return torch.stack([cache[key(e)] for e in entries])  # [n, D]


def evaluate_task(task: str, checkpoint: str, data_root: str | Path, *, folds: list[int] | None = None,
                  seeds: list[int] = tuple(range(10)), probe: ProbeConfig = ProbeConfig(),
                  manifest_dir: str | Path | None = None, window_frames: int | None = None,
                  batch_size: int = 16, stats: FbankStats | None = None, device: str = "cpu") -> dict:
    """Embed and probe; returns ``{"task", "checkpoint", "per_seed", "mean", "ci95", "folds": {...}}``."""
    from ..data import prepare_task
    from ..embed import Embedder

    recipe = get_task(task)
    if recipe.loss == "ssl" or recipe.sequence_seconds:
        raise ValueError(f"task {task!r} has no clip labels (pretraining / per-second labels): a scene-embedding "
                         f"probe does not apply")
    if checkpoint:
        model = checkpoint
    else:
        from ..models import build_model

        warnings.warn("no checkpoint: probing a randomly initialised ssamba-tiny (a chance-level baseline)", stacklevel=2)
        torch.manual_seed(0)
        model = build_model("ssamba-tiny")
    embedder = Embedder(model, window_frames=window_frames, batch_size=batch_size, stats=stats, device=device)
    fold_list = list(folds) if folds else (list(recipe.folds) if recipe.cv_protocol != "none" else [None])
    cache: dict = {}
    per_fold = {}
    for fold in fold_list:
        prepared = prepare_task(recipe, data_root=data_root, out_dir=manifest_dir, fold=fold)
        splits = {}
        for split in ("train", "validation", "test"):
            entries = list(prepared.manifest(split))
            splits[split] = (embed_entries(embedder, entries, cache), _targets(prepared, entries, recipe.multilabel))
            log.info("fold %s %s: %d clips", fold, split, len(entries))
        summary = probe_over_seeds(splits["train"], splits["validation"], splits["test"],
                                   num_classes=len(prepared.labels), multilabel=recipe.multilabel,
                                   seeds=list(seeds), config=probe)
        per_fold[str(fold)] = {"scores": summary.scores, "mean": summary.mean, "ci95": summary.ci95,
                               "best_epochs": [r.best_epoch for r in summary.results],
                               "counts": {k: int(v[0].shape[0]) for k, v in splits.items()}}
    per_seed = [sum(per_fold[str(f)]["scores"][i] for f in fold_list) / len(fold_list) for i in range(len(seeds))]
    mean, ci = mean_ci95(per_seed)
    return {"task": task, "metric": recipe.metric, "checkpoint": checkpoint or "random ssamba-tiny",
            "seeds": list(seeds), "per_seed": per_seed, "mean": mean, "ci95": ci, "folds": per_fold,
            "probe": asdict(probe), "embedding_dim": embedder.dim}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m ssamba_lab.eval.frozen", description=__doc__.split("\n\n")[0])
    p.add_argument("--task", required=True, help="a task name (esc, ks1, ks2, as, sid, er)")
    p.add_argument("--checkpoint", default="", help="our checkpoint dir or a released .pth ('' = random baseline)")
    p.add_argument("--data-root", required=True, help="folder holding the dataset (e.g. data/demo)")
    p.add_argument("--folds", default="", help="comma-separated test folds (default: all of the task's)")
    p.add_argument("--seeds", type=int, default=10, help="number of probe seeds (SSAM: 10)")
    p.add_argument("--max-epochs", type=int, default=ProbeConfig.max_epochs)
    p.add_argument("--patience", type=int, default=ProbeConfig.patience)
    p.add_argument("--dropout", type=float, default=ProbeConfig.dropout)
    p.add_argument("--window-frames", type=int, default=None, help="frames per embedding window (default: model's)")
    p.add_argument("--manifest-dir", default=None, help="where to write the task manifests")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--out", default=None, help="write the results JSON here")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    probe = ProbeConfig(max_epochs=args.max_epochs, patience=args.patience, dropout=args.dropout, device=args.device)
    folds = [int(f) for f in args.folds.split(",") if f] or None
    res = evaluate_task(args.task, args.checkpoint, args.data_root, folds=folds, seeds=list(range(args.seeds)),
                        probe=probe, manifest_dir=args.manifest_dir, window_frames=args.window_frames,
                        device=args.device)
    print(f"{res['task']} ({res['metric']}), {res['checkpoint']}: {100 * res['mean']:.1f} +- {100 * res['ci95']:.1f} "
          f"(95% interval over {len(res['seeds'])} seeds)")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(res, indent=1))
    return res


if __name__ == "__main__":
    main()
