"""Backend dispatch for the scan and the short causal conv.

Backends register themselves here. ``auto`` picks, per device type, the first available backend of
``AUTO_ORDER``; ``SSAMBA_SCAN_BACKEND`` or a ``backend=`` argument overrides it. GPU libraries are imported
lazily and behind a guard: mamba-ssm cannot even be imported without its CUDA extension.

A backend's ``load()`` returns :class:`Ops` (or the plain ``(selective_scan, causal_conv1d)`` pair). Besides the
two required ops it may provide the optional fused hook

``bidirectional_mixer(x, z, fwd, bwd) -> y``
    Everything of a bidirectional ``MambaMixer`` between ``in_proj`` and ``out_proj``, both directions.
    ``x, z``: ``[batch, d_inner, length]``, the two halves of ``in_proj``'s output (any strides: they are views
    of its ``[batch, length, 2 d_inner]`` result). ``fwd``, ``bwd``: ``MambaMixer.direction_params('')`` and
    ``direction_params('_b')``: ``conv_weight [e, k]``, ``conv_bias [e]``, ``x_proj_weight [r + 2n, e]``,
    ``dt_proj_weight [e, r]``, ``dt_bias [e]``, ``A [e, n]`` (already ``-exp(A_log)``), ``D [e]``.
    Returns ``[batch, d_inner, length]`` equal (within float32 tolerance, forward and gradients) to::

        u_f = silu(causal_conv(x, fwd))                      # causal: t sees x[t-k+1 .. t]
        u_b = flip(silu(causal_conv(flip(x), bwd)))          # anti-causal: t sees x[t .. t+k-1]
        y_f = scan(u_f, dt_f, B_f, C_f) over t = 0 .. L-1    # selective_scan with delta_softplus, dt_bias
        y_b = scan(u_b, dt_b, B_b, C_b) over t = L-1 .. 0    # on natural-order inputs: no flips needed
        y   = silu(z) * (y_f + y_b) / 2

    where ``x_dbl = u @ x_proj_weight.T``, ``dt = x_dbl[..., :r] @ dt_proj_weight.T`` and ``B, C`` are the next
    ``n`` columns each, per direction. The mixer calls it when present (``bidirectional`` mixers only) and
    otherwise runs the reference path (two ``selective_scan`` calls, the backward one on flipped copies). Any
    memory layout may be returned; channel-last (``[b, l, e]`` memory) lets ``out_proj`` skip a transpose.

``add_norm(x, residual, weight, bias, eps, *, x_scale=None, out_dtype=None) -> (normed, new_residual)``
    The pre-norm block boundary of ``MambaEncoder``: ``r = residual + x_scale[sample] * x`` (``residual`` alone
    when x is None; x_scale: stochastic depth's ``[batch]`` factors or None) and ``layer_norm(r)`` in
    ``out_dtype`` (None: r's dtype), r having ``torch.result_type(residual, x)``. Without it the encoder runs
    its blocks unfused (``MambaBlock.forward``).

``prepare_mixer(fwd, bwd) -> weights`` (only with the hook)
    The hook's parameters in the backend's own form (stacked, padded); the hook then also takes ``weights=``.
    A mixer called without gradients keeps ``fwd``, ``bwd`` and ``weights`` until a parameter changes, so
    short inputs do not pay for re-building them every call.
"""
from __future__ import annotations

import functools
import importlib
import os
from dataclasses import dataclass
from typing import Callable

import torch

ENV_VAR = "SSAMBA_SCAN_BACKEND"


@dataclass(frozen=True)
class Ops:
    """What a backend provides; unpacks as ``scan, conv = ops`` like the original pair."""

    selective_scan: Callable
    causal_conv1d: Callable
    bidirectional_mixer: Callable | None = None  # optional fused hook, semantics in the module docstring
    prepare_mixer: Callable | None = None  # optional, with the hook: its weights, kept by mixers in inference
    add_norm: Callable | None = None  # optional: residual add + LayerNorm, semantics in the module docstring

    def __iter__(self):
        return iter((self.selective_scan, self.causal_conv1d))


@dataclass(frozen=True)
class Backend:
    name: str
    devices: tuple[str, ...]  # device types it can run on
    is_available: Callable[[], bool]
    load: Callable[[], "Ops | tuple[Callable, Callable]"]  # -> Ops or (selective_scan, causal_conv1d)


_REGISTRY: dict[str, Backend] = {}
# Preference when the backend is "auto"; the first available one for the tensor's device type wins.
# CUDA inference: the fused Triton kernels (fewer launches: 16 vs 33 ms for ssamba-tiny at 512 tokens, equal at 22k;
# benchmarks/results/gpu_speed.md). Pure PyTorch is 3-30x slower (gpu_backend_latency.json).
AUTO_ORDER: dict[str, list[str]] = {"cuda": ["triton", "mamba_ssm", "torch"], "cpu": ["torch"]}
# When gradients are needed. Until 2026-12-02 mamba-ssm came first (its backward was 2.8-3.2x faster than the
# chunked Triton one). The seq backward (triton_scan_seq_bwd_kernels) turned that round: training step on an H200,
# 64 x 512 tokens, ssamba-tiny 142 ms with triton vs 192 ms with mamba_ssm, ssamba-base 340 vs 714 ms
# (benchmarks/results/gpu_seq_bwd_h200_r6). Devices not listed use AUTO_ORDER.
AUTO_ORDER_TRAIN: dict[str, list[str]] = {"cuda": ["triton", "mamba_ssm", "torch"]}


