"""Kernels behind one interface: the selective scan and the causal depthwise conv.

``selective_scan`` has mamba-ssm's ``selective_scan_fn`` signature; the backend is chosen per call from the
tensor's device (``auto``), the ``backend=`` argument, or the ``SSAMBA_SCAN_BACKEND`` environment variable.
"""
from __future__ import annotations

import contextlib
from importlib.util import find_spec

if find_spec("numba") is not None:  # the CPU kernels' vector width is fixed when numba first compiles anything
    from .numba_target import prefer_wide_vectors

    # a numba that does not import here (e.g. built for another NumPy) is skipped by backend.py as well
    with contextlib.suppress(Exception):
        prefer_wide_vectors()

from .backend import ENV_VAR, Ops, available_backends, get_ops, register_backend, resolve_backend
from .conv import causal_conv1d_torch
from .scan_ref import selective_scan_ref
from .scan_torch import linear_scan, selective_scan_torch


def selective_scan(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False, *, backend=None):
    """u, delta, z: ``[batch, channels, length]``; A: ``[channels, state]``; B, C: ``[batch, state, length]``.

    Returns ``[batch, channels, length]``: ``y_t = <C_t, h_t> + D u_t`` gated by ``silu(z_t)``, with
    ``h_t = exp(delta_t A) h_{t-1} + delta_t B_t u_t`` and ``delta = softplus(delta + delta_bias)`` if asked.
    """
    scan, _ = get_ops(u.device, backend)
    return scan(u, delta, A, B, C, D, z, delta_bias, delta_softplus)


def causal_conv1d(x, weight, bias=None, activation="silu", *, backend=None):
    """x: ``[batch, channels, length]``, weight ``[channels, width]`` -> ``[batch, channels, length]``."""
    _, conv = get_ops(x.device, backend)
    return conv(x, weight, bias, activation)


__all__ = [
    "selective_scan", "causal_conv1d", "selective_scan_ref", "selective_scan_torch", "causal_conv1d_torch",
    "Ops", "linear_scan", "resolve_backend", "available_backends", "get_ops", "register_backend", "ENV_VAR",
]
