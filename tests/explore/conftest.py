"""Small pretrainers, checkpoints and audio files for the explorer tests (2-layer encoders, 64-frame clips)."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from ssamba_lab.checkpoint import save_checkpoint
from ssamba_lab.explore import random_pretrainer
from ssamba_lab.models import ObjectiveConfig

FRAMES = 64
SR = 16_000


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    torch.set_num_threads(1)  # the CI box is shared; small matmuls are faster single-threaded


@pytest.fixture(scope="session")
def joint_pretrainer():
    """SSAMBA layout (freq-major 16x16 patches, 128 bins), joint objective, 2 layers."""
    return random_pretrainer("ssamba-tiny", depth=2, input_tdim=FRAMES, seed=0)


@pytest.fixture(scope="session")
def ssam_pretrainer():
    """SSAM layout (time-major 16 bins x 4 frames, 80 log-mel bins), reconstruction objective, 2 layers."""
    return random_pretrainer("ssam-tiny", depth=2, input_tdim=FRAMES, seed=0,
                             objective=ObjectiveConfig(objective="reconstruction"))


def save_pretrainer(model, path, **extra):
    """Write ``model`` as one of our pretraining checkpoint directories (``extra``: more config.json entries)."""
    return save_checkpoint(path, state_dict=model.state_dict(), config={
        "kind": "pretrainer", "model_name": "ssamba-tiny", "encoder": model.encoder.config.to_dict(),
        "objective": model.objective.to_dict(), **extra})


def tone(freq: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory):
    """Three short wav files: two tones and a chirp."""
    d = tmp_path_factory.mktemp("clips")
    t = np.arange(SR) / SR
    sf.write(d / "tone_500.wav", tone(500.0), SR)
    sf.write(d / "tone_2000.wav", tone(2000.0), SR)
    sf.write(d / "chirp.wav", (0.5 * np.sin(2 * np.pi * (200 + 3000 * t) * t)).astype(np.float32), SR)
    return d
