"""A sweep: the grid of points (cheapest first) and a runner that keeps to a deadline and never crashes on OOM.

Guards, so a sweep on a lent GPU surely ends inside its time limit with everything measured so far kept:
- points run cheapest first (tokens x batch x width, training counted 3x), each row handed to ``on_row`` at once;
- a point whose curve (label, dtype, kind, batch) already ran out of memory at a shorter length, or whose explicit
  attention matrix alone would exceed the device memory, is recorded 'oom_predicted' without running;
- a point whose time, extrapolated from the same curve's previous latency (quadratic in length for attention,
  length^1.2 for Mamba) over ``1 + min_repeats`` runs plus ``budget_s``, would overrun the deadline is recorded
  'skipped_time';
- a Mamba point that fails (not OOM) with its scan backend is retried once with ``fallback_backend`` (both rows are
  kept) and that curve stays on the fallback.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from ..config_checks import check_field_types, check_positive
from ..models import get_config
from .config import MeasureConfig, ProfilePoint
from .environment import environment, resolve_device, total_memory_bytes
from .lengths import config_for
from .measure import Builder, build_for_point, profile_point, row_for
from .rows import ProfileRow

PAPER_LENGTHS = (512, 1024, 2048, 4096, 8192, 16384, 22016, 32768, 65536)  # 22016: the paper's "22k" point
FAMILIES = ("ssamba", "ssam", "ssast")


@dataclass(frozen=True, kw_only=True)
class SweepConfig:
    """The grid: ``families x sizes x lengths x dtypes`` (x ``attn_impls`` for SSAST), plus ``extra_sizes`` at
    ``extra_lengths`` only, plus one training step per ``train_models`` preset (SSAST once per attention)."""

    families: tuple[str, ...] = FAMILIES
    sizes: tuple[str, ...] = ("tiny",)
    lengths: tuple[int, ...] = PAPER_LENGTHS
    dtypes: tuple[str, ...] = ("fp32", "bf16")
    attn_impls: tuple[str, ...] = ("explicit", "sdpa")
    batch_size: int = 4
    extra_sizes: tuple[str, ...] = ()
    extra_lengths: tuple[int, ...] = ()
    train_models: tuple[str, ...] = ()
    train_batch_size: int = 64
    train_tokens: int = 512
    train_dtype: str = "bf16"
    scan_backend: str | None = None

    def __post_init__(self):
        check_field_types(self)
        check_positive(self, "batch_size", "train_batch_size", "train_tokens")
        bad = set(self.families) - set(FAMILIES)
        assert not bad, f"unknown families {sorted(bad)}; valid: {FAMILIES}"
        assert not (set(self.extra_sizes) and not self.extra_lengths), "extra_sizes need extra_lengths"


def _variants(model: str, attn_impls: tuple[str, ...]) -> list[str | None]:
    return list(attn_impls) if get_config(model).arch == "transformer" else [None]


def cost_key(point: ProfilePoint) -> tuple:
    """Rough relative cost for ordering: tokens x batch x width (x3 for a training step)."""
    width = get_config(point.model).embed_dim / 192
    work = point.tokens * point.batch_size * width * (3 if point.kind == "train_step" else 1)
    return (work, point.model, point.label, point.dtype)


def plan_points(cfg: SweepConfig) -> list[ProfilePoint]:
    """Every point of the grid, cheapest first."""
    points: list[ProfilePoint] = []

    def add(sizes, lengths):
        for fam in cfg.families:
            for size in sizes:
                model = f"{fam}-{size}"
                for tokens in lengths:
                    for dtype in cfg.dtypes:
                        for attn in _variants(model, cfg.attn_impls):
                            scan = cfg.scan_backend if attn is None else None
                            points.append(ProfilePoint(model=model, tokens=tokens, dtype=dtype, attn_impl=attn,
                                                       batch_size=cfg.batch_size, scan_backend=scan))
    add(cfg.sizes, cfg.lengths)
    add([s for s in cfg.extra_sizes if s not in cfg.sizes], cfg.extra_lengths)
    for model in cfg.train_models:
        for attn in _variants(model, cfg.attn_impls):
            points.append(ProfilePoint(model=model, tokens=cfg.train_tokens, kind="train_step", dtype=cfg.train_dtype,
                                       attn_impl=attn, batch_size=cfg.train_batch_size,
                                       scan_backend=cfg.scan_backend if attn is None else None))
    unique = list(dict.fromkeys(points))
    return sorted(unique, key=cost_key)


def explicit_attention_bytes(point: ProfilePoint) -> int:
    """Bytes of one fp32 score matrix ``[batch, heads, L, L]`` (softmax runs in fp32 under autocast too)."""
    config, shape = config_for(point.model, point.tokens, attn_impl=point.attn_impl)
    return point.batch_size * config.num_heads * shape.seq_len ** 2 * 4


def run_sweep(points: list[ProfilePoint], *, measure: MeasureConfig = MeasureConfig(), deadline_s: float | None = None,
              on_row: Callable[[ProfileRow], None] | None = None, fallback_backend: str | None = "torch",
              builder: Builder = build_for_point, log: Callable[[str], None] | None = print) -> list[ProfileRow]:
    """Measure ``points`` in order; returns every row (also the OOM / skipped / error ones)."""
    device = resolve_device(measure.device)
    env = environment(device)
    capacity = total_memory_bytes(device)
    start = time.perf_counter()
    last: dict[tuple, tuple[int, float, str]] = {}  # curve -> (tokens, latency s, status) of its latest point
    fallback_curves: set[tuple] = set()
    rows: list[ProfileRow] = []

    def emit(row: ProfileRow) -> None:
        rows.append(row)
        if on_row is not None:
            on_row(row)
        if log is not None:
            ms = f"{row.latency_ms_median:9.2f} ms" if row.status == "ok" else f"{row.status:>12}"
            mib = f"{row.peak_mib:9.1f} MiB" if row.status == "ok" else ""
            log(f"[{time.perf_counter() - start:6.1f}s] {row.kind:10} {row.label:22} {row.dtype} b{row.batch_size:<3} "
                f"{row.tokens:6d} tok  {ms} {mib} {row.scan_backend} {row.note[:120]}")

    for point in points:
        curve = (point.label, point.dtype, point.kind, point.batch_size)
        if curve in fallback_curves:
            point = point.replace(scan_backend=fallback_backend)
        shape = config_for(point.model, point.tokens, attn_impl=point.attn_impl)[1]
        prev = last.get(curve)
        elapsed = time.perf_counter() - start
        skip = None
        if prev is not None and prev[2] in ("oom", "oom_predicted") and point.tokens >= prev[0]:
            skip = ("oom_predicted", f"out of memory already at {prev[0]} tokens")
        elif point.attn_impl == "explicit" and explicit_attention_bytes(point) > capacity:
            skip = ("oom_predicted", f"one score matrix needs {explicit_attention_bytes(point) / 2**30:.0f} GiB "
                                     f"> {capacity / 2**30:.0f} GiB")
        elif deadline_s is not None:
            power = 2.0 if get_config(point.model).arch == "transformer" else 1.2
            guess = 0.0
            if prev is not None and prev[2] == "ok":
                runs = 1 + measure.min_repeats
                guess = prev[1] * (point.tokens / prev[0]) ** power * runs + measure.budget_s
            if elapsed + guess > deadline_s:
                skip = ("skipped_time", f"{elapsed:.0f}s elapsed + {guess:.0f}s predicted > deadline {deadline_s:.0f}s")
        if skip is not None:
            emit(row_for(point, shape, env, status=skip[0], note=skip[1]))
            if skip[0] == "oom_predicted":
                last[curve] = (point.tokens, 0.0, skip[0])
            continue
        row = profile_point(point, measure=measure, device=device, env=env, builder=builder)
        emit(row)
        is_mamba = get_config(point.model).arch == "mamba"
        if (row.status == "error" and is_mamba and fallback_backend is not None
                and row.scan_backend != fallback_backend):
            fallback_curves.add(curve)
            row = profile_point(point.replace(scan_backend=fallback_backend), measure=measure, device=device,
                                env=env, builder=builder)
            emit(row)
        last[curve] = (point.tokens, row.latency_ms_median / 1e3, row.status)
    return rows


