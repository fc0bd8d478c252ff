"""``DemoConfig``: sizes of the embedded demo corpus (defaults: about 40 MB, well under a minute to build)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

ESC_CATEGORIES = ("dog_bark", "rooster", "rain", "sea_waves", "crackling_fire", "clock_tick", "church_bells", "siren",
                  "engine", "chainsaw")


@dataclass(frozen=True)
class DemoConfig:
    """Everything that decides the demo corpus; the corpus is a pure function of this config."""

    seed: int = 0
    # Speech Commands (ks1/ks2): voices are speaker-disjoint across splits, as in the official lists
    sc_train_voices: int = 6
    sc_val_voices: int = 2
    sc_test_voices: int = 2
    sc_core_takes_train: int = 2  # takes per train voice of each of the 10 ks1 words (other words: 1 take)
    sc_core_takes_eval: int = 2
    sc_noise_seconds: float = 6.0
    # unlabeled pool (LibriSpeech layout): SC train voices + extra voices; dev-clean voices for validation
    pool_extra_voices: int = 10
    pool_dev_voices: int = 2
    pool_utterances: int = 8
    # ESC-50 / UrbanSound8K
    esc_categories: tuple[str, ...] = ESC_CATEGORIES
    esc_clips_per_fold: int = 2  # per category and fold
    esc_seconds: float = 2.0
    us8k_clips_per_fold: int = 6
    us8k_seconds: tuple[float, float] = (1.5, 3.5)
    # VoxCeleb1 / IEMOCAP
    vox_speakers: int = 8
    vox_utterances: int = 5  # per speaker: the last is test, the one before validation
    iemocap_per_speaker: dict = field(default_factory=lambda: {"neu": 2, "hap": 1, "exc": 1, "sad": 2, "ang": 2,
                                                              "fru": 1})
    # AudioSet
    audioset_balanced: int = 40
    audioset_eval: int = 24
    audioset_unbalanced: int = 32
    audioset_seconds: float = 4.0

    @classmethod
    def tiny(cls, seed: int = 0) -> "DemoConfig":
        """A minimal corpus for tests (a few seconds to build): every split of every task still non-empty."""
        return replace(cls(seed=seed), sc_train_voices=2, sc_val_voices=1, sc_test_voices=1, sc_core_takes_train=1,
                       sc_core_takes_eval=1, sc_noise_seconds=3.0, pool_extra_voices=1, pool_dev_voices=1,
                       pool_utterances=2, esc_categories=ESC_CATEGORIES[:3], esc_clips_per_fold=1,
                       esc_seconds=1.0, us8k_clips_per_fold=2, us8k_seconds=(0.6, 1.2), vox_speakers=3,
                       vox_utterances=3, iemocap_per_speaker={"neu": 1, "hap": 1, "exc": 1, "sad": 1, "ang": 1,
                                                              "fru": 1},
                       audioset_balanced=12, audioset_eval=6, audioset_unbalanced=6, audioset_seconds=1.5)
