"""The training loop shared by pretraining and fine-tuning.

One optimiser step per batch; the learning rate is set by :class:`~ssamba_lab.train.schedules.LrSchedule`
before every step; validation runs every ``eval_every_steps`` steps (or at each epoch's end) on rank 0 and feeds
the plateau rule / early stopping / model selection; checkpoints (``<run_dir>/last``, ``<run_dir>/best``) hold
the model, the optimiser, the schedule, the position in the data (epoch, batch) and every RNG, so
:meth:`Trainer.fit` with ``resume=True`` continues exactly where an interrupted run stopped.
"""
from __future__ import annotations

import contextlib
import json
import math
import sys
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Literal

import torch
from torch import nn
from tqdm import tqdm

from .. import checkpoint as ckpt
from . import distributed as D
from .batches import BatchSource
from .rng import rng_state, set_rng_state
from .run_log import RunLog
from .schedules import LrSchedule

Precision = Literal["auto", "fp32", "bf16", "fp16"]
StepFn = Callable[[nn.Module, dict], dict]  # (model, batch on device) -> {"loss": scalar tensor, ...}
EvalFn = Callable[[nn.Module], dict]  # (unwrapped model) -> {metric: float}


@dataclass(frozen=True)
class LoopConfig:
    """How long to train and how often to validate / checkpoint / log.

    ``max_steps`` caps the optimiser steps (0 = run all ``epochs``). ``stop_after_steps`` ends ``fit`` after
    that many steps *without* the end-of-run work, as an interruption would (used by the resume test).
    ``select_metric`` (higher is better) picks the ``best`` checkpoint and drives the plateau rule.
    """

    epochs: int = 1
    max_steps: int = 0
    eval_every_steps: int = 0  # 0 = at the end of every epoch
    checkpoint_every_steps: int = 0  # 0 = at every evaluation and at the end
    log_every_steps: int = 10
    grad_clip: float = 0.0  # max global grad norm; 0 = off
    precision: Precision = "auto"  # auto = bf16 on CUDA, fp32 on CPU
    select_metric: str = ""
    keep_best: bool = True
    progress: bool = True
    stop_after_steps: int = 0

    def __post_init__(self):
        assert self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"
        assert self.precision in ("auto", "fp32", "bf16", "fp16"), f"bad precision {self.precision!r}"
        assert self.log_every_steps >= 1, "log_every_steps must be >= 1"

    def to_dict(self) -> dict:
        return asdict(self)


def autocast_dtype(precision: Precision, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``precision`` on ``device`` (None = plain fp32)."""
    if precision == "auto":
        precision = "bf16" if device.type == "cuda" else "fp32"
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


# Settings (leaf names anywhere in ``checkpoint_config``) that may differ when a run is resumed: the step
# budget (train longer), logging / checkpoint / progress cadence, where it runs (device, workers), where the
# data, run directory and caches live (a pre-empted job may restart on another node), and the resume /
# interruption switches. Any other change (lr, batch, model, task, seed, ...) is refused: the restored
# optimiser, schedule and data position would silently override it.
RESUMABLE_CHANGES = frozenset({"max_steps", "epochs", "stop_after_steps", "log_every_steps", "checkpoint_every_steps",
                               "progress", "device", "num_workers", "resume", "run_dir", "data_root",
                               "manifest_dir", "feature_cache"})
_ABSENT = "(absent)"


def config_changes(old: Any, new: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """``(dotted.key, old, new)`` for every leaf that differs between two JSON-like configs."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [c for k in sorted(set(old) | set(new), key=str)
                for c in config_changes(old.get(k, _ABSENT), new.get(k, _ABSENT), f"{prefix}.{k}" if prefix else str(k))]
    return [] if old == new else [(prefix, old, new)]


