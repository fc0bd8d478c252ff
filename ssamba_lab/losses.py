"""Pretraining objectives: InfoNCE (SSAMBA Eq. 9), masked MSE (Eq. 10), the joint loss, SSAM's reconstruction."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def info_nce(pred: torch.Tensor, target: torch.Tensor, *, negatives: str = "clip") -> tuple[torch.Tensor, torch.Tensor]:
    """Discriminative loss over masked patches.

    pred: ``[batch, M, P]`` predictions ``c_i`` at the masked positions; target: ``[batch, M, P]`` true patches.
    Each prediction is scored against candidate targets by a dot product (no temperature, no normalisation, as
    in the paper); with ``negatives='clip'`` the candidates are the masked patches of the same clip, with
    ``'batch'`` those of the whole batch. Returns (mean cross-entropy of the true target, accuracy).
    """
    assert pred.shape == target.shape, f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ"
    b, m, _ = pred.shape
    if negatives == "clip":
        logits = torch.einsum("bip,bjp->bij", pred.float(), target.float())  # [b, M, M]
        labels = torch.arange(m, device=pred.device).expand(b, m)  # [b, M]
        loss = F.cross_entropy(logits.flatten(0, 1), labels.flatten())
        acc = (logits.argmax(-1) == labels).float().mean()
    elif negatives == "batch":
        logits = pred.flatten(0, 1).float() @ target.flatten(0, 1).float().T  # [b*M, b*M]
        labels = torch.arange(b * m, device=pred.device)  # [b*M]
        loss = F.cross_entropy(logits, labels)
        acc = (logits.argmax(-1) == labels).float().mean()
    else:
        raise ValueError(f"negatives must be 'clip' or 'batch', got {negatives!r}")
    return loss, acc


def masked_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Generative loss: mean squared error over masked patches. pred, target: ``[batch, M, P]``."""
    assert pred.shape == target.shape, f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ"
    return F.mse_loss(pred.float(), target.float())


def joint_loss(loss_d: torch.Tensor, loss_g: torch.Tensor, lambda_g: float = 10.0) -> torch.Tensor:
    """SSAMBA / SSAST joint objective ``L = L_d + lambda * L_g``."""
    return loss_d + lambda_g * loss_g


def reconstruction_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, *, masked_only: bool = False,
                        norm_target: bool = False, eps: float = 1e-6) -> torch.Tensor:
    """SSAM's MSE on patches. pred, target: ``[batch, N, P]``; mask: ``[batch, N]`` bool.

    ``norm_target`` normalises each target patch to zero mean / unit variance (MAE's ``norm_pix_loss``).
    """
    target = target.float()
    if norm_target:
        mean, var = target.mean(-1, keepdim=True), target.var(-1, keepdim=True)
        target = (target - mean) / (var + eps).sqrt()
    per_patch = ((pred.float() - target) ** 2).mean(-1)  # [b, N]
    if masked_only:
        w = mask.float()
        return (per_patch * w).sum() / w.sum().clamp(min=1.0)
    return per_patch.mean()
