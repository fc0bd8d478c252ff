"""Peak memory of a region of code.

GPU: ``torch.cuda.max_memory_allocated`` (bytes held by live tensors through PyTorch's caching allocator; the
cache itself and the CUDA context are not counted). The baseline at entry holds the weights and the input, so
``peak - baseline`` is the working memory of the region (activations, attention matrices, workspaces).

CPU: PyTorch keeps no peak statistic for host memory, and tracemalloc does not see its allocations, so a
background thread samples the process's resident set size (psutil) every ``sample_s`` seconds; the region's
working memory is the sampled peak RSS minus the RSS at entry. glibc keeps freed blocks in its heap by default,
which would hide a second run's allocations, so inside the region the meter asks glibc (``mallopt``) to serve
every block of 64 KiB or more with its own mmap, returned to the system on free (slower: time is never measured
inside the meter on CPU). Short-lived peaks between samples are missed:
treat CPU numbers as approximate.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import threading

import torch

MIB = 2 ** 20


@functools.lru_cache(maxsize=None)
def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        return libc if hasattr(libc, "mallopt") else None
    except OSError:
        return None


def glibc_mmap_large_blocks(on: bool) -> bool:
    """on: serve blocks of 64 KiB or more by mmap, so a free shows in RSS at once; off: thresholds near what
    glibc's own heuristic settles at (32 MiB), since page faults on every large allocation slow torch down by
    a third. Returns False where the C library is not glibc (the CPU measure is then a lower bound)."""
    libc = _libc()
    if libc is None:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    mmap_at, trim_at = (64 * 1024, 128 * 1024) if on else (32 * MIB, 64 * MIB)
    ok = libc.mallopt(m_mmap_threshold, mmap_at) == 1 and libc.mallopt(m_trim_threshold, trim_at) == 1
    if on and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)  # hand the heap's free memory back first, so the baseline is what is really in use
    return ok


class PeakMemory:
    """Context manager: ``with PeakMemory(device) as m: ...``; then ``m.peak_bytes`` (GPU: allocator peak,
    CPU: sampled peak RSS), ``m.baseline_bytes`` (the same measure at entry) and ``m.working_bytes``."""

    def __init__(self, device: torch.device | str, *, sample_s: float = 0.001):
        self.device = torch.device(device)
        self.sample_s = sample_s
        self.baseline_bytes = self.peak_bytes = 0
        self.samples = 0  # CPU: RSS readings taken so far (a caller can wait for one after an allocation)
        self.measure = "cuda_max_memory_allocated" if self.device.type == "cuda" else "cpu_rss_sampled"

    @property
    def working_bytes(self) -> int:
        return max(self.peak_bytes - self.baseline_bytes, 0)

    def __enter__(self) -> "PeakMemory":
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.baseline_bytes = self.peak_bytes = torch.cuda.memory_allocated(self.device)
            return self
        import psutil

        glibc_mmap_large_blocks(True)
        self._proc = psutil.Process()
        self.baseline_bytes = self.peak_bytes = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self._proc.memory_info().rss)
            self.samples += 1
            self._stop.wait(self.sample_s)

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak_bytes = torch.cuda.max_memory_allocated(self.device)
            return
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self._proc.memory_info().rss)
        glibc_mmap_large_blocks(False)


def tensor_bytes(module: torch.nn.Module) -> int:
    """Bytes of a module's parameters and buffers."""
    return sum(t.numel() * t.element_size() for t in list(module.parameters()) + list(module.buffers()))
