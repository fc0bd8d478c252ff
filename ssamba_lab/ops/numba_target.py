"""Which vector width numba's LLVM compiles our CPU kernels for.

LLVM tunes recent Intel cores (Skylake-X and later, ``rocketlake``, ``sapphirerapids``, ...) with
``prefer-256-bit``: even with AVX-512 it vectorises loops 256 bits wide, to avoid the clock drop that wide
vectors once caused. The scan's state update is bound by vector arithmetic (an ``exp2`` polynomial per state),
and on the 2-core AVX-512 Xeon dev box 512-bit vectors made the fused bidirectional scan ~1.3x faster
(1 x 384 x 513, 2 threads: 2.4 -> 1.8-1.9 ms) and ssamba-tiny inference 90 -> 71-74 ms
(``benchmarks/results/cpu_speed_xeon_2threads.md``).

So, before numba compiles anything, and only on a host with AVX-512F, ``prefer_wide_vectors`` hands numba the
host's own feature string with ``-prefer-256-bit`` appended (numba's ``NUMBA_CPU_FEATURES`` setting, set in
process). It changes no arithmetic: the kernels compute per channel, so the width only changes how many channels
one instruction covers. It does nothing when the user set ``NUMBA_CPU_NAME`` or ``NUMBA_CPU_FEATURES`` (theirs
wins), or when numba already compiled something in this process (its target machine then exists; our kernels
still run, at 256 bits).
"""
from __future__ import annotations

import os

_APPLIED: bool | None = None


def host_has_avx512() -> bool:
    """Whether this CPU has AVX-512F (as LLVM, hence numba, sees it)."""
    import llvmlite.binding as llvm

    return bool(llvm.get_host_cpu_features().get("avx512f", False))


def prefer_wide_vectors() -> bool:
    """Let numba vectorise 512 bits wide on AVX-512 hosts (see the module docstring); True if it now does."""
    global _APPLIED
    if _APPLIED is not None:
        return _APPLIED
    _APPLIED = False
    if os.environ.get("NUMBA_CPU_NAME") or os.environ.get("NUMBA_CPU_FEATURES"):
        return False
    import llvmlite.binding as llvm
    from numba.core import config, registry

    if config.CPU_NAME is not None or config.CPU_FEATURES is not None:
        return False
    if "_toplevel_target_context" in vars(registry.cpu_target):  # numba's codegen exists: too late to change it
        return False
    if not host_has_avx512():
        return False
    config.CPU_FEATURES = llvm.get_host_cpu_features().flatten() + ",-prefer-256-bit"
    _APPLIED = True
    return True


def wide_vectors_applied() -> bool:
    """Whether ``prefer_wide_vectors`` changed numba's target (for benchmark records)."""
    return bool(_APPLIED)
