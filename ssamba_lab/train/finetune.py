"""Fine-tuning (or linear probing) on a task of the registry, from our checkpoints, released ones, or scratch.

Recipe (SSAMBA_FACTS section 7): Adam, wd 5e-7, betas (0.95, 0.999), the task's lr (head x ``head_lr_mult``),
epochs, batch, frames, strides, SpecAugment / mixup / noise, step decay (with warm-up for ks), BCE (as, ks) or
CE (esc, dasl, ...), metric accuracy / mAP / per-second mAP. Model selection on the validation split, never on
test: the epoch with the best validation metric is kept (``<run_dir>/best``) and only it is scored on test.
Cross-validated tasks (esc, dasl, er) run every requested fold (``<run_dir>/fold<k>``) and report mean and std.

    python -m ssamba_lab.train.finetune --task ks1 --data-root data/demo --checkpoint runs/pretrain/best
    torchrun --nproc-per-node 2 -m ssamba_lab.train.finetune --task ks1 ...
"""
from __future__ import annotations

import dataclasses
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Literal

import torch
from ssamba_lab import checkpoint as ckpt
from ssamba_lab.config_checks import check_device, check_field_types, check_non_negative, check_positive
from ssamba_lab.tasks import TaskRecipe, get_task

from . import distributed as D
from .classifier import FinetuneModel
from .crossval import CvSummary, FoldResult, folds_to_run, summarize
from .data import class_spread_subset, eval_loader, split_dataset, train_source
from .init_from import GEOMETRY_FIELDS, InitSource, build_finetune_encoder, resolve_init
from .loop import LoopConfig, Trainer, to_device
from .metrics import compute_metric
from .rng import seed_everything
from .run_log import RunLog
from .schedules import LrSchedule, ScheduleConfig
from .task_loss import metric_inputs, task_loss

Mode = Literal["full", "linear"]


@dataclass(frozen=True)
class FinetuneConfig:
    """One fine-tuning experiment. ``recipe_overrides``: fields of the task's :class:`TaskRecipe` (``epochs``,
    ``batch_size``, ``lr``, ``target_frames``, ``tstride``, ``mixup``, ...). ``checkpoint``: our checkpoint
    directory, a released ``.pth``, or ``None`` for the papers' "Pretrained: No" rows (then ``model`` +
    ``model_overrides`` define the encoder; with a checkpoint only geometry fields may be overridden)."""

    task: str = "ks1"
    checkpoint: str | None = None
    model: str = "ssamba-tiny"
    model_overrides: dict = field(default_factory=dict)
    recipe_overrides: dict = field(default_factory=dict)
    mode: Mode = "full"  # full fine-tuning, or "linear": frozen encoder, trained head
    head_lr_mult: float | None = None  # None = the recipe's
    pool: str = "mean"
    folds: tuple[int, ...] = ()  # cross-validated tasks: folds to run (() = all of the recipe's)
    train_clips: int = 0  # N training clips spread evenly over classes (0 = all): label-scarce experiments
    data_root: str = "data/demo"
    run_dir: str = "runs/finetune"
    manifest_dir: str | None = None
    feature_cache: str | None = None  # folder for cached fbanks (None: computed every time)
    device: str = "auto"
    precision: str = "auto"
    max_steps: int = 0  # per fold; 0 = the recipe's epochs
    grad_clip: float = 0.0  # the originals do not clip
    num_workers: int = 0
    seed: int = 0
    log_every_steps: int = 10
    checkpoint_every_steps: int = 0  # 0 = at every evaluation
    progress: bool = True
    resume: bool = True
    stop_after_steps: int = 0

    def __post_init__(self):
        check_field_types(self)
        assert self.mode in ("full", "linear"), f"mode must be 'full' or 'linear', got {self.mode!r}"
        assert self.max_steps >= 0, f"FinetuneConfig.max_steps must be >= 0 (0: the recipe's epochs), got {self.max_steps}"
        assert self.train_clips >= 0, f"FinetuneConfig.train_clips must be >= 0 (0: all), got {self.train_clips}"
        check_positive(self, "head_lr_mult", "log_every_steps")
        check_non_negative(self, "grad_clip", "num_workers", "checkpoint_every_steps", "stop_after_steps")
        check_device(self)

    def replace(self, **changes) -> "FinetuneConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)


# ---- evaluation ---------------------------------------------------------------------------------------
def make_evaluate(loader, *, recipe: TaskRecipe, prefix: str) -> Callable:
    """``{prefix}metric`` (the recipe's metric, in [0, 1]) and ``{prefix}loss`` over a whole split."""

    def evaluate(model: FinetuneModel) -> dict:
        device = next(model.parameters()).device
        scores, targets, indices, loss_sum, n = [], [], [], 0.0, 0
        for batch in loader:
            b = to_device(batch, device)
            logits = model(b["fbank"]).float()  # [b, C] or [b, S, C]
            loss_sum += float(task_loss(logits, b["target"], recipe.loss)) * logits.shape[0]
            n += logits.shape[0]
            scores.append(logits.cpu())
            targets.append(b["target"].cpu())
            indices.append(b["index"].cpu())
        assert n > 0, f"{prefix}: empty split"
        s, t = metric_inputs(torch.cat(scores), torch.cat(targets), torch.cat(indices), recipe.metric)
        return {f"{prefix}metric": compute_metric(recipe.metric, s, t), f"{prefix}loss": loss_sum / n}

    return evaluate


