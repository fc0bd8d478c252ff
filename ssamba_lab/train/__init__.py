"""Training: pretraining (joint / reconstruction), fine-tuning and linear probing, resumable, DDP-ready.

>>> from ssamba_lab.train import PretrainConfig, run_pretraining, FinetuneConfig, run_finetuning
>>> run_finetuning(FinetuneConfig(task="ks1", checkpoint="runs/pretrain/best"))

Names are imported on first use, so ``ssamba_lab.train.loop`` / ``.distributed`` (what the GPU benchmarks
need) load without the data stack (soundfile, ...).
"""
from importlib import import_module

_EXPORTS = {
    "FinetuneConfig": "finetune", "FinetuneResult": "finetune", "run_finetuning": "finetune",
    "PretrainConfig": "pretrain", "PretrainResult": "pretrain", "run_pretraining": "pretrain",
    "LoopConfig": "loop", "Trainer": "loop", "LrSchedule": "schedules", "ScheduleConfig": "schedules",
    "accuracy": "metrics", "mean_average_precision": "metrics", "per_second_map": "metrics",
    "compute_metric": "metrics", "published": "published", "published_for": "published",
    "read_metrics": "run_log",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ssamba_lab.train' has no attribute {name!r}")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
