"""Drive the ReconstructionExplorer without a browser: set widget values, click buttons, read the figures."""
from __future__ import annotations

import re

import numpy as np
import pytest

from ssamba_lab.explore import find_clips
from widgets import ReconstructionExplorer

from .conftest import FRAMES, save_pretrainer


def _nan_cells(trace) -> int:
    return int(np.isnan(np.asarray(trace.z, dtype=float)).sum())


def _digest(explorer) -> str:
    return re.search(r'data-recon-digest="(\w+)"', explorer.summary.value).group(1)


@pytest.fixture()
def explorer(clip_dir, joint_pretrainer, ssam_pretrainer, tmp_path):
    ckpt = save_pretrainer(joint_pretrainer, tmp_path / "joint")
    return ReconstructionExplorer(clips=find_clips(clip_dir), checkpoints={"joint": ckpt, "ssam": ssam_pretrainer},
                                  frames=FRAMES, strategy="random", ratio=0.5, seed=0)


def test_initial_view(explorer):
    masked, recon, err = explorer.figure.data[1], explorer.figure.data[2], explorer.figure.data[3]
    n = 8 * FRAMES // 16
    assert explorer.count.max == n and explorer.count.value == n // 2
    assert np.asarray(explorer.figure.data[0].z).shape == (128, FRAMES)  # [bins, frames]
    assert _nan_cells(masked) == n // 2 * 256 and _nan_cells(recon) == 0
    assert np.asarray(err.z).shape == (8, FRAMES // 16) and _nan_cells(err) == n - n // 2
    assert f'data-num-masked="{n // 2}"' in explorer.summary.value


def test_mask_count_changes_figures(explorer):
    before_recon = np.array(explorer.figure.data[2].z, dtype=float)
    before = _digest(explorer)
    explorer.count.value = 5
    assert _nan_cells(explorer.figure.data[1]) == 5 * 256
    assert _nan_cells(explorer.figure.data[3]) == explorer.count.max - 5
    assert not np.array_equal(before_recon, np.asarray(explorer.figure.data[2].z, dtype=float))
    assert _digest(explorer) != before
    assert explorer.ratio.value == pytest.approx(5 / explorer.count.max)
    assert 'data-num-masked="5"' in explorer.summary.value


def test_ratio_slider_sets_count(explorer):
    explorer.ratio.value = 0.25
    assert explorer.count.value == round(0.25 * explorer.count.max)
    assert explorer.result.num_masked == explorer.count.value
    assert _nan_cells(explorer.figure.data[1]) == explorer.count.value * 256


def test_new_seed_button_moves_the_mask(explorer):
    mask_before = explorer.result.mask.copy()
    renders = explorer.renders
    explorer.new_seed.click()
    assert explorer.seed.value == 1 and explorer.renders == renders + 1
    assert explorer.result.mask.sum() == mask_before.sum() and (explorer.result.mask != mask_before).any()
    explorer.seed.value = 0  # back to the first mask: served from the cache
    np.testing.assert_array_equal(explorer.result.mask, mask_before)
    assert "cached forward" in explorer.summary.value


def test_frame_strategy_hides_whole_columns(explorer):
    explorer.strategy.value = "frame"
    z = np.isnan(np.asarray(explorer.figure.data[1].z, dtype=float))  # [bins, frames]
    cols = z.all(0)
    assert cols.any() and (z.any(0) == cols).all()


def test_error_hover_data(explorer):
    r = explorer.result
    custom = np.asarray(explorer.figure.data[3].customdata, dtype=float)  # [F, T, 3]
    np.testing.assert_array_equal(custom[..., 0], r.patch_index)
    np.testing.assert_allclose(custom[..., 1], r.patch_error, rtol=1e-6)
    np.testing.assert_array_equal(np.isnan(custom[..., 2]), ~r.mask)
    assert "patch %{customdata[0]}" in explorer.figure.data[3].hovertemplate
    pixel_patch = np.asarray(explorer.figure.data[2].customdata)  # [bins, frames]
    assert pixel_patch[16 * 3 + 2, 16 * 1 + 5] == r.patch_index[3, 1]


def test_summaries_plot(explorer):
    r = explorer.result
    np.testing.assert_allclose(np.asarray(explorer.profile.data[0].y, dtype=float), r.band_error)
    np.testing.assert_allclose(np.asarray(explorer.profile.data[1].y, dtype=float), r.time_error)


def test_clip_and_checkpoint_switch(explorer):
    explorer.count.value = 10
    explorer.checkpoint.value = "ssam"  # 80 log-mel bins, 16 x 4 patches: a different grid
    n = 5 * FRAMES // 4
    assert explorer.count.max == n and explorer.result.grid == (5, FRAMES // 4)
    assert np.asarray(explorer.figure.data[0].z).shape == (80, FRAMES)
    assert "n/a (reconstruction objective)" in explorer.summary.value
    before = np.array(explorer.figure.data[0].z, dtype=float)
    explorer.clip.value = "tone_2000.wav"
    assert not np.array_equal(before, np.asarray(explorer.figure.data[0].z, dtype=float))
    assert explorer.result.name == "tone_2000.wav"


def test_listen_button_fills_players(explorer):
    assert explorer.audio_reconstruction.value == b""
    explorer.audio_iters = 4
    explorer.listen.click()
    for player in (explorer.audio_original, explorer.audio_reconstruction):
        assert player.value[:4] == b"RIFF" and len(player.value) > 44 + 2 * 8000
    assert explorer.audio_original.value != explorer.audio_reconstruction.value
    explorer.count.value = 3  # a new view invalidates the audio
    assert "press" in explorer.audio_status.value


def test_figure_data_is_json_safe(explorer):
    """2-D trace arrays travel as JSON: a NaN there would make the browser drop the update."""
    import json

    for trace in explorer.figure.data:
        for name in ("z", "customdata"):
            value = getattr(trace, name)
            if value is not None:
                json.dumps(np.asarray(value).tolist(), allow_nan=False)
    assert np.isnan(np.asarray(explorer.figure.data[1].z, dtype=float)).any()  # the gaps are still there


def test_unreadable_checkpoint_is_reported_in_the_ui(clip_dir, joint_pretrainer, tmp_path):
    ex = ReconstructionExplorer(clips=find_clips(clip_dir), frames=FRAMES,
                                checkpoints={"ok": joint_pretrainer, "missing": tmp_path / "nope"})
    shown = ex.result
    ex.checkpoint.value = "missing"
    assert "ssamba-explorer-error" in ex.summary.value and "nope" in ex.summary.value
    assert ex.result is shown  # the last good view stays on screen
    ex.checkpoint.value = "ok"
    assert "ssamba-explorer-error" not in ex.summary.value


def test_clips_use_the_checkpoints_recorded_stats(clip_dir, joint_pretrainer, tmp_path):
    from ssamba_lab.explore import load_clip
    from ssamba_lab.features import FbankStats

    ckpt = save_pretrainer(joint_pretrainer, tmp_path / "with_stats", stats={"mean": -2.0, "std": 3.0})
    ex = ReconstructionExplorer(clips=find_clips(clip_dir), checkpoints={"s": ckpt, "plain": joint_pretrainer},
                                frames=FRAMES)
    expected = load_clip(clip_dir / "chirp.wav", config=joint_pretrainer.encoder.config, frames=FRAMES,
                         stats=FbankStats(-2.0, 3.0))
    np.testing.assert_allclose(ex.result.features, expected.features.numpy(), rtol=1e-6)
    ex.checkpoint.value = "plain"  # no recorded stats: the AudioSet default, so different features
    assert not np.allclose(ex.result.features, expected.features.numpy())


def test_a_broken_checkpoint_is_named_not_scored(clip_dir, joint_pretrainer):
    """NaN weights: NaN scores would rank every true patch first (a "perfect" 100%); the summary says the
    checkpoint is broken instead, the figure gets no NaN / Inf (JSON-invalid) cells beyond the masked gaps, and
    a failing audio synthesis is reported next to its button rather than lost in the kernel log."""
    import copy

    import torch

    broken = copy.deepcopy(joint_pretrainer)
    with torch.no_grad():
        for p in broken.encoder.parameters():
            p.fill_(float("nan"))
    ex = ReconstructionExplorer(clips=find_clips(clip_dir), checkpoints={"broken": broken}, frames=FRAMES)
    assert "this checkpoint is broken" in ex.summary.value and "ranked first" not in ex.summary.value
    for trace in ex.figure.data:
        z = np.asarray(trace.z, dtype=object)
        assert all(v is None or np.isfinite(v) for v in z.ravel())
    ex.listen.click()
    status = ex.audio_status.value
    assert "audio failed" in status or "current view" in status, status  # either it failed visibly, or it worked


def test_audio_after_a_failed_switch_says_whose_it_is(clip_dir, joint_pretrainer, tmp_path):
    ex = ReconstructionExplorer(clips=find_clips(clip_dir), frames=FRAMES, audio_iters=2,
                                checkpoints={"ok": joint_pretrainer, "missing": tmp_path / "nope"})
    ex.listen.click()
    assert ex.audio_original.value and "current view" in ex.audio_status.value
    ex.checkpoint.value = "missing"
    assert ex.audio_original.value == b"" and "last view that worked" in ex.audio_status.value
    ex.listen.click()
    assert "not the current selection" in ex.audio_status.value
    ex.checkpoint.value = "ok"
    ex.listen.click()
    assert "audio: current view" in ex.audio_status.value


def test_a_bad_first_entry_is_shown_not_raised(clip_dir, joint_pretrainer, tmp_path):
    clips = {"a_missing.wav": tmp_path / "a_missing.wav", **find_clips(clip_dir)}  # sorted first
    ex = ReconstructionExplorer(clips=clips, checkpoints={"ok": joint_pretrainer}, frames=FRAMES)
    assert "ssamba-explorer-error" in ex.summary.value and "a_missing.wav" in ex.summary.value
    ex.clip.value = next(iter(find_clips(clip_dir)))
    assert "ssamba-explorer-error" not in ex.summary.value and ex.result is not None


def test_clip_length_follows_the_checkpoint_without_frames(clip_dir):
    from ssamba_lab.explore import random_pretrainer

    ex = ReconstructionExplorer(clips=find_clips(clip_dir), frames=None, checkpoints={
        "t32": random_pretrainer("ssamba-tiny", depth=1, embed_dim=32, input_tdim=32),
        "t64": random_pretrainer("ssamba-tiny", depth=1, embed_dim=32, input_tdim=64)})
    assert ex.result.features.shape[0] == 32
    ex.checkpoint.value = "t64"
    assert ex.result.features.shape[0] == 64
    ex.checkpoint.value = "t32"
    assert ex.result.features.shape[0] == 32


def test_patch_numbers_follow_the_token_order(clip_dir):
    from ssamba_lab.explore import random_pretrainer

    kw = {"depth": 1, "embed_dim": 32, "input_tdim": FRAMES}
    ex = ReconstructionExplorer(clips=find_clips(clip_dir), frames=FRAMES, checkpoints={
        "freq": random_pretrainer("ssamba-tiny", token_order="freq_major", **kw),
        "time": random_pretrainer("ssamba-tiny", token_order="time_major", **kw)})
    for name in ("time", "freq"):
        ex.checkpoint.value = name
        hover = np.asarray(ex.figure.data[0].customdata)  # [bins, frames]: the patch under each pixel
        expected = np.kron(ex.result.patch_index, np.ones(ex.result.patch_size, dtype=np.int64))
        assert np.array_equal(hover, expected), name


def test_a_rewritten_checkpoint_is_loaded_again(clip_dir, joint_pretrainer, tmp_path):
    """Training rewrites ``last`` in place: coming back to it shows the new weights."""
    import copy
    import os

    import torch

    path = save_pretrainer(joint_pretrainer, tmp_path / "last")
    ex = ReconstructionExplorer(clips=find_clips(clip_dir), frames=FRAMES,
                                checkpoints={"last": path, "other": joint_pretrainer})
    before = _digest(ex)
    newer = copy.deepcopy(joint_pretrainer)
    with torch.no_grad():
        for p in newer.parameters():
            p.mul_(1.5)
    save_pretrainer(newer, path)
    cfg = path / "config.json"
    os.utime(cfg, ns=(cfg.stat().st_atime_ns, cfg.stat().st_mtime_ns + 10**9))  # a coarse clock: a later stamp
    ex.checkpoint.value = "other"
    ex.checkpoint.value = "last"
    assert _digest(ex) != before
