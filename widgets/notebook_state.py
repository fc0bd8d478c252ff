"""Keep committed notebooks small: drop saved widget state and the widget views that would point at it."""
from __future__ import annotations

from pathlib import Path

import nbformat

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def strip_widget_state(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove ``metadata.widgets`` (megabytes of model state) and widget-view outputs, whose models would be
    missing on the next open ("Error displaying widget"); their text/plain fallback stays. In place."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.outputs:
            data = out.get("data", {})
            if WIDGET_VIEW in data:
                data.pop(WIDGET_VIEW)
                if not data:
                    continue
            kept.append(out)
        cell.outputs = kept
    return nb


def strip_file(src: str | Path, dst: str | Path | None = None) -> Path:
    """Strip ``src`` (an executed notebook) into ``dst`` (default: in place); also drops papermill's
    per-run metadata so re-runs do not show up as diffs."""
    nb = strip_widget_state(nbformat.read(str(src), as_version=4))
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    dst = Path(dst or src)
    nbformat.write(nb, str(dst))
    return dst


if __name__ == "__main__":  # python -m widgets.notebook_state executed.ipynb [out.ipynb]
    import sys

    print(strip_file(*sys.argv[1:3]))
