"""``dasl``: UrbanSound8K clips concatenated per fold into 60-s sequences with per-second labels, 10-fold CV."""
from __future__ import annotations

from ssamba_lab.features import URBANSOUND8K_STATS

from .recipe import TaskRecipe

DASL = TaskRecipe(
    name="dasl", description="UrbanSound8K 60-s sequences, per-second labels, 10-fold CV",
    adapter="urbansound8k_dasl", dataset_dirs=("UrbanSound8K", "urbansound8k"), num_classes=10, multilabel=False,
    metric="per_second_mAP", loss="ce", target_frames=6144, stats=URBANSOUND8K_STATS, fstride=16, tstride=16,
    freqm=48, timem=192, mixup=0.0, noise=False, lr=1e-4, epochs=50, batch_size=5, lr_schedule="step",
    lr_decay_start=20, lr_decay_every=10, lr_decay_factor=0.85, cv_protocol="k_fold",
    folds=tuple(range(1, 11)), validation="next_fold", sequence_seconds=60,
    published=(("ssamba-tiny", 71.9), ("ssamba-small", 75.2), ("ssamba-base", 80.8), ("ssamba-base-scratch", 13.0)),
    notes="Per-second pooling must average all tokens of each 1-s time span (all frequency rows).",
)
