"""The HEAR validator's checks (shapes, float32, regular spacing, last timestamp within two hops of the end) and
the embedding API's windowing, on small random checkpoints of each family."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

import ssamba_lab.hear as hear
from ssamba_lab.checkpoint import save_checkpoint
from ssamba_lab.embed import Embedder
from ssamba_lab.models import build_encoder, get_config

SR = 16000
SMALL = {  # name -> overrides: shallow, short windows so CPU runs take a second
    "ssamba-tiny": dict(depth=2, input_tdim=128),
    "ssam-tiny": dict(depth=2, input_tdim=100),
    "ssast-tiny": dict(depth=1, input_tdim=128),
}


@pytest.fixture(scope="module", params=list(SMALL))
def model_dir(request, tmp_path_factory):
    torch.manual_seed(0)
    enc = build_encoder(get_config(request.param, **SMALL[request.param]))
    path = tmp_path_factory.mktemp(request.param) / "ck"
    save_checkpoint(path, state_dict=enc.state_dict(), config={"kind": "encoder", "encoder": enc.config.to_dict()})
    return path


def _audio(n_sounds: int, seconds: float, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n_sounds, round(seconds * SR), generator=g) * 2 - 1) * 0.5  # [n, samples] in [-1, 1]


@pytest.mark.parametrize("seconds", [1.07, 1.98, 4.0])
def test_hear_validator_checks(model_dir, seconds):
    model = hear.load_model(str(model_dir), device="cpu")
    assert model.sample_rate == 16000
    assert isinstance(model.scene_embedding_size, int) and isinstance(model.timestamp_embedding_size, int)
    audio = _audio(3, seconds)
    emb, ts = hear.get_timestamp_embeddings(audio, model)
    assert emb.dim() == 3 and emb.shape[0] == 3 and emb.shape[2] == model.timestamp_embedding_size
    assert ts.shape == emb.shape[:2]
    assert emb.dtype == torch.float32 and ts.dtype == torch.float32
    assert torch.isfinite(emb).all()
    hops = np.diff(ts.numpy(), axis=1)
    assert emb.shape[1] >= 2
    assert np.allclose(hops, hops[0, 0], atol=1e-3), "timestamps must be evenly spaced"
    hop = float(hops[0, 0])
    assert 0 < hop <= 50.0
    end_ms = 1000.0 * audio.shape[1] / SR
    assert (ts[:, 0] >= 0).all() and (ts[:, -1] <= end_ms).all()
    assert (end_ms - ts[:, -1] <= 2 * hop).all(), f"last timestamp {ts[0, -1]} not within two hops of {end_ms}"
    scene = hear.get_scene_embeddings(audio, model)
    assert scene.shape == (3, model.scene_embedding_size) and scene.dtype == torch.float32
    # each sound is embedded on its own: batch neighbours do not leak in
    alone = hear.get_scene_embeddings(audio[1:2], model)
    torch.testing.assert_close(alone[0], scene[1], rtol=1e-5, atol=1e-5)
    assert not torch.allclose(scene[0], scene[1])


@pytest.mark.parametrize("seconds", [0.005, 0.05])
def test_shorter_than_one_patch(model_dir, seconds):
    model = hear.load_model(str(model_dir), device="cpu")
    audio = _audio(2, seconds)
    emb, ts = hear.get_timestamp_embeddings(audio, model)
    assert emb.shape[:2] == ts.shape and emb.shape[1] >= 1 and torch.isfinite(emb).all()
    assert hear.get_scene_embeddings(audio, model).shape == (2, model.scene_embedding_size)


def test_empty_path_gives_random_ssamba_tiny_with_warning():
    """The same weights every time (seed 0), without touching the caller's random state."""
    torch.manual_seed(123)
    state = torch.get_rng_state()
    with pytest.warns(UserWarning, match="randomly initialised ssamba-tiny"):
        model = hear.load_model("", device="cpu")
    assert torch.equal(torch.get_rng_state(), state), "load_model('') changed the global RNG state"
    assert model.scene_embedding_size == model.timestamp_embedding_size == 192
    with pytest.warns(UserWarning):
        again = hear.load_model("", device="cpu")
    for (name, a), b in zip(model.encoder.state_dict().items(), again.encoder.state_dict().values()):
        assert torch.equal(a, b), name


def test_interleaved_columns_are_the_shifted_windows_columns():
    """Timestamp k must be column c of the window started at w * span + s * hop (the plan's bookkeeping)."""
    torch.manual_seed(0)
    enc = build_encoder(get_config("ssamba-tiny", depth=2, input_tdim=64)).eval()
    e = Embedder(enc, batch_size=5)
    wav = _audio(1, 2.5)[0]
    out = e.frame_embeddings(wav)
    plan = e._plan(wav.numel(), 50.0)
    assert plan.shifts == 4 and plan.n_windows >= 2 and out.embeddings.shape[1] == plan.n_steps
    feats = e.frontend.features(wav, pad_to=plan.padded_frames)
    for k in (0, 5, plan.n_steps - 1):
        g, s = divmod(k, plan.shifts)
        w, c = divmod(g, plan.n_cols)
        a = plan.window_start(w, s)
        with torch.no_grad():
            tokens = enc(feats[None, a:a + plan.window])  # [1, 1 + 8 * n_cols, D]
        column = tokens[0, 1:].reshape(8, plan.n_cols, -1)[:, c].mean(0)  # frequency-major grid
        torch.testing.assert_close(out.embeddings[0, k], column, rtol=1e-5, atol=1e-5)
        # centred: the column spans frames a + c * 16 .. + 15; Kaldi frame f is centred at 10 f + 12.5 ms
        assert out.timestamps_ms[0, k].item() == pytest.approx(10 * (a + c * 16 + 7.5) + 12.5)


def test_embed_files_of_different_lengths(tmp_path):
    torch.manual_seed(0)
    e = Embedder(build_encoder(get_config("ssam-tiny", depth=1, input_tdim=100)))
    paths = []
    for i, sec in enumerate((0.3, 2.7)):
        p = tmp_path / f"{i}.wav"
        sf.write(p, _audio(1, sec, seed=i)[0].numpy(), SR)
        paths.append(p)
    clips = e.embed_files(paths)
    frames = e.embed_files(paths, frames=True)
    assert [c.shape for c in clips] == [(192,), (192,)]
    assert frames[1].embeddings.shape[1] > frames[0].embeddings.shape[1]
