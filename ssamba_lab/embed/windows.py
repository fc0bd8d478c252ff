"""Which windows to run and which time columns to keep, so that timestamps are evenly spaced, at most
``max_hop`` frames apart, and cover the audio to its end.

A window of ``window`` frames yields ``n_cols`` time columns starting every ``tstride`` frames. Consecutive
windows advance by ``span = n_cols * tstride`` frames, so columns continue on one regular grid. When the
column stride is coarser than the wanted hop, the input is also run at ``shifts`` offsets of ``tstride /
shifts`` frames and the columns are interleaved: the model still sees exactly its trained geometry.
Timestamp ``k`` is the column starting at frame ``k * hop``; it lives in window ``w``, column ``c``, shift ``s``
with ``k = (w * n_cols + c) * shifts + s``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class ColumnPlan:
    window: int  # frames per window
    patch_t: int
    tstride: int
    n_cols: int  # time columns per window
    shifts: int  # runs at offsets 0, hop, 2 hop, ...
    n_steps: int  # timestamps kept
    n_windows: int  # windows per shift

    @property
    def hop(self) -> int:
        """Frames between consecutive timestamps."""
        return self.tstride // self.shifts

    @property
    def span(self) -> int:
        return self.n_cols * self.tstride

    @property
    def padded_frames(self) -> int:
        """Feature frames the windows read (the real ones plus padding)."""
        return (self.n_windows - 1) * self.span + (self.shifts - 1) * self.hop + self.window

    def window_start(self, w: int, s: int) -> int:
        return w * self.span + s * self.hop

    def centre_frames(self) -> list[float]:
        """Centre (fractional frame index) of each kept timestamp's column."""
        return [k * self.hop + (self.patch_t - 1) / 2 for k in range(self.n_steps)]


def choose_shifts(tstride: int, max_hop: int) -> int:
    """Smallest divisor ``K`` of ``tstride`` with ``tstride / K <= max_hop`` (regular spacing needs a divisor)."""
    for k in range(1, tstride + 1):
        if tstride % k == 0 and tstride // k <= max_hop:
            return k
    return tstride


def plan_columns(n_frames: int, *, window: int, patch_t: int, tstride: int, max_hop: int | None) -> ColumnPlan:
    """Plan for ``n_frames`` real feature frames: keep every column whose centre lies within the real frames
    (at least one). ``max_hop=None``: no shifting (one run, hop = ``tstride``)."""
    assert window >= patch_t, f"window {window} is shorter than one patch ({patch_t} frames)"
    n_cols = (window - patch_t) // tstride + 1
    shifts = 1 if max_hop is None else choose_shifts(tstride, max_hop)
    hop = tstride // shifts
    centre0 = (patch_t - 1) / 2
    last = n_frames - 0.5  # a column is kept while its centre is inside the last real frame
    n_steps = max(1, math.floor((last - centre0) / hop) + 1) if last >= centre0 else 1
    n_windows = (n_steps - 1) // shifts // n_cols + 1
    return ColumnPlan(window=window, patch_t=patch_t, tstride=tstride, n_cols=n_cols, shifts=shifts,
                      n_steps=n_steps, n_windows=n_windows)
