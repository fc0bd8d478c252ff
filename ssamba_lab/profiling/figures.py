"""Plotly figures like the paper's Figure 2: time and memory against the number of patches, log-log."""
from __future__ import annotations

_Y = {"latency_ms_median": "median latency (ms)", "peak_mib": "peak memory, total (MiB)",
      "working_mib": "peak memory above weights + input (MiB)"}


def efficiency_figure(df, *, y: str = "latency_ms_median", kind: str = "inference", sizes: tuple[str, ...] | None = None,
                      title: str | None = None):
    """One line per (label, dtype) over ``num_patches``, log axes; points that ran out of memory are drawn as
    crosses on the top edge so a missing curve end is visibly OOM, not forgotten. ``sizes`` keeps only those
    model sizes (e.g. ``('tiny',)`` for the paper's Figure 2)."""
    import plotly.express as px
    import plotly.graph_objects as go

    assert y in _Y, f"y must be one of {list(_Y)}, got {y!r}"
    d = df[df["kind"] == kind].sort_values("num_patches")
    if sizes is not None:
        d = d[d["size"].isin(sizes)]
    ok = d[d["status"] == "ok"]
    fig = px.line(ok, x="num_patches", y=y, color="label", line_dash="dtype", markers=True, log_x=True, log_y=True,
                  hover_data=["tokens", "batch_size", "seq_len", "scan_backend"],
                  labels={"num_patches": "number of patches", y: _Y[y]},
                  title=title or f"{_Y[y]} vs number of patches ({kind}, batch {', '.join(map(str, sorted(d['batch_size'].unique())))})")
    oom = d[d["status"].isin(["oom", "oom_predicted"])]
    if len(oom) and len(ok):
        fig.add_trace(go.Scatter(x=oom["num_patches"], y=[ok[y].max()] * len(oom), mode="markers",
                                 marker=dict(symbol="x", size=10, color="black"), name="out of memory",
                                 text=oom["label"] + " " + oom["dtype"], hoverinfo="text+x"))
    return fig
