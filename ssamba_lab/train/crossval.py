"""Cross-validation bookkeeping: which folds run, and the mean / spread of their test metrics."""
from __future__ import annotations

import math
from dataclasses import dataclass

from ssamba_lab.tasks import TaskRecipe


@dataclass
class FoldResult:
    fold: int | None  # None: a task without cross-validation
    best_val: float  # validation metric of the selected checkpoint
    best_step: int
    test: float  # test metric of the selected checkpoint
    steps: int
    stopped_early: bool = False


@dataclass
class CvSummary:
    n: int
    test_mean: float
    test_std: float  # sample std over folds (0 for one fold)
    val_mean: float


def folds_to_run(recipe: TaskRecipe, requested: tuple[int, ...] | list[int]) -> list[int | None]:
    """``[None]`` for tasks without CV; else the requested folds (default: all), each checked."""
    if recipe.cv_protocol == "none":
        assert not requested, f"task {recipe.name!r} has no cross-validation folds; got folds={list(requested)}"
        return [None]
    folds = list(requested) or list(recipe.folds)
    bad = [f for f in folds if f not in recipe.folds]
    assert not bad, f"task {recipe.name!r}: folds {bad} not in {list(recipe.folds)}"
    return folds


def mean_std(values: list[float]) -> tuple[float, float]:
    n = len(values)
    assert n > 0, "no values"
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return mean, std


def summarize(results: list[FoldResult]) -> CvSummary:
    test_mean, test_std = mean_std([r.test for r in results])
    val_mean, _ = mean_std([r.best_val for r in results])
    return CvSummary(n=len(results), test_mean=test_mean, test_std=test_std, val_mean=val_mean)
