"""Turn a task recipe + a dataset folder into train / validation / test manifests and a label CSV.

``prepare_task(get_task("ks1"), data_root="data/demo", out_dir="runs/manifests")`` writes::

    <out_dir>/<task>[/fold<k>]/train.json  validation.json  test.json  labels.csv  prepare.json
                              [bad_audio_report.json]  [stats.json]

and returns a :class:`PreparedTask`. A second call with the same inputs reuses the files (``overwrite=True``
rebuilds). Entries stream from the adapter through the optional audit into the manifest files. Every file is
replaced atomically: the ranks of a torchrun job prepare the same folder at the same time and read each
other's files (a half-written ``prepare.json`` made one rank fail with a JSONDecodeError).
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ssamba_lab.tasks import TaskRecipe

from .adapters import ADAPTERS, SPLITS
from .bad_audio import AudioCheckConfig, BadAudioReport, audit_entries
from .layout import LayoutError
from .manifest import LabelMap, Manifest, read_label_csv, write_label_csv, write_manifest, write_text_atomic


@dataclass(frozen=True)
class PreparedTask:
    """Where a task's manifests are and what they hold."""

    task: str
    dataset_root: Path
    out_dir: Path
    fold: int | None
    labels: LabelMap
    counts: dict[str, int]
    missing: int

    def manifest_path(self, split: str) -> Path:
        assert split in SPLITS, f"split must be one of {SPLITS}, got {split!r}"
        return self.out_dir / f"{split}.json"

    def manifest(self, split: str) -> Manifest:
        path = self.manifest_path(split)
        assert path.is_file(), f"task {self.task!r} has no {split} split (splits: {sorted(self.counts)})"
        return Manifest(path)

    @property
    def bad_audio_report(self) -> Path:
        return self.out_dir / "bad_audio_report.json"


def default_manifest_dir() -> Path:
    """``$SSAMBA_LAB_CACHE/manifests`` (default ``~/.cache/ssamba_lab/manifests``)."""
    return Path(os.environ.get("SSAMBA_LAB_CACHE", Path.home() / ".cache" / "ssamba_lab")) / "manifests"


def resolve_dataset_root(recipe: TaskRecipe, data_root: str | Path) -> Path:
    """``data_root/<one of recipe.dataset_dirs>`` if present, else ``data_root`` itself."""
    data_root = Path(data_root)
    if not data_root.is_dir():
        raise LayoutError(f"{recipe.name}: data_root {data_root} does not exist or is not a folder")
    for d in recipe.dataset_dirs:
        if (data_root / d).is_dir():
            return (data_root / d).resolve()
    return data_root.resolve()


def default_fold(recipe: TaskRecipe, fold: int | None) -> int | None:
    if recipe.cv_protocol == "none":
        assert fold is None, f"task {recipe.name!r} has no cross-validation folds; got fold={fold}"
        return None
    fold = recipe.folds[0] if fold is None else fold
    assert fold in recipe.folds, f"task {recipe.name!r}: fold must be one of {recipe.folds}, got {fold}"
    return fold


def prepare_task(recipe: TaskRecipe, *, data_root: str | Path, out_dir: str | Path | None = None,
                 fold: int | None = None, audit: bool = True, overwrite: bool = False,
                 check: AudioCheckConfig = AudioCheckConfig()) -> PreparedTask:
    """Build (or reuse) the manifests of ``recipe`` from the dataset under ``data_root``.

    ``fold``: test fold / session for cross-validated tasks (default: the first). ``audit``: inspect every
    file and leave out the unusable ones (report in ``bad_audio_report.json``); turn off for huge sets and
    rely on the loaders' on-the-fly skipping.
    """
    fold = default_fold(recipe, fold)
    root = resolve_dataset_root(recipe, data_root)
    base = Path(out_dir) if out_dir is not None else default_manifest_dir()
    out = (base / recipe.name / (f"fold{fold}" if fold is not None else "")).resolve()
    key = {"task": recipe.name, "dataset_root": str(root), "fold": fold, "audit": audit,
           "validation_fraction": recipe.validation_fraction, "sequence_seconds": recipe.sequence_seconds,
           "piece_seconds": recipe.piece_seconds, "folds": list(recipe.folds), "check": asdict(check),
           "fingerprint": _fingerprint(root)}
    summary_path = out / "prepare.json"
    if summary_path.is_file() and not overwrite:
        summary = json.loads(summary_path.read_text())
        if summary.get("key") == key:
            return _prepared(recipe, root, out, fold, summary)
    adapter = ADAPTERS[recipe.adapter]
    result = adapter(root, fold=fold, folds=recipe.folds, validation_fraction=recipe.validation_fraction,
                     sequence_seconds=recipe.sequence_seconds, piece_seconds=recipe.piece_seconds)
    out.mkdir(parents=True, exist_ok=True)
    report = BadAudioReport()
    counts: dict[str, int] = {}
    for split, entries in result.splits.items():
        stream = audit_entries(entries, report, config=check) if audit else entries
        counts[split] = write_manifest(out / f"{split}.json", stream)
    for path, problems in result.bad:  # files the adapter could not read (known once the splits are consumed)
        report.checked += 1
        report.add(path, problems)
    for split in SPLITS:
        if split not in counts:
            (out / f"{split}.json").unlink(missing_ok=True)  # another process may have removed it already
    write_label_csv(out / "labels.csv", result.labels)
    if audit or report.rows:
        report.to_json(out / "bad_audio_report.json")
    write_text_atomic(out / "missing.txt", "".join(m + "\n" for m in result.missing))
    summary = {"key": key, "counts": counts, "missing": len(result.missing),
               "skipped": len(report.skipped), "repaired": len(report.repaired)}
    write_text_atomic(summary_path, json.dumps(summary, indent=1))  # last: its presence means "all written"
    return _prepared(recipe, root, out, fold, summary)


def _fingerprint(root: Path) -> list:
    """Cheap change detector: names and mtimes of the dataset root's entries (and their children)."""
    items = []
    for p in sorted(root.iterdir()):
        items.append([p.name, p.stat().st_mtime_ns])
        if p.is_dir():
            items.append([p.name + "/*", max((c.stat().st_mtime_ns for c in p.iterdir()), default=0)])
    return items


def _prepared(recipe: TaskRecipe, root: Path, out: Path, fold: int | None, summary: dict) -> PreparedTask:
    return PreparedTask(task=recipe.name, dataset_root=root, out_dir=out, fold=fold,
                        labels=read_label_csv(out / "labels.csv"), counts=summary["counts"],
                        missing=summary["missing"])
