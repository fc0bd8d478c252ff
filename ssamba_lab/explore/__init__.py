"""Reconstruction exploration: what a masked pretrainer fills in, where it fails, what it sounds like."""
from .clips import Clip, FeatureScale, clip_from_features, find_clips, load_clip
from .loading import build_pretrainer_from_checkpoint, random_pretrainer
from .mel_inversion import features_to_audio, wav_bytes
from .reconstruction import (
    DiscriminativeView, MaskChoice, ReconstructionCache, ReconstructionResult, reconstruct, with_audio,
)

__all__ = [
    "Clip", "FeatureScale", "clip_from_features", "find_clips", "load_clip", "build_pretrainer_from_checkpoint",
    "random_pretrainer", "features_to_audio", "wav_bytes", "DiscriminativeView", "MaskChoice",
    "ReconstructionCache", "ReconstructionResult", "reconstruct", "with_audio",
]
