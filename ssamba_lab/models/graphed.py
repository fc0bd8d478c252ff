"""An encoder's inference forward captured as one CUDA graph for a fixed input shape (issue 8: short inputs).

At 4 x 512 tokens ssamba-tiny is launch-bound: ~730 kernel launches and ~38 ms of host time for ~3.3 ms of GPU
work (H200, benchmarks/results/gpu_profile_steps_r7.md). Replaying a captured graph removes the host side; it
helps any model the same way (ssast-tiny too), so compare graphed against graphed.

    graphed = GraphedInference(model, example)  # example: [b, frames, bins] on the GPU; captures once
    out = graphed(x)  # same shape and dtype as example; a fresh tensor each call

Off CUDA it runs the model eagerly (there is nothing to capture).

A training step (forward, loss, backward, optimizer step) can be captured the same way, for a fixed batch shape:

    opt = torch.optim.Adam(model.parameters(), lr=1e-4, capturable=True)  # its step count lives on the GPU
    step = GraphedTrainStep(model, opt, loss_fn, example)  # runs `warmup` real steps on example, then captures
    loss = step(x)  # one training step on x; the loss as a fresh tensor (no host sync)

ssamba-tiny's step at 64 x 512 tokens launches ~2,400 kernels, and the host takes longer than the GPU's ~82 ms
(benchmarks/results/GPU_SEQ_BWD_2026-12-02.md). What a replay cannot do: change the learning rate unless it is a
tensor, clip gradients with a host-side check, or take another batch shape (capture one per shape).
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable

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
        # a mixer without gradients reads prepared copies of its parameters (MambaMixer.inference_params), so the
        # graph holds those copies: a parameter changed in place since (an optimizer step, load_state_dict) makes
        # the next call capture again; checking the version counters costs ~0.1 us a parameter
        self._versions = [(p, p._version) for p in self.model.parameters()]

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
        if any(p._version != v for p, v in self._versions):
            self.__init__(self.model, self.static_in, autocast_bf16=self.autocast_bf16, warmup=1)
        self.static_in.copy_(x)
        self.graph.replay()
        return self.static_out.clone()


def _capturable(optimizer: torch.optim.Optimizer) -> bool:
    """Whether every parameter group keeps its step state on the device (needed inside a CUDA graph)."""
    return all(group.get("capturable", False) or group.get("fused", False) for group in optimizer.param_groups)


class GraphedTrainStep:
    """One training step of ``model`` (train mode): ``loss = loss_fn(model(x))``, backward, ``optimizer.step()``,
    as a CUDA graph for batches shaped like ``example``; bf16 autocast around forward and loss if
    ``autocast_bf16``. The first ``warmup`` steps run eagerly on ``example`` (real updates: they compile kernels
    and set up the optimizer's state), so pass a real batch. Off CUDA they run too, and every call is the eager
    step."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer,
                 loss_fn: Callable[[torch.Tensor], torch.Tensor], example: torch.Tensor, *,
                 autocast_bf16: bool = False, warmup: int = 3):
        assert warmup >= 1, f"warmup must be >= 1 (the optimizer's state must exist before capture), got {warmup}"
        self.model, self.optimizer, self.loss_fn = model.train(), optimizer, loss_fn
        self.autocast_bf16 = autocast_bf16
        self.shape, self.dtype, self.device = tuple(example.shape), example.dtype, example.device
        self.graph = None
        cuda = example.device.type == "cuda"
        assert not cuda or _capturable(optimizer), (
            f"{type(optimizer).__name__} must keep its state on the GPU for a CUDA graph: construct it with "
            "capturable=True (or fused=True)")
        self.static_in = example.detach().clone()  # [b, frames, bins]: replays read their batch here
        stream = torch.cuda.Stream(device=example.device) if cuda else None
        if cuda:
            stream.wait_stream(torch.cuda.current_stream(example.device))
        with torch.cuda.stream(stream) if cuda else contextlib.nullcontext():  # warm-up off the capture
            for _ in range(warmup):  # the same updates on every device: a CPU run matches a GPU run
                self.optimizer.zero_grad(set_to_none=True)
                self._step(self.static_in)
        if not cuda:
            return
        torch.cuda.current_stream(example.device).wait_stream(stream)
        # gradients None before capture: the captured backward then writes them (from the graph's pool) instead
        # of adding to tensors from outside it, and each replay overwrites them
        self.optimizer.zero_grad(set_to_none=True)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.static_loss = self._step(self.static_in)

    def _step(self, x: torch.Tensor) -> torch.Tensor:
        # autocast's weight-cast cache off: cached casts would be tensors from outside the capture
        cast = (torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=False) if self.autocast_bf16
                else contextlib.nullcontext())
        with cast:
            loss = self.loss_fn(self.model(x))  # scalar
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        assert tuple(x.shape) == self.shape and x.dtype == self.dtype and x.device == self.device, (
            f"GraphedTrainStep was captured for {self.shape} {self.dtype} on {self.device}; got "
            f"{tuple(x.shape)} {x.dtype} on {x.device} (capture another one for that shape)")
        if self.graph is None:
            self.optimizer.zero_grad(set_to_none=True)
            return self._step(x)
        self.static_in.copy_(x)
        self.graph.replay()
        return self.static_loss.clone()
