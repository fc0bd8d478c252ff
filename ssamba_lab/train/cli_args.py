"""Command-line arguments of ``python -m ssamba_lab.train.{pretrain,finetune}`` (and ``ssamba-lab``).

Overrides are ``key=value`` pairs (see :mod:`.overrides`), parsed by argparse into ``(key, value)`` pairs.
"""
from __future__ import annotations

import argparse

from .finetune import FinetuneConfig
from .overrides import parse_override
from .pretrain import PretrainConfig


def _common(p: argparse.ArgumentParser, defaults) -> None:
    p.add_argument("--model", default=defaults.model)
    # type=parse_override: each KEY=VALUE arrives as a (key, value) pair; a malformed one is a usage error
    p.add_argument("--model-override", nargs="*", type=parse_override, default=[], metavar="KEY=VALUE",
                   help="EncoderConfig fields")
    p.add_argument("--recipe-override", nargs="*", type=parse_override, default=[], metavar="KEY=VALUE",
                   help="TaskRecipe fields")
    p.add_argument("--data-root", default=defaults.data_root)
    p.add_argument("--run-dir", default=defaults.run_dir)
    p.add_argument("--manifest-dir", default=None)
    p.add_argument("--feature-cache", default=None, help="folder for cached fbanks")
    p.add_argument("--device", default=defaults.device, help="auto | cpu | cuda")
    p.add_argument("--precision", default=defaults.precision, choices=["auto", "fp32", "bf16", "fp16"])
    p.add_argument("--max-steps", type=int, default=defaults.max_steps)
    p.add_argument("--grad-clip", type=float, default=defaults.grad_clip)
    p.add_argument("--num-workers", type=int, default=defaults.num_workers)
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--log-every-steps", type=int, default=defaults.log_every_steps)
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--no-resume", action="store_true", help="start over even if <run-dir>/last exists")
    p.add_argument("--checkpoint-every-steps", type=int, default=defaults.checkpoint_every_steps)
    p.add_argument("--stop-after-steps", type=int, default=0, help="end as an interruption would (tests)")


def pretrain_parser() -> argparse.ArgumentParser:
    d = PretrainConfig()
    p = argparse.ArgumentParser(prog="ssamba_lab.train.pretrain", description="Masked-patch pretraining")
    _common(p, d)
    p.add_argument("--recipe", default=d.recipe, choices=["auto", "ssamba", "ssam"])
    p.add_argument("--objective-override", nargs="*", type=parse_override, default=[], metavar="KEY=VALUE",
                   help="ObjectiveConfig fields")
    p.add_argument("--val-clips", type=int, default=d.val_clips)
    return p


def pretrain_config_from_args(a: argparse.Namespace) -> PretrainConfig:
    return PretrainConfig(model=a.model, recipe=a.recipe, model_overrides=dict(a.model_override),
                          recipe_overrides=dict(a.recipe_override),
                          objective_overrides=dict(a.objective_override), data_root=a.data_root,
                          run_dir=a.run_dir, manifest_dir=a.manifest_dir, feature_cache=a.feature_cache, device=a.device, precision=a.precision,
                          max_steps=a.max_steps, grad_clip=a.grad_clip, val_clips=a.val_clips,
                          num_workers=a.num_workers, seed=a.seed, log_every_steps=a.log_every_steps,
                          checkpoint_every_steps=a.checkpoint_every_steps, progress=not a.no_progress,
                          resume=not a.no_resume, stop_after_steps=a.stop_after_steps)


def finetune_parser() -> argparse.ArgumentParser:
    d = FinetuneConfig()
    p = argparse.ArgumentParser(prog="ssamba_lab.train.finetune", description="Fine-tuning / linear probing")
    _common(p, d)
    p.add_argument("--task", default=d.task)
    p.add_argument("--checkpoint", default=None, help="checkpoint directory or released .pth (default: scratch)")
    p.add_argument("--mode", default=d.mode, choices=["full", "linear"])
    p.add_argument("--head-lr-mult", type=float, default=None)
    p.add_argument("--folds", type=int, nargs="*", default=[])
    p.add_argument("--train-clips", type=int, default=d.train_clips)
    return p


def finetune_config_from_args(a: argparse.Namespace) -> FinetuneConfig:
    return FinetuneConfig(task=a.task, checkpoint=a.checkpoint, model=a.model,
                          model_overrides=dict(a.model_override),
                          recipe_overrides=dict(a.recipe_override), mode=a.mode,
                          head_lr_mult=a.head_lr_mult, folds=tuple(a.folds), train_clips=a.train_clips,
                          data_root=a.data_root, run_dir=a.run_dir, manifest_dir=a.manifest_dir, feature_cache=a.feature_cache, device=a.device,
                          precision=a.precision, max_steps=a.max_steps, grad_clip=a.grad_clip,
                          num_workers=a.num_workers, seed=a.seed, log_every_steps=a.log_every_steps,
                          checkpoint_every_steps=a.checkpoint_every_steps, progress=not a.no_progress,
                          resume=not a.no_resume, stop_after_steps=a.stop_after_steps)
