"""Notebook-facing helpers: check parameters early (listing valid choices) and tabulate results beside the
published numbers."""
from __future__ import annotations

from pathlib import Path

from ssamba_lab import checkpoint as ckpt
from ssamba_lab.models import list_models
from ssamba_lab.tasks import list_tasks

from .published import TASKS as PUBLISHED_TASKS
from .published import published


def check_choice(kind: str, value: str, valid: list[str]) -> str:
    if value not in valid:
        raise ValueError(f"unknown {kind} {value!r}; valid {kind}s: {', '.join(valid)}")
    return value


def check_task(task: str) -> str:
    return check_choice("task", task, list_tasks(include_pretrain=False))


def check_model(model: str) -> str:
    return check_choice("model", model, list_models())


def find_checkpoints(root: str | Path = "runs") -> list[str]:
    """Checkpoint directories under ``root`` (``<run>/best``, ``<run>/last``, ...)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(str(p.parent) for p in root.glob("**/config.json") if ckpt.is_checkpoint_dir(p.parent))


def resolve_checkpoint(checkpoint: str | None, *, default: str = "runs/pretrain/best", search_root: str = "runs"):
    """``'auto'`` -> ``default`` if it exists else ``None`` (from scratch, with a printed note);
    ``'scratch'``/``None`` -> ``None``; a path must exist (our checkpoint directory or a released file),
    else the error lists the checkpoints found under ``search_root``."""
    if checkpoint in (None, "scratch"):
        return None
    if checkpoint == "auto":
        if ckpt.is_checkpoint_dir(default):
            print(f"checkpoint: {default} (the output of 02_pretrain)")
            return default
        print(f"note: no pretrained checkpoint at {default} (run 02_pretrain first); fine-tuning from scratch")
        return None
    path = Path(checkpoint)
    if not (ckpt.is_checkpoint_dir(path) or path.is_file()):
        found = find_checkpoints(search_root)
        raise FileNotFoundError(f"checkpoint {checkpoint!r} not found; use 'auto', 'scratch', a released .pth or "
                                f"one of: {', '.join(found) if found else f'(no checkpoints under {search_root}/)'}")
    return str(path)


def results_frame(result):
    """One row per fold (and a mean row) of a :class:`~ssamba_lab.train.FinetuneResult`, in percent."""
    import pandas as pd

    rows = [{"fold": "-" if f.fold is None else f.fold, f"val {result.metric}": 100 * f.best_val,
             f"test {result.metric}": 100 * f.test, "best step": f.best_step, "steps": f.steps} for f in result.folds]
    if len(rows) > 1:
        s = result.summary
        rows.append({"fold": "mean +- std", f"val {result.metric}": 100 * s.val_mean,
                     f"test {result.metric}": f"{100 * s.test_mean:.2f} +- {100 * s.test_std:.2f}"})
    return pd.DataFrame(rows).round(2)


def published_frame(task: str, model_name: str):
    """The published fine-tuning numbers for ``task`` (percent); the row of ``model_name``'s size is marked."""
    import pandas as pd

    if task not in PUBLISHED_TASKS:
        return pd.DataFrame([{"note": f"no published numbers for {task!r}"}])
    size = model_name.rsplit("-", 1)[-1]
    family = "SSAST" if model_name.startswith("ssast") else "SSAMBA"
    return pd.DataFrame([{"system": r["system"], "size": r["size"], "pretrained": "yes" if r["pretrained"] else "no",
                          "published": r["value"],
                          "same size": "<-" if (r["system"], r["size"]) == (family, size) else ""}
                         for r in published(task)])


def side_by_side(left, right, *, titles: tuple[str, str] = ("this run", "published")) -> None:
    """Display two DataFrames next to each other (HTML)."""
    from IPython.display import HTML, display

    cells = "".join(f"<div style='margin-right:2em'><b>{t}</b>{df.to_html(index=False)}</div>"
                    for t, df in zip(titles, (left, right)))
    display(HTML(f"<div style='display:flex;align-items:flex-start'>{cells}</div>"))


def project_path(path: str | None) -> str | None:
    """Relative notebook paths are relative to the project root (the folder holding ``pyproject.toml`` and
    ``notebooks/``), so a notebook gives the same result whether its kernel starts in the root or in
    ``notebooks/``; without such a folder above the working directory they stay relative to it."""
    if path is None or Path(path).is_absolute():
        return path
    cwd = Path.cwd()
    for d in (cwd, *cwd.parents):
        if (d / "pyproject.toml").is_file() and (d / "notebooks").is_dir():
            return str(d / path)
    return path
