"""A live loss / metric plot for notebooks: a plotly figure re-displayed in place as records arrive.

Uses the ``plotly_mimetype`` renderer (figure JSON only, no embedded plotly.js and no widget state) and
replaces the cell's output on every redraw (``clear_output(wait=True)``), so an executed notebook holds one
small figure. Give the plot a cell of its own output (the training cell): other outputs of that cell are cleared. Pass the instance as a log callback: ``run_pretraining(cfg, log_callbacks=[plot])``.
"""
from __future__ import annotations


class LivePlot:
    """Left: training curves of ``train_keys``; right: validation curves of ``eval_keys`` (per fold if any).
    The figure is redrawn after every evaluation and every ``redraw_every`` training records."""

    def __init__(self, *, title: str, train_keys: tuple[str, ...] = ("loss",), eval_keys: tuple[str, ...] = (),
                 redraw_every: int = 5):
        import plotly.io as pio
        from IPython.display import display
        from plotly.subplots import make_subplots

        pio.renderers.default = "plotly_mimetype"
        self.train_keys, self.eval_keys, self.redraw_every = train_keys, eval_keys, redraw_every
        self.fig = make_subplots(rows=1, cols=2, subplot_titles=("training", "validation"))
        self.fig.update_layout(title=title, height=320, margin=dict(l=40, r=20, t=60, b=40))
        self.fig.update_xaxes(title_text="step")
        self._series: dict[tuple[str, str], tuple[list, list]] = {}
        self._count = 0
        display(self.fig)

    def __call__(self, record: dict) -> None:
        kind = record["kind"]
        keys = self.train_keys if kind == "train" else self.eval_keys if kind == "eval" else ()
        fold = f" fold {record['fold']}" if record.get("fold") is not None else ""
        for k in keys:
            if k in record:
                xs, ys = self._series.setdefault((kind, k + fold), ([], []))
                xs.append(record["step"])
                ys.append(record[k])
        self._count += kind == "train"
        if kind == "eval" or (kind == "train" and self._count % self.redraw_every == 0):
            self.redraw()

    def redraw(self) -> None:
        import plotly.graph_objects as go

        self.fig.data = ()
        for (kind, name), (xs, ys) in self._series.items():
            self.fig.add_trace(go.Scatter(x=list(xs), y=list(ys), name=name, mode="lines+markers" if kind == "eval" else "lines"),
                               row=1, col=1 if kind == "train" else 2)
        from IPython.display import clear_output, display

        clear_output(wait=True)
        display(self.fig)
