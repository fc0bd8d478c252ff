"""SSAM's MLP probe (the HEAR evaluation kit's predictor): one hidden layer of 1024 with BatchNorm and dropout,
Adam at 1e-4, early stopping on the validation score, the best validation epoch scored on test."""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config_checks import check_device, check_field_types, check_non_negative, check_positive
from .metrics import accuracy, mean_average_precision


@dataclass(frozen=True)
class ProbeConfig:
    hidden: int = 1024
    dropout: float = 0.1  # SSAM uses 0.1 or 0.25
    lr: float = 1e-4
    batch_size: int = 1024
    max_epochs: int = 500
    patience: int = 20  # epochs without a better validation score before stopping
    standardize: bool = False  # z-score the embeddings with train-split statistics
    device: str = "cpu"

    def __post_init__(self):
        check_field_types(self)
        check_positive(self, "hidden", "lr", "batch_size", "max_epochs")
        check_non_negative(self, "patience")
        assert 0.0 <= self.dropout < 1.0, f"ProbeConfig.dropout is a probability in [0, 1), got {self.dropout!r}"
        check_device(self, auto=False)  # train_probe hands it to torch.device as it is


class MLPProbe(nn.Module):
    """``Linear(D, hidden) -> BatchNorm -> Dropout -> ReLU -> Linear(hidden, C)`` (xavier-initialised)."""

    def __init__(self, *, dim: int, num_classes: int, hidden: int = 1024, dropout: float = 0.1):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.BatchNorm1d(hidden), nn.Dropout(dropout), nn.ReLU(),
                                 nn.Linear(hidden, num_classes))
        for m in self.net:
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x ``[batch, D]`` -> logits ``[batch, classes]``."""
        return self.net(x)


@dataclass(frozen=True)
class ProbeResult:
    validation: float
    test: float
    best_epoch: int
    epochs_run: int


Split = tuple[torch.Tensor, torch.Tensor]  # (embeddings [n, D], targets [n] int64 or [n, C] multi-hot)


def train_probe(train: Split, validation: Split, test: Split, *, num_classes: int, multilabel: bool,
                config: ProbeConfig = ProbeConfig(), seed: int = 0) -> ProbeResult:
    """Fit a probe on ``train``; keep the epoch with the best ``validation`` score; report it on ``test``.
    Score: accuracy (single-label, cross-entropy) or mAP (multi-label, BCE)."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # layer initialisation
    (xtr, ytr), (xva, yva), (xte, yte) = train, validation, test
    assert xtr.shape[0] > 1, "the probe needs at least two training examples (BatchNorm)"
    if config.standardize:
        mu, sd = xtr.mean(0, keepdim=True), xtr.std(0, keepdim=True).clamp_min(1e-6)  # [1, D]
        xtr, xva, xte = ((x - mu) / sd for x in (xtr, xva, xte))
    dev = torch.device(config.device)
    model = MLPProbe(dim=xtr.shape[1], num_classes=num_classes, hidden=config.hidden, dropout=config.dropout).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    loss_fn = (lambda z, y: F.binary_cross_entropy_with_logits(z, y.float())) if multilabel else F.cross_entropy
    score_fn = mean_average_precision if multilabel else accuracy

    def score(x: torch.Tensor, y: torch.Tensor) -> float:
        model.eval()
        with torch.no_grad():
            return score_fn(model(x.to(dev)).cpu(), y)

    best, best_state, best_epoch, epoch = -float("inf"), None, -1, 0
    for epoch in range(config.max_epochs):
        model.train()
        order = torch.randperm(xtr.shape[0], generator=g)
        for i in range(0, len(order), config.batch_size):
            idx = order[i:i + config.batch_size]
            if len(idx) < 2:  # BatchNorm cannot train on a single example
                continue
            loss = loss_fn(model(xtr[idx].to(dev)), ytr[idx].to(dev))
            opt.zero_grad()
            loss.backward()
            opt.step()
        val = score(xva, yva)
        if val > best:
            best, best_state, best_epoch = val, copy.deepcopy(model.state_dict()), epoch
        elif epoch - best_epoch >= config.patience:
            break
    model.load_state_dict(best_state)
    return ProbeResult(validation=best, test=score(xte, yte), best_epoch=best_epoch, epochs_run=epoch + 1)
