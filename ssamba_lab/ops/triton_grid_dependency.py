"""Programmatic dependent launch (PDL, Hopper and later) for the Triton kernels of a layer.

A kernel launched with ``launch_pdl`` may be scheduled while the kernel before it in the stream is still running.
It must not touch memory before ``griddepcontrol.wait``, which returns once that kernel has finished and its
writes are visible; it then lets the kernel after it be scheduled (``griddepcontrol.launch_dependents``). So
the only thing that moves is the launch of the next kernel, which overlaps the end of this one; the order of
memory accesses is the stream's. Where it could pay: CUDA-graph replays of short inputs, where SSAMBA-tiny's 218
launches at 4 x 512 tokens leave ~0.35 ms of gaps in a 1.86 ms step (benchmarks/results/GPU_HIST_2026-12-04.md).

Kernels take a ``PDL`` constexpr and call ``grid_dependency_wait(PDL)`` before their first load; launchers add
``pdl_launch(device)`` to their keyword arguments (nothing when off, off CUDA, on a GPU older than sm_90, or with a
Triton that has no ``launch_pdl`` option). Both instructions are no-ops in a kernel launched without PDL.
"""
from __future__ import annotations

import functools

import torch
import triton
import triton.language as tl


@triton.jit
def grid_dependency_wait(PDL: tl.constexpr):
    """With PDL: wait for the previous kernel in the stream (all of its writes), then allow the next to launch."""
    if PDL:
        tl.inline_asm_elementwise("griddepcontrol.wait; // $0", "=r", [], dtype=tl.int32, is_pure=False, pack=1)
        tl.inline_asm_elementwise("griddepcontrol.launch_dependents; // $0", "=r", [], dtype=tl.int32,
                                  is_pure=False, pack=1)


@functools.cache
def _triton_has_pdl() -> bool:
    try:
        from triton.backends.nvidia.compiler import CUDAOptions
    except ImportError:  # a Triton without the NVIDIA backend
        return False
    return "launch_pdl" in getattr(CUDAOptions, "__dataclass_fields__", {})


@functools.cache
def _capability(index: int) -> tuple[int, int]:
    return torch.cuda.get_device_capability(index)


def pdl_supported(device: torch.device) -> bool:
    """Whether kernels on ``device`` can be launched with PDL (compiled CUDA, sm_90 or later, a Triton with it)."""
    if device.type != "cuda" or not _triton_has_pdl():
        return False
    index = device.index if device.index is not None else torch.cuda.current_device()
    return _capability(index)[0] >= 9


def pdl_launch(on: bool, device: torch.device) -> dict:
    """Launch keyword arguments for a kernel with a ``PDL`` constexpr: ``launch_pdl`` and ``PDL`` when ``on`` and
    supported, else nothing (the kernel's default, PDL False)."""
    return {"launch_pdl": True, "PDL": True} if on and pdl_supported(device) else {}
