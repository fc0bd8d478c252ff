"""torchrun / DistributedDataParallel helpers: process group from the environment, rank queries, reductions.

Under ``torchrun`` (``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` set) :func:`init_distributed` joins the group with
``nccl`` on CUDA and ``gloo`` on CPU; without them everything degrades to a single process. Entry points run
inside :func:`shutdown_on_exit`: every rank leaves the group together and frees it before the process exits.
"""
from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist

if dist.is_available():
    # torch.distributed.nn.functional binds ``group.WORLD`` into its functions' default arguments when first
    # imported. DDP imports it (through torch._dynamo) after init_process_group, which pinned the live group:
    # destroy_process_group could not free it, so its gloo threads and sockets ran on through interpreter
    # and C++ static teardown at exit. Imported here, before any group exists, the defaults are None.
    import torch.distributed.nn  # noqa: F401


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def init_distributed(device: str) -> DistInfo:
    """Join the process group when launched by torchrun; returns this process' rank info.

    ``device`` is the requested device type (``cuda`` -> one GPU per local rank and nccl, ``cpu`` -> gloo).
    """
    if not launched_by_torchrun():
        return DistInfo()
    rank, world, local = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", 0))
    if not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(local)
        # validation and test run on rank 0 while the others wait in a collective: the default 10-minute
        # timeout would abort a run whose validation split is large (AudioSet) or slow to featurise
        dist.init_process_group(backend=backend, timeout=datetime.timedelta(hours=2))
    return DistInfo(rank=rank, world_size=world, local_rank=local)


def current() -> DistInfo:
    if dist.is_available() and dist.is_initialized():
        return DistInfo(rank=dist.get_rank(), world_size=dist.get_world_size(),
                        local_rank=int(os.environ.get("LOCAL_RANK", 0)))
    return DistInfo()


def resolve_device(device: str, info: DistInfo) -> torch.device:
    """``'auto'`` -> cuda if available else cpu; under DDP on CUDA each rank takes ``cuda:local_rank``."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and info.enabled:
        return torch.device("cuda", info.local_rank)
    return torch.device(device)


def all_reduce_mean(value: torch.Tensor) -> torch.Tensor:
    """Mean over ranks (identity without a process group)."""
    if not current().enabled:
        return value
    value = value.clone()
    dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value / dist.get_world_size()


def all_gather_cat(t: torch.Tensor) -> torch.Tensor:
    """Concatenate equal-shaped ``[n, ...]`` tensors of every rank along dim 0 (identity alone)."""
    info = current()
    if not info.enabled:
        return t
    parts = [torch.empty_like(t) for _ in range(info.world_size)]
    dist.all_gather(parts, t.contiguous())
    return torch.cat(parts, 0)


def all_gather_object(obj) -> list:
    """Every rank's ``obj``, indexed by rank (``[obj]`` alone)."""
    info = current()
    if not info.enabled:
        return [obj]
    out = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj):
    """Rank 0's ``obj`` on every rank."""
    if not current().enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier() -> None:
    if current().enabled:
        dist.barrier()


def cleanup(*, wait_for_all: bool = True) -> None:
    """Leave the process group: a barrier first (``wait_for_all``), so no rank closes its connections while
    another still uses them, then free the group (its threads and sockets) while the interpreter is intact."""
    if not (dist.is_available() and dist.is_initialized()):
        return
    if wait_for_all and dist.get_world_size() > 1:
        dist.barrier()
    dist.destroy_process_group()


@contextlib.contextmanager
def shutdown_on_exit() -> Iterator[None]:
    """Run an entry point's body, then :func:`cleanup` on every way out. After an exception there is no
    barrier: the other ranks may never reach theirs (torchrun stops them)."""
    ok = False
    try:
        yield
        ok = True
    finally:
        cleanup(wait_for_all=ok)
