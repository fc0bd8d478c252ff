"""Training: pretraining (joint / reconstruction), fine-tuning and linear probing, resumable, DDP-ready.

>>> from ssamba_lab.train import PretrainConfig, run_pretraining, FinetuneConfig, run_finetuning
>>> run_finetuning(FinetuneConfig(task="ks1", checkpoint="runs/pretrain/best"))
"""
from .finetune import FinetuneConfig, FinetuneResult, run_finetuning
from .loop import LoopConfig, Trainer
from .metrics import accuracy, compute_metric, mean_average_precision, per_second_map
from .pretrain import PretrainConfig, PretrainResult, run_pretraining
from .published import published, published_for
from .run_log import read_metrics
from .schedules import LrSchedule, ScheduleConfig

__all__ = [
    "PretrainConfig", "PretrainResult", "run_pretraining", "FinetuneConfig", "FinetuneResult", "run_finetuning",
    "LoopConfig", "Trainer", "LrSchedule", "ScheduleConfig", "accuracy", "mean_average_precision",
    "per_second_map", "compute_metric", "published", "published_for", "read_metrics",
]
