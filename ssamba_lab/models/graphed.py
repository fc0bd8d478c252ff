"""An encoder's inference forward captured as one CUDA graph for a fixed input shape (issue 8: short inputs).

At 4 x 512 tokens ssamba-tiny is launch-bound: ~730 kernel launches and ~38 ms of host time for ~3.3 ms of GPU
work (H200, benchmarks/results/gpu_profile_steps_r7.md). Replaying a captured graph removes the host side; it
helps any model the same way (ssast-tiny too), so compare graphed against graphed.

    graphed = GraphedInference(model, example)  # example: [b, frames, bins] on the GPU; captures once
    out = graphed(x)  # same shape and dtype as example; a fresh tensor each call

Off CUDA it runs the model eagerly (there is nothing to capture).
"""
from __future__ import annotations

import contextlib

import torch
from torch import nn


class GraphedInference:
    """``model`` in eval mode under ``inference_mode`` (and bf16 autocast if ``autocast_bf16``), as a CUDA graph
    for inputs shaped like ``example``."""

    def __init__(self, model: nn.Module, example: torch.Tensor, *, autocast_bf16: bool = False, warmup: int = 2):
        self.model = model.eval()
        self.autocast_bf16 = autocast_bf16
        self.shape, self.dtype, self.device = tuple(example.shape), example.dtype, example.device
        self.graph = None
        if example.device.type != "cuda":
            return
        self.static_in = example.detach().clone()  # [b, frames, bins]: replays read their input here
        stream = torch.cuda.Stream(device=example.device)
        stream.wait_stream(torch.cuda.current_stream(example.device))
        with torch.cuda.stream(stream):  # warm-up off the capture: compiles kernels, fills the allocator's pool
            for _ in range(warmup):
                self._forward(self.static_in)
        torch.cuda.current_stream(example.device).wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.static_out = self._forward(self.static_in)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        cast = torch.autocast("cuda", dtype=torch.bfloat16) if self.autocast_bf16 else contextlib.nullcontext()
        with torch.inference_mode(), cast:
            return self.model(x)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        assert tuple(x.shape) == self.shape and x.dtype == self.dtype and x.device == self.device, (
            f"GraphedInference was captured for {self.shape} {self.dtype} on {self.device}; got "
            f"{tuple(x.shape)} {x.dtype} on {x.device} (capture another one for that shape)")
        if self.graph is None:
            return self._forward(x)
        self.static_in.copy_(x)
        self.graph.replay()
        return self.static_out.clone()
