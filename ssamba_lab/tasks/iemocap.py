"""``er``: IEMOCAP emotion recognition, 4 classes (excited merged into happy), leave-one-session-out."""
from __future__ import annotations

from .recipe import TaskRecipe

ER = TaskRecipe(
    name="er", description="IEMOCAP 4 classes (neutral, happy+excited, sad, angry), leave-one-session-out",
    adapter="iemocap", dataset_dirs=("IEMOCAP_full_release", "IEMOCAP", "iemocap"), num_classes=4,
    multilabel=False, metric="accuracy", loss="ce", target_frames=1024, stats=None, fstride=10, tstride=10,
    freqm=24, timem=96, lr=1e-4, epochs=30, batch_size=32, lr_schedule="step", lr_decay_start=10,
    lr_decay_every=1, lr_decay_factor=0.85, cv_protocol="leave_one_session_out", folds=(1, 2, 3, 4, 5),
    validation="holdout", validation_fraction=0.1,
    unpublished=("lr", "epochs", "batch_size", "target_frames", "stats", "freqm", "timem", "lr_schedule",
                 "lr_decay_start", "lr_decay_factor"),
    published=(("ssamba-tiny", 56.3), ("ssamba-small", 58.2), ("ssamba-base", 61.5), ("ssamba-base-scratch", 58.2)),
    notes="Recipe beyond classes/metric follows s3prl and is not stated in the paper; validation is 10% of the "
          "training sessions' utterances (hash of the utterance id).",
)
