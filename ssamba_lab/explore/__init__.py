"""Reconstruction exploration: what a masked pretrainer fills in, where it fails, what it sounds like."""
from .clips import Clip, FeatureScale, clip_from_features, find_clips, load_clip, sample_clips, write_synthetic_clips
from .figures import static_figure, summary_rows
from .loading import (
    build_pretrainer_from_checkpoint, latest_pretrainer_checkpoint, pretrainer_checkpoints,
    random_pretrainer, checkpoint_stats,
)
from .mel_inversion import features_to_audio, wav_bytes
from .reconstruction import (
    DiscriminativeView, MaskChoice, ReconstructionCache, ReconstructionResult, reconstruct, with_audio,
)

__all__ = [
    "Clip", "FeatureScale", "clip_from_features", "find_clips", "load_clip", "sample_clips", "write_synthetic_clips",
    "static_figure", "summary_rows", "build_pretrainer_from_checkpoint", "latest_pretrainer_checkpoint",
    "pretrainer_checkpoints", "checkpoint_stats", "random_pretrainer", "features_to_audio", "wav_bytes",
    "DiscriminativeView", "MaskChoice", "ReconstructionCache", "ReconstructionResult", "reconstruct", "with_audio",
]
