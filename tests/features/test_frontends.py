"""Audio loading and the two feature frontends."""
import numpy as np
import pytest
import soundfile as sf
import torch

from ssamba_lab import features as fe


def write(path, data, sr):
    sf.write(str(path), data, sr, subtype="FLOAT")  # float WAV keeps NaN samples as written
    return path


def test_load_audio_mixes_stereo_and_resamples(tmp_path):
    sr = 22050
    t = np.arange(sr) / sr  # 1 s
    left, right = np.sin(2 * np.pi * 440 * t), np.zeros_like(t)
    path = write(tmp_path / "st.wav", np.stack([left, right], 1).astype(np.float32), sr)
    wav = fe.load_audio(path)
    assert wav.dtype == torch.float32 and wav.shape == (16000,)
    # Averaging the channels halves the amplitude of a one-sided tone.
    assert wav.abs().max().item() == pytest.approx(0.5, abs=0.02)


def test_load_audio_errors_name_the_file(tmp_path):
    bad = tmp_path / "corrupt.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises(fe.AudioError, match="corrupt.wav"):
        fe.load_audio(bad)
    with pytest.raises(fe.AudioError, match="missing.wav"):
        fe.load_audio(tmp_path / "missing.wav")
    empty = write(tmp_path / "empty.wav", np.zeros((0,), np.float32), 16000)
    with pytest.raises(fe.AudioError, match="empty.wav"):
        fe.load_audio(empty)
    nan = write(tmp_path / "nan.wav", np.full(1600, np.nan, np.float32), 16000)
    with pytest.raises(fe.AudioError, match="nan.wav"):
        fe.load_audio(nan)
    short = write(tmp_path / "short.wav", np.zeros(1600, np.float32), 16000)
    with pytest.raises(fe.AudioError, match=r"starts past the end of .*short.wav: start sample 5000, .* 1600 samples"):
        fe.load_audio(short, start=5000)


def test_kaldi_fbank_shape_and_dc_removal():
    wav = torch.randn(16000, generator=torch.Generator().manual_seed(0)) * 0.1
    feats = fe.kaldi_fbank(wav)
    assert feats.shape == (98, 128)  # 1 + (16000 - 400) // 160 frames of a 25 ms window, 10 ms shift
    torch.testing.assert_close(fe.kaldi_fbank(wav + 0.3), feats, rtol=1e-4, atol=1e-3)  # DC offset removed first


def test_pad_crop_then_normalise():
    feats = torch.ones(98, 128)
    padded = fe.pad_or_crop(feats, 128)
    assert padded.shape == (128, 128) and padded[98:].abs().sum() == 0
    assert fe.pad_or_crop(feats, 50).shape == (50, 128)
    out = fe.normalize(padded, fe.FbankStats(mean=1.0, std=0.5))
    assert out[0, 0].item() == 0.0 and out[-1, 0].item() == pytest.approx(-1.0)
    full = fe.fbank_features(torch.randn(16000) * 0.1, target_length=128, stats=fe.SPEECHCOMMANDS_STATS)
    assert full.shape == (128, 128)


def test_published_stats_constants():
    assert fe.AUDIOSET_STATS == fe.FbankStats(-4.2677393, 4.5689974)
    assert fe.PUBLISHED_STATS["speechcommands"].std == pytest.approx(5.5654526)


def test_compute_stats_streams_over_clips():
    clips = [torch.randn(10, 4) * 2 + 3, torch.randn(7, 4) * 2 + 3]
    stats = fe.compute_stats(iter(clips))
    allv = torch.cat([c.flatten() for c in clips]).double()
    assert stats.mean == pytest.approx(allv.mean().item(), rel=1e-9)
    assert stats.std == pytest.approx(allv.std(unbiased=False).item(), rel=1e-9)
    with pytest.raises(ValueError, match="no features"):
        fe.compute_stats([])


def test_ssam_logmel_per_clip_normalised_and_cropped():
    wav = torch.randn(3 * 16000, generator=torch.Generator().manual_seed(1)) * 0.1
    mel = fe.LogMel()(wav)
    assert mel.shape == (301, 80)
    normed = fe.per_clip_normalize(mel)
    assert normed.mean().abs() < 1e-5 and (normed.std() - 1).abs() < 1e-3
    centre = fe.crop_frames(normed, 200, train=False)
    assert centre.shape == (200, 80) and torch.equal(centre, normed[50:250])
    rnd = fe.crop_frames(normed, 200, train=True, generator=torch.Generator().manual_seed(0))
    assert rnd.shape == (200, 80)
    assert fe.crop_frames(normed[:20], 200, train=False).shape == (200, 80)
