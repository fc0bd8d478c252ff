"""``as``: AudioSet-20K (balanced train -> eval), 527 classes, multi-label, mAP."""
from __future__ import annotations

from ssamba_lab.features import AUDIOSET_STATS

from .recipe import TaskRecipe

AS = TaskRecipe(
    name="as", description="AudioSet-20K: balanced train (minus a validation holdout) -> eval segments",
    adapter="audioset_balanced", dataset_dirs=("audioset", "AudioSet"), num_classes=527, multilabel=True,
    metric="mAP", loss="bce", target_frames=1024, stats=AUDIOSET_STATS, fstride=10, tstride=10, freqm=48,
    timem=192, mixup=0.5, noise=False, lr=1e-4, head_lr_mult=3.0, epochs=50, batch_size=24, lr_schedule="step",
    lr_decay_start=15, lr_decay_every=10, lr_decay_factor=0.75, validation="holdout", validation_fraction=0.1,
    published=(("ssamba-tiny", 23.3), ("ssamba-small", 25.6), ("ssamba-base", 28.3), ("ssamba-base-scratch", 20.4)),
    notes="The originals select on eval; here 10% of balanced train (hash of the YTID) is held out for validation.",
)
