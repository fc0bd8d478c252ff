"""reconstruct(): paste-back, masks, error summaries, discriminative ranks, both objectives, checkpoints."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from einops import rearrange

from ssamba_lab.checkpoint import CheckpointError, save_checkpoint
from ssamba_lab.explore import (
    MaskChoice,
    ReconstructionCache,
    build_pretrainer_from_checkpoint,
    clip_from_features,
    find_clips,
    load_clip,
    reconstruct,
)
from ssamba_lab.explore.reconstruction import discriminative_view

from .conftest import FRAMES, save_pretrainer


@pytest.fixture(scope="module")
def noise_clip():
    return clip_from_features("noise", torch.randn(FRAMES, 128, generator=torch.Generator().manual_seed(3)))


@pytest.mark.parametrize("strategy", ["random", "cluster"])
def test_paste_back_and_mask_count(joint_pretrainer, noise_clip, strategy):
    r = reconstruct(joint_pretrainer, noise_clip, MaskChoice(strategy=strategy, num_masked=13, seed=1), audio=False)
    pf, pt = r.patch_size
    assert r.grid == (8, FRAMES // 16) and r.num_masked == 13
    hidden = np.isnan(r.masked_input)  # [frames, bins]
    assert hidden.sum() == 13 * pf * pt
    np.testing.assert_array_equal(r.reconstruction[~hidden], r.features[~hidden])
    np.testing.assert_array_equal(r.reconstruction[hidden], r.prediction[hidden])
    assert not np.allclose(r.reconstruction[hidden], r.features[hidden])
    # the pixel mask is the patch mask blown up to patch size ([F, T] -> [bins, frames] -> [frames, bins])
    np.testing.assert_array_equal(hidden, np.kron(r.mask, np.ones((pf, pt), dtype=bool)).T)


def test_frame_strategy_masks_whole_columns(joint_pretrainer, noise_clip):
    r = reconstruct(joint_pretrainer, noise_clip, MaskChoice(strategy="frame", num_masked=16, seed=0), audio=False)
    cols = r.mask.all(0)
    assert cols.sum() == 2 and (r.mask.any(0) == cols).all()


def test_seed_decides_the_mask(joint_pretrainer, noise_clip):
    a, b, c = (reconstruct(joint_pretrainer, noise_clip, MaskChoice(strategy="random", ratio=0.5, seed=s),
                           audio=False) for s in (4, 4, 5))
    np.testing.assert_array_equal(a.mask, b.mask)
    np.testing.assert_array_equal(a.reconstruction, b.reconstruction)
    assert (a.mask != c.mask).any()


def test_error_summaries(joint_pretrainer, noise_clip):
    r = reconstruct(joint_pretrainer, noise_clip, MaskChoice(strategy="cluster", num_masked=9, seed=2), audio=False)
    pf, pt = r.patch_size
    sq = (r.prediction - r.features) ** 2  # [frames, bins]
    per_patch = rearrange(sq, "(t pt) (f pf) -> f t (pf pt)", pt=pt, pf=pf).mean(-1)  # [F, T]
    np.testing.assert_allclose(r.patch_error, per_patch, rtol=1e-5)
    for f in range(r.grid[0]):
        if r.mask[f].any():
            assert r.band_error[f] == pytest.approx(r.patch_error[f][r.mask[f]].mean(), rel=1e-5)
    for t in range(r.grid[1]):
        if r.mask[:, t].any():
            assert r.time_error[t] == pytest.approx(r.patch_error[:, t][r.mask[:, t]].mean(), rel=1e-5)
    assert np.isnan(r.band_error).tolist() == (~r.mask.any(1)).tolist()
    assert np.isnan(r.time_error).tolist() == (~r.mask.any(0)).tolist()
    np.testing.assert_allclose(r.masked_mse, sq[np.isnan(r.masked_input)].mean(), rtol=1e-5)
    np.testing.assert_array_equal(np.isnan(r.masked_error_grid), ~r.mask)


def test_discriminative_ranks_match_brute_force():
    g = torch.Generator().manual_seed(0)
    m, p, grid = 6, 10, (2, 5)
    pred, target = torch.randn(m, p, generator=g), torch.randn(m, p, generator=g)
    token_mask = torch.zeros(10, dtype=torch.bool)
    token_mask[[0, 2, 3, 5, 8, 9]] = True
    mask_grid = rearrange(token_mask, "(f t) -> f t", f=2, t=5)
    view = discriminative_view(pred, target, mask_grid, token_mask, grid, "freq_major")
    scores = (pred @ target.T).numpy()
    expected = [1 + int((scores[i] > scores[i, i]).sum()) for i in range(m)]
    assert view.ranks.tolist() == expected
    assert view.rank_grid[mask_grid.numpy()].tolist() == expected
    assert view.top1 == pytest.approx(np.mean(np.array(expected) == 1))
    # a perfect predictor over orthonormal candidates ranks every true patch first
    q = torch.linalg.qr(torch.randn(p, p, generator=g))[0][:m]  # [M, P] orthonormal rows
    assert discriminative_view(q, q, mask_grid, token_mask, grid, "freq_major").top1 == 1.0


def test_joint_objective_has_discriminative_view(joint_pretrainer, noise_clip):
    r = reconstruct(joint_pretrainer, noise_clip, MaskChoice(num_masked=11, seed=0), audio=False)
    d = r.discriminative
    assert d.num_candidates == 11 and d.ranks.shape == (11,)
    assert ((d.ranks >= 1) & (d.ranks <= 11)).all()
    np.testing.assert_array_equal(~np.isnan(d.rank_grid), r.mask)


@pytest.mark.parametrize("which", ["joint_pretrainer", "ssam_pretrainer"])
def test_patch_index_follows_token_order(request, which):
    """Fill every patch with its token index, then check the grid the result reports."""
    model = request.getfixturevalue(which)
    c = model.encoder.config
    grid = model.encoder.grid_for(FRAMES)
    ids = torch.arange(grid[0] * grid[1], dtype=torch.float32)  # [N] token index
    feats = model.unpatchify(ids[None, :, None].expand(1, -1, c.patch_dim), grid)[0]  # [frames, bins]
    r = reconstruct(model, clip_from_features("ids", feats), MaskChoice(num_masked=0), audio=False)
    np.testing.assert_array_equal(r.features[:: c.patch_t, :: c.patch_f].T, r.patch_index)
    assert r.reconstruction.shape == (FRAMES, c.input_fdim)


def test_ssam_reconstruction_objective(ssam_pretrainer, clip_dir):
    clip = load_clip(clip_dir / "chirp.wav", config=ssam_pretrainer.encoder.config, frames=FRAMES)
    assert clip.features.shape == (FRAMES, 80) and clip.scale.frontend == "logmel"
    r = reconstruct(ssam_pretrainer, clip, MaskChoice(strategy="random", num_masked=20, seed=0), audio=True,
                    audio_iters=4)
    assert r.objective == "reconstruction" and r.discriminative is None
    assert r.grid == (5, FRAMES // 4) and r.num_masked == 20
    for wav in (r.audio_original, r.audio_reconstruction):
        assert abs(len(wav) - FRAMES * 160) <= 400 and np.isfinite(wav).all()


def test_checkpoint_round_trip(joint_pretrainer, noise_clip, tmp_path):
    save_pretrainer(joint_pretrainer, tmp_path / "ckpt")
    loaded = build_pretrainer_from_checkpoint(tmp_path / "ckpt")
    choice = MaskChoice(strategy="cluster", num_masked=10, seed=7)
    a = reconstruct(joint_pretrainer, noise_clip, choice, audio=False)
    b = reconstruct(loaded, noise_clip, choice, audio=False)
    np.testing.assert_allclose(a.reconstruction, b.reconstruction, atol=1e-5)
    save_checkpoint(tmp_path / "enc", state_dict=joint_pretrainer.encoder.state_dict(), config={
        "kind": "encoder", "model_name": "ssamba-tiny", "encoder": joint_pretrainer.encoder.config.to_dict()})
    with pytest.raises(CheckpointError, match="pretrainer"):
        build_pretrainer_from_checkpoint(tmp_path / "enc")


def test_cache_reuses_a_count_and_its_ratio(joint_pretrainer, noise_clip):
    cache = ReconstructionCache()
    n = 8 * FRAMES // 16
    a = reconstruct(joint_pretrainer, noise_clip, MaskChoice(num_masked=n // 4, seed=1), audio=False, cache=cache)
    b = reconstruct(joint_pretrainer, noise_clip, MaskChoice(ratio=0.25, seed=1), audio=False, cache=cache)
    assert b is a and (cache.hits, cache.misses) == (1, 1)
    reconstruct(joint_pretrainer, noise_clip, MaskChoice(ratio=0.25, seed=2), audio=False, cache=cache)
    assert cache.misses == 2


def test_find_and_load_clips(clip_dir, joint_pretrainer):
    found = find_clips(clip_dir)
    assert list(found) == ["chirp.wav", "tone_2000.wav", "tone_500.wav"]
    clip = load_clip(found["tone_500.wav"], config=joint_pretrainer.encoder.config, frames=FRAMES)
    assert clip.features.shape == (FRAMES, 128) and clip.scale.frontend == "fbank"


@pytest.mark.parametrize("which", ["joint_pretrainer", "ssam_pretrainer"])
def test_a_clip_shorter_than_one_window_is_padded(request, which, tmp_path):
    """100 samples (6 ms) is less than one 25 ms analysis window: zero-padded to one, as the data pipeline pads
    short clips, instead of the frontend's "choose a window size 400 that is [2, 100]"."""
    import soundfile as sf

    config = request.getfixturevalue(which).encoder.config
    path = tmp_path / "blip.wav"
    sf.write(str(path), (0.5 * np.sin(np.arange(100) / 3)).astype(np.float32), 16000)
    clip = load_clip(path, config=config, frames=FRAMES)
    assert clip.features.shape == (FRAMES, config.input_fdim) and torch.isfinite(clip.features).all()
