"""Notebook 05 end to end in small mode: papermill executes it, nbval re-runs the executed copy and compares outputs.

Cells with measured numbers are tagged ``nbval-ignore-output``; the plan (tokens -> frames) and the tables read from
the committed GPU results are compared exactly.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "05_efficiency.ipynb"


@pytest.mark.slow
def test_notebook_05_small_mode_under_papermill_and_nbval(tmp_path):
    papermill = pytest.importorskip("papermill")
    pytest.importorskip("nbval")
    import nbformat

    executed = tmp_path / "05_efficiency.ipynb"
    papermill.execute_notebook(str(NOTEBOOK), str(executed), parameters={"small_mode": True}, kernel_name="python3",
                               cwd=str(NOTEBOOK.parent), progress_bar=False)
    nb = nbformat.read(executed, as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "points, cheapest first" in text
    proc = subprocess.run([sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-q",
                           "-p", "no:cacheprovider", str(executed)],
                          cwd=NOTEBOOK.parent, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
