"""Measure one ProfilePoint: build the encoder, time it, take its peak memory; OOM becomes a row, not a crash."""
from __future__ import annotations

import contextlib
import gc
import statistics
from typing import Callable

import torch
from torch import nn

from ..models import GraphedInference, GraphedTrainStep, build_encoder
from ..ops import resolve_backend
from .config import MeasureConfig, ProfilePoint
from .environment import Environment, environment, resolve_device
from .lengths import InputShape, config_for
from .memory import MIB, PeakMemory, tensor_bytes
from .rows import ProfileRow
from .timing import time_runs, warm_up

Builder = Callable[[ProfilePoint], tuple[nn.Module, InputShape]]


def build_for_point(point: ProfilePoint) -> tuple[nn.Module, InputShape]:
    """The preset encoder with ``input_tdim`` fitted to the point's length (and its attention / scan backend)."""
    config, shape = config_for(point.model, point.tokens, attn_impl=point.attn_impl)
    model = build_encoder(config)
    if point.scan_backend is not None:
        assert hasattr(model, "set_scan_backend"), f"{point.model} has no scan backend to set"
        model.set_scan_backend(point.scan_backend)
    return model, shape


def is_oom(exc: BaseException) -> bool:
    """CUDA OOM (torch.OutOfMemoryError, or a RuntimeError from an extension) or a failed host allocation."""
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    msg = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in msg or "can't allocate memory" in msg)


def free_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()


def _autocast(device: torch.device, dtype: str):
    if dtype == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def make_step(model: nn.Module, x: torch.Tensor, point: ProfilePoint, device: torch.device, *,
              cuda_graph: bool = False) -> Callable[[], None]:
    """The callable that is timed. x: ``[batch, frames, bins]``.

    inference: eval mode, inference_mode, the whole encoder forward. train_step: train mode, forward, a
    stand-in loss (mean square of the output tokens: a cheap head so the backward covers every block), backward,
    Adam step. With ``cuda_graph`` on CUDA, either is a replay of it captured as one CUDA graph
    (``GraphedInference``, ``GraphedTrainStep``; the training one with ``Adam(capturable=True)``, whose step
    count stays on the GPU, and three real warm-up steps before the capture).
    """
    if point.kind == "inference":
        model.eval()
        if cuda_graph and device.type == "cuda":
            graphed = GraphedInference(model, x, autocast_bf16=point.dtype == "bf16")
            return lambda: graphed(x)

        def step() -> None:
            with torch.inference_mode(), _autocast(device, point.dtype):
                model(x)  # [b, P + N, D], discarded
        return step

    model.train()
    if cuda_graph and device.type == "cuda":
        opt = torch.optim.Adam(model.parameters(), lr=1e-4, capturable=True)
        graphed_step = GraphedTrainStep(model, opt, _stand_in_loss, x, autocast_bf16=point.dtype == "bf16")
        return lambda: graphed_step(x)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def train_step() -> None:
        opt.zero_grad(set_to_none=True)
        with _autocast(device, point.dtype):
            out = model(x)  # [b, P + N, D]
        loss = _stand_in_loss(out)  # scalar
        loss.backward()
        opt.step()
    return train_step


def _stand_in_loss(out: torch.Tensor) -> torch.Tensor:
    """Mean square of the encoder's output tokens ``[b, P + N, D]``, in float32: a scalar."""
    return out.float().pow(2).mean()


def row_for(point: ProfilePoint, shape: InputShape | None, env: Environment, *, status: str, note: str = "",
            scan_backend: str = "") -> ProfileRow:
    """A row with the point's identity and environment filled in and no measurements."""
    return ProfileRow(kind=point.kind, label=point.label, model=point.model, family=point.family, size=point.size,
                      attn_impl=point.attn_impl or "", dtype=point.dtype, batch_size=point.batch_size,
                      tokens=point.tokens, num_patches=shape.num_patches if shape else 0,
                      seq_len=shape.seq_len if shape else 0, frames=shape.frames if shape else 0, status=status,
                      device=env.device, device_name=env.device_name, torch_version=env.torch_version,
                      cuda_version=env.cuda_version, scan_backend=scan_backend, note=note)


def profile_point(point: ProfilePoint, *, measure: MeasureConfig = MeasureConfig(), device: torch.device | None = None,
                  env: Environment | None = None, builder: Builder = build_for_point) -> ProfileRow:
    """Measure one point. Out-of-memory -> status 'oom'; any other exception -> status 'error' (with the message
    in ``note``); memory is freed either way so the next point starts clean."""
    device = device or resolve_device(measure.device)
    env = env or environment(device)
    model = x = step = shape = None
    status, note, times, mem, weights, params, scan = "ok", "", [], None, 0, 0, ""
    try:
        model, shape = builder(point)
        scan = resolve_backend(device, point.scan_backend) if hasattr(model, "set_scan_backend") else ""
        params = sum(p.numel() for p in model.parameters())
        model = model.to(device)
        weights = tensor_bytes(model)
        x = torch.randn(point.batch_size, shape.frames, shape.bins, device=device)  # [b, frames, bins]
        step = make_step(model, x, point, device, cuda_graph=measure.cuda_graph)
        warm_up(step, device, measure)
        if device.type == "cuda":  # the allocator's peak costs nothing: read it over the timed runs
            with PeakMemory(device) as mem:
                times = time_runs(step, device, measure)
        else:  # the RSS sampler would disturb the timing: one separate run
            times = time_runs(step, device, measure)
            with PeakMemory(device, sample_s=measure.memory_sample_s) as mem:
                step()
    except Exception as exc:  # noqa: BLE001 - every failure becomes a row; the sweep goes on
        status = "oom" if is_oom(exc) else "error"
        first_line = (str(exc).strip().splitlines() or [""])[0]
        note = f"{type(exc).__name__}: {first_line[:300]}"
    finally:
        del model, x, step
        free_memory(device)
    graphed = status == "ok" and measure.cuda_graph and device.type == "cuda"
    if graphed:
        note = "cuda graph replay; memory not measured (see the eager row)"
    row = row_for(point, shape, env, status=status, note=note, scan_backend=scan)
    if status != "ok":
        return row
    med = statistics.median(times)
    row.latency_ms_median, row.latency_ms_min, row.latency_ms_max = med, min(times), max(times)
    row.n_repeats = len(times)
    row.samples_per_s = point.batch_size / (med / 1e3)
    row.working_mib = mem.working_bytes / MIB
    row.weights_mib = weights / MIB
    row.params_m = params / 1e6
    input_bytes = point.batch_size * shape.frames * shape.bins * 4
    # GPU: the allocator's peak already holds weights and input; CPU: RSS also holds the interpreter and
    # libraries, so the total is built from the parts instead.
    row.peak_mib = mem.peak_bytes / MIB if device.type == "cuda" else (mem.working_bytes + weights + input_bytes) / MIB
    row.memory_measure = mem.measure
    if graphed:  # a replay allocates nothing: its intermediates live in the graph's pool, reserved at capture
        row.working_mib = row.peak_mib = float("nan")
    return row