# ---- building ------------------------------------------------------------------------------------------
def finetune_recipe(config: FinetuneConfig) -> TaskRecipe:
    recipe = get_task(config.task, **config.recipe_overrides)
    assert recipe.loss in ("bce", "ce"), f"task {config.task!r} is not a fine-tuning task (loss {recipe.loss!r})"
    return recipe


def resolve_config_init(config: FinetuneConfig) -> InitSource:
    if config.checkpoint is not None:
        bad = sorted(set(config.model_overrides) - set(GEOMETRY_FIELDS))
        assert not bad, (f"with a checkpoint the architecture comes from the checkpoint; model_overrides may set "
                         f"only {GEOMETRY_FIELDS}, got {bad}")
    init = resolve_init(config.checkpoint, model=config.model, model_overrides=config.model_overrides)
    if config.checkpoint is not None and config.model not in (FinetuneConfig.model, init.model_name):
        # the default model name is always there; another one was asked for and is not what the checkpoint holds
        warnings.warn(f"model={config.model!r} is ignored: the architecture comes from the checkpoint "
                      f"{config.checkpoint} ({init.model_name})", stacklevel=2)
    return init


def build_model(config: FinetuneConfig, recipe: TaskRecipe, init: InitSource, num_classes: int) -> FinetuneModel:
    geometry = dict(input_tdim=recipe.target_frames, fstride=recipe.fstride, tstride=recipe.tstride)
    geometry.update({k: v for k, v in config.model_overrides.items() if k in GEOMETRY_FIELDS})
    encoder = build_finetune_encoder(init, **geometry)
    return FinetuneModel(encoder=encoder, num_classes=num_classes, num_seconds=recipe.sequence_seconds,
                         pool=config.pool, frozen_encoder=config.mode == "linear")


def make_optimizer(model: FinetuneModel, recipe: TaskRecipe, head_lr_mult: float) -> torch.optim.Optimizer:
    """Adam (the originals': L2 weight decay, not AdamW) with the encoder at ``lr`` and the head at
    ``lr * head_lr_mult``; a frozen encoder has no group."""
    groups = [{"params": list(model.head.parameters()), "lr": recipe.lr * head_lr_mult}]
    enc = [p for p in model.encoder.parameters() if p.requires_grad]
    if enc:
        groups.insert(0, {"params": enc, "lr": recipe.lr})
    return torch.optim.Adam(groups, lr=recipe.lr, weight_decay=recipe.weight_decay, betas=tuple(recipe.betas))


def schedule_config(recipe: TaskRecipe) -> ScheduleConfig:
    assert recipe.lr_schedule in ("step", "warmup_step"), f"fine-tuning schedule {recipe.lr_schedule!r} unknown"
    return ScheduleConfig(warmup_steps=recipe.warmup_steps if recipe.lr_schedule == "warmup_step" else 0,
                          decay="step", decay_start=recipe.lr_decay_start, decay_every=recipe.lr_decay_every,
                          decay_factor=recipe.lr_decay_factor)


# ---- running -------------------------------------------------------------------------------------------
@dataclass
class FinetuneResult:
    task: str
    metric: str
    model_name: str
    pretrained: bool
    mode: str
    folds: list[FoldResult]
    summary: CvSummary
    run_dir: Path
    history: list[dict]  # metric records of every fold (each with "fold")

    def to_dict(self) -> dict:
        return {"task": self.task, "metric": self.metric, "model_name": self.model_name,
                "pretrained": self.pretrained, "mode": self.mode, "folds": [asdict(f) for f in self.folds],
                "summary": asdict(self.summary), "run_dir": str(self.run_dir)}


