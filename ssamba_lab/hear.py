"""The HEAR 2021 API (frozen-embedding benchmark): ``load_model``, ``get_scene_embeddings``,
``get_timestamp_embeddings`` (SSAMBA_FACTS section 9).

    import ssamba_lab.hear as hear
    model = hear.load_model("checkpoints/ssamba-tiny")      # ours, or amba_tiny_400.pth, or "" (random)
    emb, ts = hear.get_timestamp_embeddings(audio, model)    # audio: [n_sounds, n_samples] at 16 kHz in [-1, 1]

Scene embedding = mean over the time columns covering the sound; timestamp embeddings are the encoder's time
columns (frequency rows averaged), centred, evenly spaced at most 50 ms apart (shifted runs interleaved when
the model's columns are coarser), the last within one hop of the end. Outputs are float32 tensors on the CPU.
"""
from __future__ import annotations

import logging
import warnings
from typing import Tuple

import torch
from torch import nn

from .embed import Embedder

log = logging.getLogger(__name__)

RANDOM_MODEL = "ssamba-tiny"


class HearModel(nn.Module):
    """An :class:`~ssamba_lab.embed.Embedder` with the attributes HEAR reads."""

    sample_rate = 16000

    def __init__(self, embedder: Embedder):
        super().__init__()
        self.embedder = embedder
        self.encoder = embedder.encoder  # registered so .to(device) moves it
        self.scene_embedding_size = int(embedder.dim)
        self.timestamp_embedding_size = int(embedder.dim)


def load_model(model_file_path: str = "", *, window_frames: int | None = None, batch_size: int = 16,
               device: str | None = None) -> HearModel:
    """A checkpoint directory of ours or a released ``.pth``; an empty path gives a randomly initialised
    ``ssamba-tiny`` (a baseline; says so with a warning)."""
    if model_file_path:
        from .interop.pretrained import load_pretrained

        model = load_pretrained(model_file_path)
    else:
        from .models import build_model

        msg = f"load_model(''): no checkpoint given, using a randomly initialised {RANDOM_MODEL} (seed 0)"
        log.warning(msg)
        warnings.warn(msg, stacklevel=2)
        with torch.random.fork_rng(devices=[]):  # seed 0 for the weights, the caller's RNG state untouched
            torch.manual_seed(0)
            model = build_model(RANDOM_MODEL)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return HearModel(Embedder(model, window_frames=window_frames, batch_size=batch_size, device=device)).eval()


def get_timestamp_embeddings(audio: torch.Tensor, model: HearModel) -> Tuple[torch.Tensor, torch.Tensor]:
    """audio ``[n_sounds, n_samples]`` -> (``[n_sounds, n_frames, timestamp_embedding_size]``,
    ``timestamps_ms [n_sounds, n_frames]``), both float32."""
    out = model.embedder.frame_embeddings(audio)
    return out.embeddings.float(), out.timestamps_ms.float()


def get_scene_embeddings(audio: torch.Tensor, model: HearModel) -> torch.Tensor:
    """audio ``[n_sounds, n_samples]`` -> ``[n_sounds, scene_embedding_size]`` float32."""
    return model.embedder.clip_embeddings(audio).float()
