"""Several probe seeds: mean and the 95% confidence interval of the mean (Student t)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .probe import ProbeConfig, ProbeResult, Split, train_probe


def mean_ci95(scores: list[float]) -> tuple[float, float]:
    """``(mean, half_width)``: the mean +- half_width is the two-sided 95% t-interval (0 for one score)."""
    from scipy.stats import t

    n = len(scores)
    assert n >= 1, "no scores"
    mean = sum(scores) / n
    if n == 1:
        return mean, 0.0
    sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / (n - 1))
    return mean, float(t.ppf(0.975, n - 1)) * sd / math.sqrt(n)


@dataclass
class SeedSummary:
    scores: list[float]
    results: list[ProbeResult] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return mean_ci95(self.scores)[0]

    @property
    def ci95(self) -> float:
        return mean_ci95(self.scores)[1]

    def __str__(self) -> str:
        return f"{100 * self.mean:.1f} +- {100 * self.ci95:.1f} (n={len(self.scores)})"


def probe_over_seeds(train: Split, validation: Split, test: Split, *, num_classes: int, multilabel: bool,
                     seeds: list[int], config: ProbeConfig = ProbeConfig()) -> SeedSummary:
    """One probe per seed on the same embeddings; the test scores summarised."""
    results = [train_probe(train, validation, test, num_classes=num_classes, multilabel=multilabel, config=config,
                           seed=s) for s in seeds]
    return SeedSummary(scores=[r.test for r in results], results=results)