def run_fold(config: FinetuneConfig, recipe: TaskRecipe, init: InitSource, fold: int | None, run_dir: Path,
             info: D.DistInfo, device: torch.device, log_callbacks: list, callbacks: list) -> tuple[FoldResult, list]:
    seed_everything(config.seed + info.rank)
    common = dict(data_root=config.data_root, fold=fold, manifest_dir=config.manifest_dir,
                  cache_dir=config.feature_cache)
    train_ds = class_spread_subset(split_dataset(recipe, split="train", **common), config.train_clips)
    val_ds = split_dataset(recipe, split="validation", **common)
    test_ds = split_dataset(recipe, split="test", **common)
    labels = getattr(val_ds, "labels", None)
    num_classes = len(labels) if labels is not None else recipe.num_classes
    model = build_model(config, recipe, init, num_classes).to(device)
    per_rank_batch = recipe.batch_size // info.world_size
    assert per_rank_batch * info.world_size == recipe.batch_size, (
        f"batch_size {recipe.batch_size} is the global batch; it must divide by the {info.world_size} ranks")
    source = train_source(train_ds, recipe=recipe, batch_size=per_rank_batch, seed=config.seed, dist=info,
                          num_workers=config.num_workers, balanced=recipe.balanced_sampling)
    optimizer = make_optimizer(model, recipe, config.head_lr_mult if config.head_lr_mult is not None else recipe.head_lr_mult)
    schedule = LrSchedule(optimizer, schedule_config(recipe))
    fold_tag = {} if fold is None else {"fold": fold}
    log = RunLog(run_dir, enabled=info.is_main,
                 callbacks=[(lambda r, cb=cb: cb({**r, **fold_tag})) for cb in log_callbacks])
    loop = LoopConfig(epochs=recipe.epochs, max_steps=config.max_steps, eval_every_steps=recipe.eval_every_steps,
                      checkpoint_every_steps=config.checkpoint_every_steps, log_every_steps=config.log_every_steps,
                      grad_clip=config.grad_clip, precision=config.precision, select_metric="val_metric", progress=config.progress, stop_after_steps=config.stop_after_steps)
    eval_bs = max(1, per_rank_batch)
    ckpt_config = {"kind": "classifier", "model_name": init.model_name, "encoder": model.encoder.config.to_dict(),
                   "head": {"num_classes": num_classes, "pool": config.pool, "num_seconds": recipe.sequence_seconds},
                   "task": recipe.name, "fold": fold, "finetune": config.to_dict(), "init": init.description}
    trainer = Trainer(model=model, optimizer=optimizer, schedule=schedule, train=source,
                      step_fn=lambda m, b: {"loss": task_loss(m(b["fbank"]), b["target"], recipe.loss)},
                      evaluate=make_evaluate(eval_loader(val_ds, batch_size=eval_bs), recipe=recipe, prefix="val_"),
                      config=loop, device=device, run_dir=run_dir, checkpoint_config=ckpt_config, log=log,
                      seed=config.seed)
    state = trainer.fit(resume=config.resume, callbacks=list(callbacks))
    if trainer.interrupted:  # stopped like a crash would: no test score
        log.close()
        return FoldResult(fold=fold, best_val=state.best_value, best_step=state.best_step, test=float("nan"),
                          steps=state.step), list(log.records)
    # model selection: the best validation epoch's weights, scored once on test
    best = run_dir / "best"
    if ckpt.is_checkpoint_dir(best):
        ckpt.load_state_strict(model, ckpt.load_checkpoint(best, with_trainer_state=False).state_dict,
                               source=str(best))
    test = {}
    if info.is_main:
        model.eval()
        with torch.no_grad():
            test = make_evaluate(eval_loader(test_ds, batch_size=eval_bs), recipe=recipe, prefix="test_")(model)
        log.log("test", step=state.step, epoch=state.epoch, **test)
    test = D.broadcast_object(test)
    log.close()
    result = FoldResult(fold=fold, best_val=state.best_value, best_step=state.best_step, test=test["test_metric"],
                        steps=state.step, stopped_early=state.stopped_early)
    return result, [{**r, **fold_tag} for r in log.records]


def run_finetuning(config: FinetuneConfig, *, log_callbacks: list = (), callbacks: list = ()) -> FinetuneResult:
    """Fine-tune on every requested fold; returns test metrics of the validation-selected checkpoints."""
    recipe = finetune_recipe(config)
    info = D.init_distributed(config.device if config.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu"))
    device = D.resolve_device(config.device, info)
    init = resolve_config_init(config)
    folds = folds_to_run(recipe, config.folds)
    results, history = [], []
    for fold in folds:
        run_dir = Path(config.run_dir) / (f"fold{fold}" if fold is not None else "")
        r, h = run_fold(config, recipe, init, fold, run_dir, info, device, list(log_callbacks), list(callbacks))
        results.append(r)
        history += h
    return FinetuneResult(task=recipe.name, metric=recipe.metric, model_name=init.model_name,
                          pretrained=init.pretrained, mode=config.mode, folds=results, summary=summarize(results),
                          run_dir=Path(config.run_dir), history=history)


def main(argv: list[str] | None = None) -> int:
    import json

    from .cli_args import finetune_config_from_args, finetune_parser

    args = finetune_parser().parse_args(argv)
    with D.shutdown_on_exit():
        result = run_finetuning(finetune_config_from_args(args))
        if D.current().is_main:
            out = Path(result.run_dir) / "result.json"
            out.write_text(json.dumps(result.to_dict(), indent=1))
            s = result.summary
            print(f"{result.task} {result.metric}: test {100 * s.test_mean:.2f} +- {100 * s.test_std:.2f} "
                  f"over {s.n} fold(s) (validation-selected); {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
