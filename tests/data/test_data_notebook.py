"""notebooks/01_data_prep.ipynb under papermill on the demo corpus, then validated with nbval.

The committed notebook has no outputs; nbval re-runs the papermill output and compares every cell's output
with the papermill run (cells tagged ``nbval-ignore-output``: the plotly figure and the output path line).
"""
import json
import subprocess
import sys
from pathlib import Path

import papermill as pm
import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_data_prep.ipynb"


@pytest.mark.slow
@pytest.mark.parametrize("task", ["ks1", "dasl"])
def test_01_data_prep_papermill_and_nbval(tiny_demo, tmp_path, task):
    root, _ = tiny_demo
    out_nb = tmp_path / f"01_{task}.ipynb"
    pm.execute_notebook(str(NOTEBOOK), str(out_nb), cwd=str(tmp_path), kernel_name="python3", progress_bar=False,
                        parameters={"task": task, "data_root": str(root), "output_dir": str(tmp_path / "out"),
                                    "build_demo": False, "stats_clips": 20})
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["config"]["task"] == task and all(n > 0 for n in summary["counts"].values())
    proc = subprocess.run([sys.executable, "-m", "pytest", "--nbval", str(out_nb), "-q", "-p", "no:cacheprovider"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def test_committed_notebook_is_thin_and_clean():
    nb = json.loads(NOTEBOOK.read_text())
    params = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
    assert sum(c["cell_type"] == "code" for c in nb["cells"]) <= 10