def to_device(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


class StopTraining(Exception):
    """Raised by a callback to end training at once (an interruption: no final checkpoint is written)."""


@dataclass
class TrainerState:
    step: int = 0  # optimiser steps done
    epoch: int = 0  # current epoch (0-based)
    batch_in_epoch: int = 0  # batches of ``epoch`` already consumed
    best_value: float = -math.inf
    best_step: int = -1
    stopped_early: bool = False
    last_eval_step: int = -1  # kept in checkpoints: re-running a finished run must not evaluate (and log) again


class Trainer:
    """Runs :meth:`fit`. ``model`` is the full module being trained (pretrainer or classifier, not wrapped);
    under torchrun it is wrapped in ``DistributedDataParallel`` here.

    ``checkpoint_config``: what ``config.json`` records (kind, model name, encoder config, stage config).
    """

    def __init__(self, *, model: nn.Module, optimizer: torch.optim.Optimizer, schedule: LrSchedule,
                 train: BatchSource, step_fn: StepFn, evaluate: EvalFn | None, config: LoopConfig,
                 device: torch.device, run_dir: str | Path | None, checkpoint_config: dict,
                 log: RunLog | None = None, seed: int = 0):
        self.model, self.optimizer, self.schedule, self.train = model, optimizer, schedule, train
        self.step_fn, self.evaluate_fn, self.config, self.device = step_fn, evaluate, config, device
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.checkpoint_config, self.seed = checkpoint_config, seed
        self.dist = D.current()
        self.log = log or RunLog(self.run_dir, enabled=self.dist.is_main)
        self.state = TrainerState()
        self.amp_dtype = autocast_dtype(config.precision, device)
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.amp_dtype == torch.float16)
        self.wrapped = model
        if self.dist.enabled:
            ids = [device.index] if device.type == "cuda" else None
            self.wrapped = nn.parallel.DistributedDataParallel(model, device_ids=ids)

    # ---- checkpoints -------------------------------------------------------------------------------------
    def trainer_state(self, rngs: list[dict]) -> dict:
        """Everything besides the weights; ``rngs[r]`` is rank r's RNG state (ranks draw different masks)."""
        return {"loop": asdict(self.state), "optimizer": self.optimizer.state_dict(),
                "schedule": self.schedule.state_dict(), "scaler": self.scaler.state_dict(), "rng": rngs,
                "seed": self.seed, "world_size": self.dist.world_size}

    def save(self, name: str, *, with_trainer_state: bool = True) -> Path | None:
        """Write ``<run_dir>/<name>`` (rank 0 writes; every rank must call it)."""
        path = None
        rngs = D.all_gather_object(rng_state()) if with_trainer_state and self.run_dir is not None else []
        if self.run_dir is not None and self.dist.is_main:
            path = ckpt.save_checkpoint(self.run_dir / name, state_dict=self.model.state_dict(),
                                        config=self.checkpoint_config,
                                        trainer_state=self.trainer_state(rngs) if with_trainer_state else None)
        D.barrier()
        return path

    def load(self, path: str | Path) -> None:
        """Restore model, optimiser, schedule, data position and RNGs from a checkpoint with trainer state."""
        c = ckpt.load_checkpoint(path)
        path = c.path  # the directory actually read (a leftover of an interrupted save, see find_checkpoint)
        if c.trainer_state is None:
            raise ckpt.CheckpointError(f"{path} has no trainer state to resume from")
        self._check_resumable(c.config, path, step=c.trainer_state["loop"]["step"])
        ckpt.load_state_strict(self.model, c.state_dict, source=str(path))
        t = c.trainer_state
        assert t["world_size"] == self.dist.world_size, (
            f"{path} was written by a run on {t['world_size']} process(es); resume it on the same number "
            f"(the data order per rank depends on it), not {self.dist.world_size}")
        self.optimizer.load_state_dict(t["optimizer"])
        self.schedule.load_state_dict(t["schedule"])
        self.scaler.load_state_dict(t["scaler"])
        self.state = TrainerState(**t["loop"])
        set_rng_state(t["rng"][self.dist.rank])
        self.log.truncate_after(self.state.step)

    def _check_resumable(self, saved: dict, path: Path, *, step: int) -> None:
        """Refuse to resume under settings that differ from the checkpoint's, beyond ``RESUMABLE_CHANGES``."""
        now = json.loads(json.dumps({"format": ckpt.FORMAT, **self.checkpoint_config}))  # as config.json holds it
        changes = config_changes(saved, now)
        bad = [(k, a, b) for k, a, b in changes if k.rsplit(".", 1)[-1] not in RESUMABLE_CHANGES]
        if bad:
            raise ckpt.CheckpointError(
                f"cannot resume {path}: the settings differ from the run that wrote it: "
                + "; ".join(f"{k}: {a!r} -> {b!r}" for k, a, b in bad)
                + f". Only {sorted(RESUMABLE_CHANGES)} may change on resume; use a new run directory or "
                "resume=False to start over.")
        budget = [(k, a, b) for k, a, b in changes if k.rsplit(".", 1)[-1] in ("max_steps", "epochs")]
        if budget:  # allowed, but a schedule sized by the run's length (warm-up, cosine) bends from here on
            warnings.warn(f"resuming {path} with a new length ("
                          + "; ".join(f"{k}: {a!r} -> {b!r}" for k, a, b in budget)
                          + "): a learning-rate schedule sized by the run's length follows the new one from "
                          f"step {step} on", stacklevel=3)

    # ---- evaluation --------------------------------------------------------------------------------------
    def evaluate(self) -> dict:
        """Validation metrics on rank 0, shared with every rank; updates plateau / early stop / best."""
        metrics: dict = {}
        if self.evaluate_fn is not None:
            if self.dist.is_main:
                self.model.eval()
                with torch.no_grad(), self._autocast():
                    metrics = self.evaluate_fn(self.model)
                self.model.train()
            metrics = D.broadcast_object(metrics)
        s, c = self.state, self.config
        s.last_eval_step = s.step
        if metrics:
            self.log.log("eval", step=s.step, epoch=s.epoch, **metrics)
        if c.select_metric:
            assert c.select_metric in metrics, f"evaluation returned {sorted(metrics)}, no {c.select_metric!r}"
            value = metrics[c.select_metric]
            s.stopped_early = self.schedule.observe(value)
            if value > s.best_value:
                s.best_value, s.best_step = value, s.step
                if c.keep_best:
                    self.save("best", with_trainer_state=False)
        return metrics

    def _autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    # ---- training ----------------------------------------------------------------------------------------
    def total_steps(self) -> int:
        n = self.config.epochs * self.train.num_batches()
        return min(n, self.config.max_steps) if self.config.max_steps else n

    def _optimizer_step(self, out: dict) -> None:
        self.schedule.apply(self.state.step, self.state.epoch)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(out["loss"]).backward()
        if self.config.grad_clip > 0:
            self.scaler.unscale_(self.optimizer)
            params = [p for g in self.optimizer.param_groups for p in g["params"] if p.grad is not None]
            out["grad_norm"] = torch.nn.utils.clip_grad_norm_(params, self.config.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()

    def fit(self, *, resume: bool | str | Path = False, callbacks: list[Callable[["Trainer", dict], None]] = ()) -> TrainerState:
        """Train until ``epochs`` / ``max_steps`` / early stopping. ``resume=True`` continues from
        ``<run_dir>/last`` when it exists; a path resumes from that checkpoint."""
        if resume is True and self.run_dir is not None and ckpt.is_checkpoint_dir(self.run_dir / "last"):
            self.load(self.run_dir / "last")
        elif resume and resume is not True:
            self.load(resume)  # an explicit checkpoint must exist: load_checkpoint raises naming it
        elif self.dist.is_main:
            # starting over (also resume=True with nothing saved yet): records of an earlier run here go
            self.log.truncate_after(-1)
        c, s = self.config, self.state
        total, per_epoch = self.total_steps(), self.train.num_batches()
        assert per_epoch > 0, "the training data gives no batch per epoch (fewer clips than one batch?)"
        self.model.train()
        bar = tqdm(total=total, initial=s.step, disable=not (c.progress and self.dist.is_main), file=sys.stderr,
                   mininterval=2.0, desc="train", dynamic_ncols=True)
        window: dict[str, list[float]] = {}
        self.interrupted = interrupted = False
        try:
            while s.step < total and s.epoch < c.epochs and not s.stopped_early:
                if s.batch_in_epoch >= per_epoch:
                    s.epoch, s.batch_in_epoch = s.epoch + 1, 0
                    continue
                for batch in self.train.batches(epoch=s.epoch, start=s.batch_in_epoch):
                    batch = to_device(batch, self.device)
                    with self._autocast():
                        out = self.step_fn(self.wrapped, batch)
                    self._optimizer_step(out)
                    s.step, s.batch_in_epoch = s.step + 1, s.batch_in_epoch + 1
                    for k, v in out.items():
                        window.setdefault(k, []).append(float(v.detach()) if torch.is_tensor(v) else float(v))
                    bar.update(1)
                    if s.step % c.log_every_steps == 0 or s.step == total:
                        self._log_window(window)
                        bar.set_postfix(loss=f"{self.log.records[-1].get('loss', float('nan')):.4f}", refresh=False)
                    epoch_end = s.batch_in_epoch >= per_epoch
                    evaluated = False
                    if (c.eval_every_steps and s.step % c.eval_every_steps == 0) or (not c.eval_every_steps and epoch_end):
                        self.evaluate()
                        evaluated = True
                    if (c.checkpoint_every_steps and s.step % c.checkpoint_every_steps == 0) or (
                            not c.checkpoint_every_steps and evaluated):
                        self.save("last")
                    for cb in callbacks:
                        cb(self, out)
                    if c.stop_after_steps and s.step >= c.stop_after_steps:
                        raise StopTraining(f"stop_after_steps={c.stop_after_steps}")
                    if s.step >= total or s.stopped_early:
                        break
                else:
                    continue
                break
        except StopTraining:
            self.interrupted = interrupted = True
        finally:
            bar.close()
        if not interrupted:
            if window:
                self._log_window(window)
            if self.evaluate_fn is not None and s.last_eval_step != s.step:
                self.evaluate()  # runs capped by max_steps end between evaluations: score the final weights too
            self.save("last")
        return self.state

    def _log_window(self, window: dict[str, list[float]]) -> None:
        """Mean of the values since the last log line (averaged over ranks), plus the current lr."""
        if not window:
            return
        keys = sorted(window)
        means = torch.tensor([sum(window[k]) / len(window[k]) for k in keys], dtype=torch.float64)
        means = D.all_reduce_mean(means.to(self.device)).cpu()
        lr = self.optimizer.param_groups[0]["lr"]
        self.log.log("train", step=self.state.step, epoch=self.state.epoch, lr=lr,
                     **{k: float(v) for k, v in zip(keys, means)})
        window.clear()
