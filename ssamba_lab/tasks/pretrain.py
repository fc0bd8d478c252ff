"""``pretrain``: the unlabeled pool (AudioSet unbalanced + LibriSpeech, 10-s pieces) with SSAMBA's SSL recipe."""
from __future__ import annotations

from ssamba_lab.features import AUDIOSET_STATS

from .recipe import TaskRecipe

PRETRAIN = TaskRecipe(
    name="pretrain", description="Unlabeled pool: AudioSet unbalanced train + LibriSpeech train-*, 10-s pieces",
    adapter="pretrain_pool", dataset_dirs=(), num_classes=0, multilabel=False, metric="masked_patch_accuracy",
    loss="ssl", target_frames=1024, stats=AUDIOSET_STATS, fstride=16, tstride=16, lr=1e-4, epochs=10,
    batch_size=64, weight_decay=5e-8, betas=(0.95, 0.999), lr_schedule="warmup_plateau", warmup_steps=1000,
    plateau_factor=0.5, plateau_patience=2, eval_every_steps=4000, early_stop_evals=3, validation="holdout",
    validation_fraction=0.01, piece_seconds=10.0,
    notes="Sources found under data_root: LibriSpeech/ (train-* -> train, dev-* -> validation) and "
          "audioset/ (unbalanced_train_segments.csv; 1% held out). Either may be absent, not both.",
)
