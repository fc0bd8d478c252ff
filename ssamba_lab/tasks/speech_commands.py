"""Keyword spotting: ``ks1`` (Speech Commands v0.01, SUPERB protocol, 12 classes) and ``ks2`` (v0.02, 35 words)."""
from __future__ import annotations

from ssamba_lab.features import SPEECHCOMMANDS_STATS

from .recipe import TaskRecipe

_COMMON = dict(
    metric="accuracy", multilabel=False, loss="bce", target_frames=128, stats=SPEECHCOMMANDS_STATS,
    fstride=10, tstride=10, freqm=48, timem=48, mixup=0.6, noise=True, lr=2.5e-4, epochs=30, batch_size=128,
    lr_schedule="warmup_step", lr_decay_start=5, lr_decay_every=1, lr_decay_factor=0.85, warmup_steps=1000,
    validation="official", unpublished=("warmup_steps",),
    notes="BCE on one-hot targets as in the originals; warm-up length not stated, 1000 steps assumed.",
)

KS1 = TaskRecipe(
    name="ks1", description="Speech Commands v0.01, SUPERB protocol: 10 words + _silence_ + _unknown_",
    adapter="speech_commands_v1", dataset_dirs=("speech_commands_v0.01", "speech_commands"), num_classes=12,
    balanced_sampling=True,
    published=(("ssamba-tiny", 94.0), ("ssamba-small", 96.4), ("ssamba-base", 96.9), ("ssamba-base-scratch", 95.7)),
    **_COMMON,
)

KS2 = TaskRecipe(
    name="ks2", description="Speech Commands v0.02, 35 words",
    adapter="speech_commands_v2", dataset_dirs=("speech_commands_v0.02", "speech_commands"), num_classes=35,
    published=(("ssamba-tiny", 94.0), ("ssamba-small", 96.3), ("ssamba-base", 97.4), ("ssamba-base-scratch", 96.1)),
    **_COMMON,
)
