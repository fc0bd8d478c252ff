"""Mel inversion: a tone's fbank / log-mel inverts to audio whose spectrum peaks at the tone."""
from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from ssamba_lab.explore import features_to_audio, load_clip, wav_bytes
from ssamba_lab.models import get_config

from .conftest import SR


@pytest.mark.parametrize("model,freq", [("ssamba-tiny", 500.0), ("ssamba-tiny", 2000.0), ("ssam-tiny", 2000.0)])
def test_tone_survives_inversion(clip_dir, model, freq):
    config = get_config(model)
    clip = load_clip(clip_dir / f"tone_{int(freq)}.wav", config=config, frames=96)
    wav = features_to_audio(clip.features, clip.scale, n_iter=16)
    assert abs(len(wav) - 96 * 160) <= 400 and np.abs(wav).max() == pytest.approx(0.9, rel=1e-3)
    spectrum = np.abs(np.fft.rfft(wav * np.hanning(len(wav))))
    peak = np.fft.rfftfreq(len(wav), 1 / SR)[spectrum.argmax()]
    assert abs(peak - freq) < 0.08 * freq, f"peak at {peak:.0f} Hz, tone at {freq:.0f} Hz"


def test_wav_bytes_round_trip():
    wav = np.linspace(-0.5, 0.5, 800, dtype=np.float32)
    data, sr = sf.read(io.BytesIO(wav_bytes(wav)), dtype="float32")
    assert sr == SR and np.allclose(data, wav, atol=1e-4)
