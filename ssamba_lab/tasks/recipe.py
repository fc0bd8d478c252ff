"""``TaskRecipe``: every field of a published fine-tuning / pretraining recipe (SSAMBA_FACTS section 7).

A recipe is a frozen dataclass; change a field with :func:`ssamba_lab.tasks.get_task` overrides
(``get_task("ks1", epochs=2)``) or ``dataclasses.replace``. Fields the papers leave open are filled with
workbench defaults and listed in ``unpublished`` so nobody mistakes them for the paper's values.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ssamba_lab.config_checks import check_field_types, check_non_negative, check_positive
from ssamba_lab.features import FbankStats

Metric = Literal["mAP", "accuracy", "per_second_mAP", "masked_patch_accuracy"]
Loss = Literal["bce", "ce", "ssl"]
CvProtocol = Literal["none", "k_fold", "leave_one_session_out"]
Validation = Literal["official", "next_fold", "holdout"]
LrSchedule = Literal["step", "warmup_step", "warmup_plateau"]


@dataclass(frozen=True)
class TaskRecipe:
    """One task: which data, which labels, which features, which optimisation recipe.

    Data
      ``adapter``: name in :data:`ssamba_lab.data.adapters.ADAPTERS` that reads the official layout.
      ``dataset_dirs``: folder names tried under ``data_root`` (the first that exists wins; otherwise
      ``data_root`` itself is taken as the dataset's root).
      ``num_classes`` is the size of the real dataset's label set; the label CSV written by the adapter is
      authoritative (the demo corpus has fewer ESC-50 categories, for instance).
    Features
      ``target_frames`` x 128 Kaldi fbank, normalised with ``stats`` (``None``: computed on the train split).
      ``fstride``/``tstride``: patch-embedding strides for fine-tuning.
    Augmentation (train split only)
      ``freqm``/``timem``: one frequency and one time mask of at most that width; ``mixup``: probability of a
      waveform mixup with lambda ~ Beta(``mixup_alpha``, ``mixup_alpha``); ``noise``: SSAST fbank noise + roll.
    Optimisation
      Adam(``weight_decay``, ``betas``); ``lr`` for the encoder, ``lr * head_lr_mult`` for the head;
      ``lr_schedule``: ``step`` multiplies by ``lr_decay_factor`` every ``lr_decay_every`` epochs from epoch
      ``lr_decay_start``; ``warmup_step`` adds a linear warm-up of ``warmup_steps`` steps;
      ``warmup_plateau`` (pretraining): warm-up then ReduceLROnPlateau(``plateau_factor``, ``plateau_patience``)
      every ``eval_every_steps`` steps on the validation metric, early stop after ``early_stop_evals``.
    Evaluation
      ``cv_protocol``/``folds``: cross-validation folds (ESC-50 folds, UrbanSound8K folds, IEMOCAP sessions);
      ``validation``: where model selection data comes from (``official`` split, the ``next_fold`` after the
      test fold, or a deterministic ``holdout`` fraction of the training data). Never the test split.
    """

    name: str
    description: str
    adapter: str
    dataset_dirs: tuple[str, ...]
    num_classes: int
    multilabel: bool
    metric: Metric
    loss: Loss
    # features
    target_frames: int
    stats: FbankStats | None
    fstride: int = 10
    tstride: int = 10
    # augmentation
    freqm: int = 0
    timem: int = 0
    mixup: float = 0.0
    mixup_alpha: float = 10.0
    noise: bool = False
    balanced_sampling: bool = False
    # optimisation
    lr: float = 1e-4
    head_lr_mult: float = 1.0
    epochs: int = 30
    batch_size: int = 32
    weight_decay: float = 5e-7
    betas: tuple[float, float] = (0.95, 0.999)
    lr_schedule: LrSchedule = "step"
    lr_decay_start: int = 0
    lr_decay_every: int = 1
    lr_decay_factor: float = 1.0
    warmup_steps: int = 0
    plateau_factor: float = 0.5
    plateau_patience: int = 2
    eval_every_steps: int = 0
    early_stop_evals: int = 0
    # evaluation protocol
    cv_protocol: CvProtocol = "none"
    folds: tuple[int, ...] = ()
    validation: Validation = "official"
    validation_fraction: float = 0.1
    # task-specific data shaping
    sequence_seconds: int = 0  # dasl: length of the concatenated sequences (per-second labels)
    piece_seconds: float = 0.0  # pretraining: long utterances are cut into pieces of this length
    # provenance
    unpublished: tuple[str, ...] = ()
    published: tuple[tuple[str, float], ...] = field(default=())
    notes: str = ""

    def __post_init__(self) -> None:
        check_field_types(self)
        check_positive(self, "target_frames", "fstride", "tstride", "mixup_alpha", "lr", "head_lr_mult", "epochs",
                       "batch_size", "lr_decay_every", "lr_decay_factor")
        assert self.num_classes > 0 or self.loss == "ssl", (  # the pretraining pool has no labels
            f"{self.name}: num_classes must be > 0, got {self.num_classes}")
        check_non_negative(self, "weight_decay", "lr_decay_start", "warmup_steps", "plateau_patience",
                           "eval_every_steps", "early_stop_evals", "sequence_seconds", "piece_seconds")
        assert 0.0 <= self.mixup <= 1.0, f"{self.name}: mixup is a probability, got {self.mixup}"
        assert self.freqm >= 0 and self.timem >= 0, f"{self.name}: SpecAugment widths must be >= 0"
        assert self.loss != "ce" or not self.multilabel, f"{self.name}: a multi-label task needs loss 'bce'"
        assert self.cv_protocol == "none" or self.folds, f"{self.name}: {self.cv_protocol} needs folds"
        assert 0.0 < self.validation_fraction < 1.0, f"{self.name}: validation_fraction must be in (0, 1)"

    @property
    def published_results(self) -> dict[str, float]:
        """Published SSAMBA fine-tuning results for this task, keyed by model name (SSAMBA_FACTS section 7)."""
        return dict(self.published)
