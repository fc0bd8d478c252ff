"""Probe metrics: accuracy (single-label) and mean average precision (multi-label)."""
from __future__ import annotations

import numpy as np
import torch


def accuracy(logits: torch.Tensor, target: torch.Tensor) -> float:
    """logits ``[n, C]``, target ``[n]`` class indices -> fraction correct."""
    return float((logits.argmax(1) == target).float().mean())


def mean_average_precision(scores: torch.Tensor, target: torch.Tensor) -> float:
    """scores ``[n, C]``, target ``[n, C]`` in {0, 1} -> mean over classes with at least one positive of the
    average precision (area under the precision-recall step curve, as scikit-learn computes it)."""
    from sklearn.metrics import average_precision_score

    t, s = target.numpy(), scores.float().numpy()
    keep = t.sum(0) > 0
    assert keep.any(), "mAP needs at least one positive label"
    return float(np.mean([average_precision_score(t[:, c], s[:, c]) for c in np.flatnonzero(keep)]))