def register_backend(backend: Backend, *, prefer_on: tuple[str, ...] = ()) -> None:
    """Add a backend; ``prefer_on`` puts it first in the auto order for those device types."""
    _REGISTRY[backend.name] = backend
    for dev in prefer_on:
        order = AUTO_ORDER.setdefault(dev, ["torch"])
        if backend.name in order:
            order.remove(backend.name)
        order.insert(0, backend.name)


def available_backends(device_type: str | None = None) -> list[str]:
    return [n for n, b in _REGISTRY.items() if (device_type is None or device_type in b.devices) and b.is_available()]


def resolve_backend(device: torch.device | str, backend: str | None = None, *, training: bool = False) -> str:
    """The backend name to use for tensors on ``device``; raises naming the valid choices. ``training``: the
    call needs gradients (``auto`` then prefers the backend with the fastest backward)."""
    device_type = torch.device(device).type
    name = backend or os.environ.get(ENV_VAR, "auto") or "auto"
    if name == "auto":
        order = (AUTO_ORDER_TRAIN if training and device_type in AUTO_ORDER_TRAIN else AUTO_ORDER)
        for cand in order.get(device_type, ["torch"]):
            b = _REGISTRY.get(cand)
            if b is not None and device_type in b.devices and b.is_available():
                return cand
        return "torch"
    if name not in _REGISTRY:
        raise ValueError(f"unknown scan backend {name!r} (from {'argument' if backend else ENV_VAR}); "
                         f"valid: auto, {', '.join(sorted(_REGISTRY))}")
    b = _REGISTRY[name]
    if device_type not in b.devices:
        raise ValueError(f"scan backend {name!r} runs on {b.devices}, not on {device_type!r} tensors")
    if not b.is_available():
        raise RuntimeError(f"scan backend {name!r} is not available in this environment "
                           f"(available for {device_type}: {', '.join(available_backends(device_type))})")
    return name


@functools.lru_cache(maxsize=None)
def _load(name: str) -> Ops:
    ops = _REGISTRY[name].load()
    return ops if isinstance(ops, Ops) else Ops(*ops)


def get_ops(device: torch.device | str, backend: str | None = None, *, training: bool = False) -> Ops:
    """The :class:`Ops` for tensors on ``device``; unpacks as ``(selective_scan, causal_conv1d)``."""
    return _load(resolve_backend(device, backend, training=training))


def _module_importable(module: str) -> Callable[[], bool]:
    @functools.lru_cache(maxsize=None)
    def check() -> bool:
        if not torch.cuda.is_available():
            return False
        try:
            importlib.import_module(module)
            return True
        except Exception:  # ImportError or a broken CUDA extension (undefined symbol, ...)
            return False
    return check


def _load_torch():
    from .conv import causal_conv1d_torch
    from .scan_torch import selective_scan_torch
    return selective_scan_torch, causal_conv1d_torch


def _load_mamba_ssm():
    from mamba_ssm.ops.selective_scan_interface import selective_scan_fn

    try:
        from causal_conv1d import causal_conv1d_fn
    except Exception:  # causal-conv1d is optional beside mamba-ssm
        from .conv import causal_conv1d_torch as causal_conv1d_fn

    def scan(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False):
        return selective_scan_fn(u.contiguous(), delta.contiguous(), A.contiguous(), B.contiguous(), C.contiguous(),
                                 D, None if z is None else z.contiguous(), delta_bias, delta_softplus)

    def conv(x, weight, bias=None, activation="silu"):
        # causal-conv1d 1.7.0's backward is wrong for channel-first contiguous fp32 input at length 513 (dx off by
        # 18%, weight by 4%) and right for channel-last memory (benchmarks/results/causal_conv1d_grad_check.json),
        # so it always gets channel-last memory: a free view for the mixer's in_proj slices and flipped copies.
        if x.stride(1) != 1:
            x = x.transpose(1, 2).contiguous().transpose(1, 2)  # [b, e, l] view of [b, l, e] memory
        return causal_conv1d_fn(x, weight.contiguous(), bias, activation=activation)  # [b, e, l]

    return scan, conv


@functools.lru_cache(maxsize=None)
def _numba_available() -> bool:
    try:  # optional dependency: ssamba-lab[cpu]
        importlib.import_module("numba")
        return True
    except Exception:
        return False


def _load_numba() -> Ops:
    from .bimamba_cpu import bidirectional_mixer_numba
    from .conv import causal_conv1d_torch
    from .scan_numba import selective_scan_numba

    return Ops(selective_scan_numba, causal_conv1d_torch, bidirectional_mixer_numba)


def _load_triton() -> Ops:
    from .conv import causal_conv1d_torch
    from .scan_triton import add_layer_norm, bidirectional_mixer_triton, prepare_mixer, selective_scan_triton

    return Ops(selective_scan_triton, causal_conv1d_torch, bidirectional_mixer_triton, prepare_mixer, add_layer_norm)


register_backend(Backend("torch", ("cpu", "cuda"), lambda: True, _load_torch))
# Fused CPU kernels; the automatic choice on CPU when numba is installed: 12x faster inference, 14x faster
# training than "torch" on ssamba-tiny (benchmarks/results/cpu_speed.md). SSAMBA_SCAN_BACKEND=torch selects the reference.
register_backend(Backend("numba", ("cpu",), _numba_available, _load_numba), prefer_on=("cpu",))
register_backend(Backend("mamba_ssm", ("cuda",), _module_importable("mamba_ssm.ops.selective_scan_interface"),
                         _load_mamba_ssm))
# Fused Triton kernels (both directions in one launch, no flips; benchmarks/gpu_speed.py).
register_backend(Backend("triton", ("cuda",), _module_importable("triton"), _load_triton))
