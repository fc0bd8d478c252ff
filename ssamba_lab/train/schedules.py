"""Learning-rate schedules of the papers' recipes, as one stateful object driven by (step, epoch).

The learning rate of every parameter group is ``group["base_lr"] * warmup(step) * decay(step, epoch) * plateau``:

* ``warmup``: linear ramp from ``1/warmup_steps`` to 1 over the first ``warmup_steps`` optimiser steps;
* ``decay``: ``step`` = ``factor ** (1 + (epoch - start) // every)`` once ``start`` epochs are done (0-based
  ``epoch >= start``), which is the originals' ``MultiStepLR(milestones=range(start, 1000, every))`` stepped
  after every epoch (SSAMBA fine-tuning: x0.85 per epoch from 5, x0.75 every 10 from 15, ...); ``cosine`` = half cosine to
  ``min_lr_ratio`` over ``total_steps`` after the warm-up (SSAM); ``constant``;
* ``plateau``: :class:`PlateauScale`, the ``ReduceLROnPlateau`` rule as a multiplicative scale so it composes
  with the warm-up (SSAMBA pretraining), plus early stopping after ``early_stop_evals`` evaluations without
  improvement.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import torch

from ssamba_lab.config_checks import check_field_types, check_non_negative

Decay = Literal["constant", "step", "cosine"]


@dataclass(frozen=True)
class ScheduleConfig:
    """Everything the learning rate depends on (``epoch`` is 0-based; step decay applies from epoch
    ``decay_start`` on, i.e. after ``decay_start`` complete epochs)."""

    warmup_steps: int = 0
    decay: Decay = "constant"
    decay_start: int = 0
    decay_every: int = 1
    decay_factor: float = 1.0
    total_steps: int = 0  # cosine only
    min_lr_ratio: float = 0.0  # cosine only
    plateau: bool = False
    plateau_factor: float = 0.5
    plateau_patience: int = 2
    plateau_threshold: float = 1e-4  # relative, as torch's default
    early_stop_evals: int = 0  # 0 = never stop early

    def __post_init__(self):
        check_field_types(self)
        check_non_negative(self, "decay_start", "decay_factor", "total_steps", "min_lr_ratio", "plateau_patience",
                           "plateau_threshold", "early_stop_evals")
        assert self.decay in ("constant", "step", "cosine"), f"decay must be constant|step|cosine, got {self.decay!r}"
        assert self.warmup_steps >= 0 and self.decay_every >= 1, "warmup_steps >= 0 and decay_every >= 1"
        assert self.decay != "cosine" or self.total_steps > self.warmup_steps, (
            f"cosine decay needs total_steps ({self.total_steps}) > warmup_steps ({self.warmup_steps})")
        assert 0.0 < self.plateau_factor < 1.0, f"plateau_factor must be in (0, 1), got {self.plateau_factor}"

    def to_dict(self) -> dict:
        return asdict(self)


class PlateauScale:
    """``torch.optim.lr_scheduler.ReduceLROnPlateau(mode='max', threshold_mode='rel', cooldown=0)`` reduced
    to the scale it applies, plus an early-stopping counter.

    :meth:`observe` takes one validation value (higher is better) and returns True when training should stop.
    """

    def __init__(self, *, factor: float, patience: int, threshold: float, early_stop_evals: int):
        self.factor, self.patience, self.threshold, self.early_stop_evals = factor, patience, threshold, early_stop_evals
        self.scale, self.best, self.bad_evals, self.evals_since_best = 1.0, -math.inf, 0, 0

    def observe(self, value: float) -> bool:
        if value > self.best * (1.0 + self.threshold):  # torch's rule verbatim (also for negative values)
            self.best, self.bad_evals, self.evals_since_best = value, 0, 0
        else:
            self.bad_evals += 1
            self.evals_since_best += 1
        if self.bad_evals > self.patience:
            self.scale *= self.factor
            self.bad_evals = 0
        return self.early_stop_evals > 0 and self.evals_since_best >= self.early_stop_evals

    def state_dict(self) -> dict:
        return {"scale": self.scale, "best": self.best, "bad_evals": self.bad_evals,
                "evals_since_best": self.evals_since_best}

    def load_state_dict(self, state: dict) -> None:
        self.scale, self.best = state["scale"], state["best"]
        self.bad_evals, self.evals_since_best = state["bad_evals"], state["evals_since_best"]


class LrSchedule:
    """Sets the learning rate of every group of ``optimizer`` from ``group['base_lr']`` (set at construction
    from the group's ``lr``) and the current step/epoch. Call :meth:`apply` before each optimiser step."""

    def __init__(self, optimizer: torch.optim.Optimizer, config: ScheduleConfig):
        self.optimizer, self.config = optimizer, config
        for group in optimizer.param_groups:
            group.setdefault("base_lr", group["lr"])
        self.plateau = PlateauScale(factor=config.plateau_factor, patience=config.plateau_patience,
                                    threshold=config.plateau_threshold, early_stop_evals=config.early_stop_evals)

    def factor(self, step: int, epoch: int) -> float:
        """Multiplier of the base lr for optimiser step ``step`` (0-based) in epoch ``epoch`` (0-based)."""
        c = self.config
        f = min(1.0, (step + 1) / c.warmup_steps) if c.warmup_steps > 0 else 1.0
        if c.decay == "step" and epoch >= c.decay_start:
            f *= c.decay_factor ** (1 + (epoch - c.decay_start) // c.decay_every)
        elif c.decay == "cosine" and step >= c.warmup_steps:
            progress = min(1.0, (step - c.warmup_steps) / (c.total_steps - c.warmup_steps))
            f *= c.min_lr_ratio + (1.0 - c.min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))
        if c.plateau:
            f *= self.plateau.scale
        return f

    def apply(self, step: int, epoch: int) -> float:
        """Write the lr of every group for this step; returns the factor."""
        f = self.factor(step, epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = group["base_lr"] * f
        return f

    def observe(self, value: float) -> bool:
        """Feed a validation value to the plateau rule (no-op unless ``plateau``); True = stop early."""
        if not self.config.plateau:
            return False
        return self.plateau.observe(value)

    def state_dict(self) -> dict:
        return {"plateau": self.plateau.state_dict(),
                "base_lrs": [g["base_lr"] for g in self.optimizer.param_groups]}

    def load_state_dict(self, state: dict) -> None:
        self.plateau.load_state_dict(state["plateau"])
        for group, lr in zip(self.optimizer.param_groups, state["base_lrs"]):
            group["base_lr"] = lr
