"""Fine-tuning losses of the recipes (BCE / CE on soft targets) and the inputs each metric expects."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def task_loss(logits: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """``bce``: BCE-with-logits on (soft, multi-)hot targets; ``ce``: cross-entropy against soft targets (mixup
    safe). Per-second logits ``[b, S, C]``: seconds without any label (past the sequence end) are skipped."""
    logits = logits.float()
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, target)
    assert kind == "ce", f"loss must be 'bce' or 'ce', got {kind!r}"
    per_row = -(target * F.log_softmax(logits, dim=-1)).sum(-1)  # [b] or [b, S]
    valid = target.sum(-1) > 0  # [b] or [b, S]
    return per_row[valid].mean()


def metric_inputs(scores: torch.Tensor, target: torch.Tensor, index: torch.Tensor, metric: str):
    """(scores, targets) as the metric wants them: per-second -> labelled seconds only, with class indices."""
    if metric == "per_second_mAP":
        valid = index >= 0  # [n, S]
        return scores[valid][:, None], index[valid][:, None]  # [m, 1, C], [m, 1]
    if metric == "accuracy":
        return scores, torch.where(index >= 0, index, target.argmax(-1))  # [n, C], [n]
    return scores, target  # mAP: multi-hot [n, C]
