"""What to measure (ProfilePoint) and how to measure it (MeasureConfig)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from ..config_checks import check_device, check_field_types, check_positive

DTYPES = ("fp32", "bf16")
KINDS = ("inference", "train_step")


@dataclass(frozen=True, kw_only=True)
class ProfilePoint:
    """One measurement: a preset encoder at one input length, batch size, precision and (transformer) attention.

    ``tokens`` is the requested number of patches; the input gets the fewest time columns that hold that many
    (see :func:`ssamba_lab.profiling.lengths.input_shape_for`), so the measured count can be a little larger.
    """

    model: str  # preset name, e.g. 'ssamba-tiny'
    tokens: int
    kind: Literal["inference", "train_step"] = "inference"
    dtype: Literal["fp32", "bf16"] = "fp32"  # bf16 = torch.autocast(bfloat16) over fp32 weights
    attn_impl: Literal["sdpa", "explicit"] | None = None  # transformers only; None = preset default
    batch_size: int = 4
    scan_backend: str | None = None  # Mamba models only; None = ops' automatic choice

    def __post_init__(self):
        check_field_types(self)
        assert self.tokens >= 1, f"tokens must be positive, got {self.tokens}"
        assert self.batch_size >= 1, f"batch_size must be positive, got {self.batch_size}"
        assert self.dtype in DTYPES, f"dtype must be one of {DTYPES}, got {self.dtype!r}"
        assert self.kind in KINDS, f"kind must be one of {KINDS}, got {self.kind!r}"
        assert self.attn_impl in (None, "sdpa", "explicit"), f"bad attn_impl {self.attn_impl!r}"

    @property
    def family(self) -> str:
        return self.model.split("-")[0]

    @property
    def size(self) -> str:
        return self.model.split("-", 1)[1]

    @property
    def label(self) -> str:
        """Curve name: the preset, plus '/attention' for transformers and '@backend' for a forced scan backend."""
        name = f"{self.model}/{self.attn_impl}" if self.attn_impl else self.model
        return f"{name}@{self.scan_backend}" if self.scan_backend else name

    def replace(self, **overrides) -> "ProfilePoint":
        return replace(self, **overrides)


@dataclass(frozen=True, kw_only=True)
class MeasureConfig:
    """Repetition policy. Timed runs stop after ``repeats``, or after ``min_repeats`` once ``budget_s`` is spent,
    so the slowest points still finish (each point costs about ``warmup + min_repeats`` runs at worst)."""

    device: str = "auto"  # 'auto' -> cuda if available else cpu
    warmup: int = 2
    repeats: int = 10
    min_repeats: int = 3
    budget_s: float = 3.0  # per point, for the timed runs beyond min_repeats (and for warm-ups beyond the first)
    memory_sample_s: float = 0.001  # CPU only: RSS sampling interval
    # on CUDA: time replays of the forward (models.GraphedInference) or of the whole training step
    # (models.GraphedTrainStep) captured as one CUDA graph, which removes host launch overhead; give every model
    # of a comparison the same setting
    cuda_graph: bool = False

    def __post_init__(self):
        check_field_types(self)
        check_device(self)
        assert self.warmup >= 1, "at least one warm-up run (it also triggers lazy kernel loading)"
        assert 1 <= self.min_repeats <= self.repeats, (
            f"need 1 <= min_repeats ({self.min_repeats}) <= repeats ({self.repeats})")
        assert self.budget_s > 0, "budget_s must be positive"
        check_positive(self, "memory_sample_s")
