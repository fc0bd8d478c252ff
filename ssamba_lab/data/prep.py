"""Stage "data prep" (notebook 01): config dataclass, manifests + statistics + tables, spectrogram figures."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from ssamba_lab.features import kaldi_fbank
from ssamba_lab.tasks import get_task, list_tasks

from .bad_audio import load_waveform
from .prepare import PreparedTask, prepare_task
from .stats import class_counts, fbank_stats


@dataclass(frozen=True)
class DataPrepConfig:
    """Notebook 01's parameters. ``build_demo``: generate the demo corpus under ``data_root`` first."""

    task: str = "ks1"
    data_root: str = "data/demo"
    output_dir: str = "runs/01_data_prep"
    fold: int | None = None
    build_demo: bool = True
    demo_seed: int = 0
    stats_clips: int = 200
    n_examples: int = 3
    audit: bool = True

    def __post_init__(self) -> None:
        get_task(self.task)  # unknown task -> ValueError listing the valid names
        assert self.stats_clips > 0 and self.n_examples > 0, "stats_clips and n_examples must be positive"


@dataclass
class DataPrepResult:
    prepared: PreparedTask
    splits: pd.DataFrame  # rows: split; columns: clips
    balance: pd.DataFrame  # rows: class; columns: one per split
    stats: pd.DataFrame  # rows: computed on train / used by the recipe; columns: mean, std
    bad_audio: pd.DataFrame  # rows: problem files; columns: file, problems, action


def run_data_prep(cfg: DataPrepConfig) -> DataPrepResult:
    """Build the demo corpus if asked, prepare the task's manifests, compute statistics and tables, and write
    ``summary.json`` + the tables (CSV) under ``cfg.output_dir``."""
    if cfg.build_demo:
        from .demo import DemoConfig, build_demo_corpus
        build_demo_corpus(cfg.data_root, config=DemoConfig(seed=cfg.demo_seed))
    recipe = get_task(cfg.task)
    out = Path(cfg.output_dir)
    prepared = prepare_task(recipe, data_root=cfg.data_root, out_dir=out / "manifests", fold=cfg.fold, audit=cfg.audit)
    splits = pd.DataFrame({"clips": prepared.counts}).rename_axis("split")
    if prepared.labels.mids:
        balance = pd.DataFrame({s: class_counts(prepared.manifest(s), prepared.labels) for s in prepared.counts})
    else:
        balance = pd.DataFrame({s: {"(unlabeled)": n} for s, n in prepared.counts.items()})
    balance = balance.rename_axis("class")
    computed = fbank_stats(prepared.manifest("train"), max_clips=cfg.stats_clips)
    stats = pd.DataFrame({"mean": [round(computed.mean, 4)], "std": [round(computed.std, 4)]}, index=["train split"])
    if recipe.stats is not None:
        stats.loc["recipe (published)"] = [recipe.stats.mean, recipe.stats.std]
    report = json.loads(prepared.bad_audio_report.read_text()) if prepared.bad_audio_report.is_file() else {"rows": []}
    bad = pd.DataFrame([{"file": Path(r["path"]).name, "problems": ", ".join(r["problems"]), "action": r["action"]}
                        for r in report["rows"]], columns=["file", "problems", "action"])
    out.mkdir(parents=True, exist_ok=True)
    splits.to_csv(out / "splits.csv")
    balance.to_csv(out / "class_balance.csv")
    (out / "summary.json").write_text(json.dumps({
        "config": asdict(cfg), "counts": prepared.counts, "num_classes": len(prepared.labels),
        "stats_train": {"mean": computed.mean, "std": computed.std}, "missing": prepared.missing,
        "bad_audio": len(bad), "manifests": str(prepared.out_dir)}, indent=1))
    return DataPrepResult(prepared, splits, balance, stats, bad)


def spectrogram_figure(prepared: PreparedTask, *, split: str = "train", n: int = 3, max_frames: int = 600):
    """Plotly heatmaps of the raw fbank (frames x 128, first ``max_frames``) of the first ``n`` clips, one per
    class where possible."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    manifest, picked, seen = prepared.manifest(split), [], set()
    for entry in manifest:
        if entry["labels"] not in seen:
            seen.add(entry["labels"])
            picked.append(entry)
        if len(picked) == n:
            break
    fig = make_subplots(rows=len(picked), cols=1, subplot_titles=[e["labels"] or "(unlabeled)" for e in picked],
                        vertical_spacing=0.08)
    for i, entry in enumerate(picked, start=1):
        fb = kaldi_fbank(load_waveform(entry))[:max_frames]  # [frames, 128]
        fig.add_trace(go.Heatmap(z=fb.T.numpy(), colorscale="Viridis", showscale=i == 1), row=i, col=1)
        fig.update_yaxes(title_text="mel bin", row=i, col=1)
    fig.update_xaxes(title_text="frame (10 ms)", row=len(picked), col=1)
    fig.update_layout(height=260 * len(picked), width=900, title=f"{prepared.task}: example fbanks ({split})")
    return fig


__all__ = ["DataPrepConfig", "DataPrepResult", "run_data_prep", "spectrogram_figure", "list_tasks"]
