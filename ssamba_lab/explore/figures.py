"""Static (non-widget) views of reconstruction results: compact plotly figures and a summary table, small
enough to keep in a committed notebook."""
from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .reconstruction import ReconstructionResult


def block_mean(a: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """Mean over ``fy x fx`` blocks of ``[H, W]`` (NaN-aware; a fully-NaN block stays NaN)."""
    h, w = a.shape[0] // fy * fy, a.shape[1] // fx * fx
    blocks = a[:h, :w].reshape(h // fy, fy, w // fx, fx)  # [H/fy, fy, W/fx, fx]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "mean of empty slice" on fully masked blocks
        return np.nanmean(blocks, axis=(1, 3))


def static_figure(results: Sequence[ReconstructionResult], *, time_factor: int = 4, freq_factor: int = 4,
                  decimals: int = 2, height_per_row: int = 170) -> go.Figure:
    """One row per result: masked input, reconstruction (both block-averaged ``freq_factor x time_factor``) and
    the masked-patch error; axes in frames / mel bins and shared, so zooming one panel zooms them all."""
    titles = [t for r in results for t in (f"{r.name} · {r.num_masked}/{r.mask.size} masked",
                                           f"reconstruction (masked MSE {r.masked_mse:.3f})", "patch error")]
    fig = make_subplots(rows=len(results), cols=3, shared_xaxes="all", shared_yaxes="all", subplot_titles=titles,
                        horizontal_spacing=0.04, vertical_spacing=0.5 / max(len(results), 1))
    for i, r in enumerate(results, start=1):
        pf, pt = r.patch_size
        sx, sy = {"x0": (time_factor - 1) / 2, "dx": time_factor}, {"y0": (freq_factor - 1) / 2, "dy": freq_factor}
        for col, arr in ((1, r.masked_input), (2, r.reconstruction)):
            z = np.round(block_mean(arr.T, freq_factor, time_factor), decimals)  # [bins/ff, frames/tf]
            fig.add_trace(go.Heatmap(z=z, coloraxis="coloraxis", **sx, **sy,
                                     hovertemplate="frame %{x}, bin %{y}: %{z}<extra></extra>"), row=i, col=col)
        fig.add_trace(go.Heatmap(z=np.round(r.masked_error_grid, 4), coloraxis="coloraxis2", customdata=r.patch_index,
                                 x0=(pt - 1) / 2, dx=pt, y0=(pf - 1) / 2, dy=pf,
                                 hovertemplate="patch %{customdata}: error %{z}<extra></extra>"), row=i, col=3)
    fig.update_layout(height=80 + height_per_row * len(results), margin={"l": 40, "r": 10, "t": 40, "b": 30},
                      coloraxis={"colorscale": "Viridis", "colorbar": {"x": 1.0, "len": 0.45, "y": 0.78, "title": "feat"}},
                      coloraxis2={"colorscale": "Inferno", "colorbar": {"x": 1.0, "len": 0.45, "y": 0.22, "title": "MSE"}})
    fig.update_annotations(font_size=11)
    return fig


def summary_rows(results: Sequence[ReconstructionResult]) -> list[dict]:
    """One dict per result: clip, strategy, masked count, errors, discriminative ranks, worst band/time."""
    rows = []
    for r in results:
        d = r.discriminative
        pf, pt = r.patch_size
        worst_band = int(np.nanargmax(r.band_error)) if np.isfinite(r.band_error).any() else None
        worst_time = int(np.nanargmax(r.time_error)) if np.isfinite(r.time_error).any() else None
        rows.append({
            "clip": r.name, "strategy": r.choice.strategy, "masked": f"{r.num_masked}/{r.mask.size}",
            "masked MSE": round(r.masked_mse, 4), "visible MSE": round(r.unmasked_mse, 4),
            "top-1 (disc.)": None if d is None else round(d.top1, 3),
            "mean rank (disc.)": None if d is None else f"{d.mean_rank:.1f}/{d.num_candidates}",
            "worst band (bins)": None if worst_band is None else f"{worst_band * pf}-{(worst_band + 1) * pf - 1}",
            "worst time (frames)": None if worst_time is None else f"{worst_time * pt}-{(worst_time + 1) * pt - 1}",
        })
    return rows
