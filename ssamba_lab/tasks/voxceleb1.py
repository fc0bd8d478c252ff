"""``sid``: VoxCeleb1 speaker identification (official ``iden_split.txt``), 1,251 speakers."""
from __future__ import annotations

from .recipe import TaskRecipe

SID = TaskRecipe(
    name="sid", description="VoxCeleb1 identification split (1 train / 2 validation / 3 test)",
    adapter="voxceleb1", dataset_dirs=("voxceleb1", "VoxCeleb1"), num_classes=1251, multilabel=False,
    metric="accuracy", loss="ce", target_frames=1000, stats=None, fstride=10, tstride=10, freqm=24, timem=96,
    lr=1e-4, epochs=20, batch_size=32, lr_schedule="step", lr_decay_start=10, lr_decay_every=1,
    lr_decay_factor=0.85, validation="official",
    unpublished=("stats", "freqm", "timem", "epochs", "batch_size", "lr_schedule", "lr_decay_start",
                 "lr_decay_factor"),
    published=(("ssamba-tiny", 66.1), ("ssamba-small", 67.9), ("ssamba-base", 70.1), ("ssamba-base-scratch", 53.6)),
    notes="The paper follows s3prl for SID; the unpublished fields are workbench defaults. Stats from train split.",
)
