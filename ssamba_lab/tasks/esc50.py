"""``esc``: ESC-50, 50 environmental sound classes, five-fold cross-validation."""
from __future__ import annotations

from ssamba_lab.features import ESC50_STATS

from .recipe import TaskRecipe

ESC = TaskRecipe(
    name="esc", description="ESC-50, 5-fold cross-validation (validation on the next fold, never on test)",
    adapter="esc50", dataset_dirs=("ESC-50", "ESC-50-master", "esc50"), num_classes=50, multilabel=False,
    metric="accuracy", loss="ce", target_frames=512, stats=ESC50_STATS, fstride=10, tstride=10, freqm=24, timem=96,
    mixup=0.0, noise=True, lr=1e-4, epochs=50, batch_size=48, lr_schedule="step", lr_decay_start=6,
    lr_decay_every=1, lr_decay_factor=0.85, cv_protocol="k_fold", folds=(1, 2, 3, 4, 5), validation="next_fold",
    published=(("ssamba-tiny", 80.1), ("ssamba-small", 85.5), ("ssamba-base", 89.3), ("ssamba-base-scratch", 65.6)),
    notes="The originals select epochs on the test fold; here the fold after the test fold is the validation fold.",
)
