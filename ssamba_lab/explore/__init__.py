"""Reconstruction exploration: what a masked pretrainer fills in, where it fails, what it sounds like."""
from .clips import (
    Clip,
    FeatureScale,
    clip_from_features,
    find_clips,
    load_clip,
    sample_clips,
    write_synthetic_clips,
)
from .figures import static_figure, summary_rows
from .loading import (
    build_pretrainer_from_checkpoint,
    checkpoint_stats,
    latest_pretrainer_checkpoint,
    pretrainer_checkpoints,
    random_pretrainer,
)
from .mel_inversion import features_to_audio, wav_bytes
from .reconstruction import (
    DiscriminativeView,
    MaskChoice,
    ReconstructionCache,
    ReconstructionResult,
    reconstruct,
    with_audio,
)

__all__ = [
    "Clip",
    "DiscriminativeView",
    "FeatureScale",
    "MaskChoice",
    "ReconstructionCache",
    "ReconstructionResult",
    "build_pretrainer_from_checkpoint",
    "checkpoint_stats",
    "clip_from_features",
    "features_to_audio",
    "find_clips",
    "latest_pretrainer_checkpoint",
    "load_clip",
    "pretrainer_checkpoints",
    "random_pretrainer",
    "reconstruct",
    "sample_clips",
    "static_figure",
    "summary_rows",
    "wav_bytes",
    "with_audio",
    "write_synthetic_clips",
]
