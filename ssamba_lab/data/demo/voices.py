"""The demo corpus's synthetic speakers: espeak-ng accents x variants with their own pitch, range and rate."""
from __future__ import annotations

import itertools

import numpy as np

from .speech import Voice

ACCENTS = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-us-nyc")
VARIANTS = ("m1", "f1", "m2", "f2", "m3", "f3", "m4", "f4", "m5", "f5", "m6", "m7", "klatt", "klatt2", "klatt3",
            "Andy", "belinda", "Annie", "benjamin", "Alex")


def make_voices(n: int, *, seed: int) -> list[Voice]:
    """``n`` distinct voices, deterministic in ``seed`` (accent/variant pairs shuffled, prosody drawn)."""
    rng = np.random.default_rng([seed, 1001])
    pairs = list(itertools.product(ACCENTS, VARIANTS))
    order = rng.permutation(len(pairs))
    assert n <= len(pairs), f"at most {len(pairs)} distinct voices, asked for {n}"
    voices = []
    for i in order[:n]:
        accent, variant = pairs[i]
        voices.append(Voice(f"{accent}+{variant}", rate=int(rng.integers(135, 195)), pitch=int(rng.integers(20, 80)),
                            range=int(rng.integers(25, 85))))
    return voices


def jitter(voice: Voice, rng: np.random.Generator, *, pitch: int = 6, rate: int = 12) -> Voice:
    """The same speaker on another take: small random changes of pitch and rate."""
    return Voice(voice.name, rate=int(np.clip(voice.rate + rng.integers(-rate, rate + 1), 80, 400)),
                 pitch=int(np.clip(voice.pitch + rng.integers(-pitch, pitch + 1), 0, 99)), range=voice.range,
                 volume=voice.volume)
