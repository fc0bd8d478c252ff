"""Feature frontends: audio loading, SSAST/SSAMBA Kaldi fbank, SSAM log-mel."""
from .audio import SAMPLE_RATE, AudioError, load_audio, resample
from .fbank import (
    AUDIOSET_STATS, ESC50_STATS, PUBLISHED_STATS, SPEECHCOMMANDS_STATS, URBANSOUND8K_STATS, FbankStats,
    compute_stats, fbank_features, kaldi_fbank, normalize, pad_or_crop,
)
from .logmel import SSAM_FRAMES, SSAM_NUM_MELS, LogMel, crop_frames, per_clip_normalize

__all__ = [
    "SAMPLE_RATE", "AudioError", "load_audio", "resample", "FbankStats", "AUDIOSET_STATS", "ESC50_STATS",
    "SPEECHCOMMANDS_STATS", "URBANSOUND8K_STATS", "PUBLISHED_STATS", "kaldi_fbank", "pad_or_crop", "normalize",
    "fbank_features", "compute_stats", "LogMel", "per_clip_normalize", "crop_frames", "SSAM_FRAMES", "SSAM_NUM_MELS",
]
