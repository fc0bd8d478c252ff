"""Evaluation metrics of the recipes: accuracy, mAP (AudioSet), per-second mAP (DASL).

All take ``scores``/``targets`` as tensors; targets may be class indices ``[n]`` or (multi-)hot ``[n, C]``.
"""
from __future__ import annotations

import torch


def _hot(targets: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``[n]`` indices -> ``[n, C]`` one-hot; ``[n, C]`` soft/hot targets are returned as they are."""
    if targets.dim() == 1:
        return torch.nn.functional.one_hot(targets.long(), num_classes).float()  # [n, C]
    return targets.float()


def accuracy(scores: torch.Tensor, targets: torch.Tensor) -> float:
    """Top-1 accuracy in [0, 1]. scores ``[n, C]``; targets ``[n]`` indices or ``[n, C]`` (argmax taken)."""
    assert scores.dim() == 2 and scores.shape[0] == targets.shape[0], (
        f"scores {tuple(scores.shape)} and targets {tuple(targets.shape)} do not pair up")
    labels = targets.argmax(-1) if targets.dim() == 2 else targets.long()  # [n]
    return float((scores.argmax(-1) == labels).float().mean())


def average_precision(scores: torch.Tensor, positives: torch.Tensor) -> float:
    """Average precision of one class (sklearn's definition: sum over distinct thresholds of
    ``(R_k - R_{k-1}) * P_k``, ties grouped). scores ``[n]``, positives ``[n]`` bool. NaN without positives."""
    positives = positives.bool()
    n_pos = int(positives.sum())
    if n_pos == 0:
        return float("nan")
    order = torch.argsort(scores, descending=True, stable=True)  # [n]
    s, p = scores[order].double(), positives[order].double()  # [n] each
    tp = torch.cumsum(p, 0)  # [n]
    # the last index of each group of tied scores is where a threshold ends
    last = torch.ones_like(s, dtype=torch.bool)  # [n]
    last[:-1] = s[1:] != s[:-1]
    tp, rank = tp[last], (torch.arange(len(s), dtype=torch.float64) + 1)[last]  # [k] each
    precision, recall = tp / rank, tp / n_pos  # [k] each
    d_recall = torch.diff(recall, prepend=torch.zeros(1, dtype=torch.float64))  # [k]
    return float((d_recall * precision).sum())


def mean_average_precision(scores: torch.Tensor, targets: torch.Tensor) -> float:
    """mAP over the classes that have at least one positive. scores ``[n, C]``; targets ``[n]`` or ``[n, C]``."""
    assert scores.dim() == 2, f"scores must be [n, classes], got {tuple(scores.shape)}"
    hot = _hot(targets, scores.shape[1]) > 0.5  # [n, C]
    aps = [average_precision(scores[:, c], hot[:, c]) for c in range(scores.shape[1]) if bool(hot[:, c].any())]
    assert aps, "mAP needs at least one positive target"
    return float(sum(aps) / len(aps))


def per_second_map(scores: torch.Tensor, targets: torch.Tensor) -> float:
    """DASL: every second of every sequence is one sample. scores ``[n, S, C]``; targets ``[n, S]`` or
    ``[n, S, C]``."""
    assert scores.dim() == 3, f"per-second scores must be [n, seconds, classes], got {tuple(scores.shape)}"
    flat_t = targets.flatten(0, 1)  # [n*S] or [n*S, C]
    return mean_average_precision(scores.flatten(0, 1), flat_t)


METRICS = {"accuracy": accuracy, "mAP": mean_average_precision, "per_second_mAP": per_second_map}


def compute_metric(name: str, scores: torch.Tensor, targets: torch.Tensor) -> float:
    """The recipe metric ``name`` (``accuracy`` | ``mAP`` | ``per_second_mAP``), in [0, 1]."""
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}; valid: {', '.join(METRICS)}")
    return METRICS[name](scores, targets)
