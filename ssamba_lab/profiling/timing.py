"""Latency of a callable: warm-up, then repeated timed runs (CUDA events on GPU, perf_counter on CPU)."""
from __future__ import annotations

import time
from typing import Callable

import torch

from .config import MeasureConfig


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time_once(fn: Callable[[], object], device: torch.device) -> float:
    """Milliseconds of one call; on CUDA the device time between two events around it."""
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end)
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def warm_up(fn: Callable[[], object], device: torch.device, measure: MeasureConfig) -> float:
    """Run ``fn`` ``measure.warmup`` times (fewer once ``budget_s`` is spent); returns the first run's ms."""
    first = None
    t0 = time.perf_counter()
    for _ in range(measure.warmup):
        ms = _time_once(fn, device)
        first = ms if first is None else first
        if time.perf_counter() - t0 > measure.budget_s:
            break
    synchronize(device)
    return first


def time_runs(fn: Callable[[], object], device: torch.device, measure: MeasureConfig) -> list[float]:
    """Milliseconds of each timed run: ``repeats`` runs, or ``min_repeats`` once ``budget_s`` is spent."""
    times: list[float] = []
    t0 = time.perf_counter()
    while len(times) < measure.repeats:
        times.append(_time_once(fn, device))
        if len(times) >= measure.min_repeats and time.perf_counter() - t0 > measure.budget_s:
            break
    return times
