"""``Embedder``: clip and frame embeddings of a frozen encoder for waveforms or files of any length."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from einops import rearrange, reduce
from torch import nn

from ..features import FbankStats, load_audio
from .frontend import frontend_for
from .windows import ColumnPlan, plan_columns

log = logging.getLogger(__name__)

MAX_HOP_MS = 50.0


@dataclass
class FrameEmbeddings:
    """``embeddings [n_sounds, n_frames, D]`` (float32) and their centre times ``timestamps_ms [n_sounds, n_frames]``."""

    embeddings: torch.Tensor
    timestamps_ms: torch.Tensor


def _as_batch(audio) -> torch.Tensor:
    """``[samples]`` / ``[n, samples]`` array or tensor -> float32 ``[n, samples]``."""
    audio = torch.as_tensor(np.asarray(audio) if not isinstance(audio, torch.Tensor) else audio)
    if audio.dim() == 1:
        audio = audio.unsqueeze(0)  # [1, samples]
    assert audio.dim() == 2, f"audio must be [samples] or [n_sounds, samples], got shape {tuple(audio.shape)}"
    return audio.float()


class Embedder:
    """Frozen-encoder features.

    ``model``: anything :func:`ssamba_lab.load_pretrained` returns (its ``.encoder`` is used), an encoder, or a
    path to load. ``window_frames``: frames per window (default: the encoder's input length, i.e. its
    pretraining geometry). ``stats``: fbank normalisation (default: the AudioSet / pretraining statistics).
    Audio is 16 kHz mono.
    """

    def __init__(self, model: nn.Module | str | Path, *, window_frames: int | None = None, batch_size: int = 16,
                 stats: FbankStats | None = None, device: torch.device | str | None = None):
        if isinstance(model, (str, Path)):
            from ..interop.pretrained import load_pretrained

            model = load_pretrained(model)
        self.encoder = (model.encoder if hasattr(model, "encoder") else model).eval()
        if device is not None:
            self.encoder.to(device)
        c = self.encoder.config
        self.window = window_frames or c.input_tdim
        assert self.window >= c.patch_t, f"window_frames {self.window} is shorter than one patch ({c.patch_t})"
        self.batch_size = batch_size
        self.frontend = frontend_for(self.encoder, stats=stats)
        self.dim = c.embed_dim

    @property
    def device(self) -> torch.device:
        return next(self.encoder.parameters()).device

    # ---- public API ------------------------------------------------------------------------------------
    def frame_embeddings(self, audio, *, max_hop_ms: float | None = MAX_HOP_MS) -> FrameEmbeddings:
        """audio ``[n_sounds, samples]`` (or ``[samples]``) -> per-time-column embeddings with centre timestamps.

        Columns are averaged over frequency; spacing is at most ``max_hop_ms`` (``None``: the model's own
        column stride); the last timestamp is within one hop of the end of the audio.
        """
        audio = _as_batch(audio)
        plan = self._plan(audio.shape[1], max_hop_ms)
        cols = self._encode_columns(audio, plan)  # [n, steps, D]
        centres = torch.tensor(plan.centre_frames(), dtype=torch.float64)  # [steps]
        ts = self.frontend.frame_centre_ms(centres).float().expand(audio.shape[0], -1).contiguous()  # [n, steps]
        return FrameEmbeddings(embeddings=cols, timestamps_ms=ts)

    def clip_embeddings(self, audio) -> torch.Tensor:
        """audio ``[n_sounds, samples]`` -> ``[n_sounds, D]``: mean over the time columns covering the audio
        (frequency rows averaged; padding-only columns excluded; prefix tokens excluded)."""
        return self.frame_embeddings(audio, max_hop_ms=None).embeddings.mean(1)  # [n, D]

    def embed_files(self, paths: Sequence[str | Path], *, frames: bool = False) -> list:
        """One result per file (files may differ in length): clip ``[D]`` or :class:`FrameEmbeddings` of one sound."""
        out = []
        for p in paths:
            wav = load_audio(p)  # [samples] at 16 kHz
            out.append(self.frame_embeddings(wav) if frames else self.clip_embeddings(wav)[0])
        return out

    # ---- internals -------------------------------------------------------------------------------------
    def _plan(self, n_samples: int, max_hop_ms: float | None) -> ColumnPlan:
        c = self.encoder.config
        max_hop = None if max_hop_ms is None else max(1, int(max_hop_ms // 10))  # 10 ms per frame
        return plan_columns(self.frontend.num_frames(n_samples), window=self.window, patch_t=c.patch_t, tstride=c.tstride,
                            max_hop=max_hop)

    @torch.no_grad()
    def _encode_columns(self, audio: torch.Tensor, plan: ColumnPlan) -> torch.Tensor:
        """Run every (sound, window, shift) and interleave the columns: ``[n, plan.n_steps, D]`` float32."""
        feats = torch.stack([self.frontend.features(w, pad_to=plan.padded_frames)[: plan.padded_frames]
                             for w in audio])  # [n, L, bins]
        starts = [plan.window_start(w, s) for w in range(plan.n_windows) for s in range(plan.shifts)]
        windows = torch.stack([feats[:, a:a + plan.window] for a in starts], dim=1)  # [n, W*S, window, bins]
        flat = rearrange(windows, "n ws t f -> (n ws) t f")
        cols = torch.cat([self._columns(flat[i:i + self.batch_size]) for i in range(0, flat.shape[0], self.batch_size)])
        cols = rearrange(cols, "(n w s) c d -> n (w c s) d", n=audio.shape[0], w=plan.n_windows, s=plan.shifts)
        return cols[:, : plan.n_steps].float().cpu().contiguous()  # [n, steps, D]

    def _columns(self, x: torch.Tensor) -> torch.Tensor:
        """Windows ``[b, window, bins]`` -> per-time-column embeddings ``[b, n_cols, D]`` (mean over frequency)."""
        enc = self.encoder
        tokens = enc(x.to(self.device))  # [b, P + F*T, D]
        nf, nt = enc.grid_for(x.shape[1], x.shape[2])
        order = "b (f t) d -> b t d" if enc.config.token_order == "freq_major" else "b (t f) d -> b t d"
        return reduce(tokens[:, enc.num_prefix_tokens:], order, "mean", f=nf, t=nt)  # [b, T, D]
