"""Adapters: one module per dataset family, each reading the official on-disk layout.

``ADAPTERS[name](root, **options) -> AdapterOutput``; options used: ``fold``, ``folds``,
``validation_fraction``, ``sequence_seconds``, ``piece_seconds`` (others are ignored).
"""
from .audioset import audioset_balanced, audioset_unbalanced
from .base import SPLITS, AdapterOutput, cv_split
from .esc50 import esc50
from .iemocap import iemocap
from .librispeech import librispeech
from .pretrain_pool import pretrain_pool
from .speech_commands import speech_commands_v1, speech_commands_v2
from .urbansound8k import urbansound8k_dasl
from .voxceleb1 import voxceleb1

ADAPTERS = {
    "speech_commands_v1": speech_commands_v1,
    "speech_commands_v2": speech_commands_v2,
    "esc50": esc50,
    "audioset_balanced": audioset_balanced,
    "audioset_unbalanced": audioset_unbalanced,
    "librispeech": librispeech,
    "urbansound8k_dasl": urbansound8k_dasl,
    "voxceleb1": voxceleb1,
    "iemocap": iemocap,
    "pretrain_pool": pretrain_pool,
}

__all__ = ["ADAPTERS", "AdapterOutput", "SPLITS", "cv_split"]
