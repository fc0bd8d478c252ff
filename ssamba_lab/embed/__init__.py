"""Frozen embeddings of audio of any length: clip (scene) embeddings and frame embeddings with timestamps.

``Embedder(model_or_path)`` picks the model's frontend (Kaldi fbank for SSAMBA/SSAST, per-clip log-mel for
SSAM), cuts the features into windows of the model's input length, batches them, and returns float32 tensors.
"""
from .embedder import Embedder, FrameEmbeddings
from .frontend import Frontend, frontend_for
from .windows import ColumnPlan, plan_columns

__all__ = ["Embedder", "FrameEmbeddings", "Frontend", "frontend_for", "ColumnPlan", "plan_columns"]
