"""Notebooks 02_pretrain and 03_finetune under papermill with tiny parameters, then validated by nbval."""
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _papermill(name, out, **parameters):
    import papermill as pm

    return pm.execute_notebook(str(NOTEBOOKS / name), str(out), parameters=parameters, kernel_name="python3",
                               progress_bar=False, cwd=str(out.parent))


def _nbval(path):
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax", str(path)],
                       capture_output=True, text=True, cwd=path.parent, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]


@pytest.mark.parametrize("name", ["02_pretrain.ipynb", "03_finetune.ipynb"])
def test_every_parameter_is_visible_to_papermill(name):
    # papermill silently ignores parameter lines it cannot parse (e.g. '=' inside a comment)
    import nbformat
    from papermill.translators import PythonTranslator

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assignments = [line for line in cell.source.splitlines() if line and not line.startswith("#")]
    assert len(PythonTranslator.inspect(cell)) == len(assignments)


@pytest.mark.slow
def test_pretrain_then_finetune_notebooks(tiny_corpus, tmp_path):
    run = tmp_path / "runs"
    tiny = dict(depth=1, embed_dim=32, data_root=str(tiny_corpus), device="cpu", seed=0)
    _papermill("02_pretrain.ipynb", tmp_path / "02.ipynb", **tiny, run_dir=str(run / "pretrain"),
               target_frames=32, piece_seconds=0.5, batch_size=4, max_steps=3, warmup_steps=1,
               eval_every_steps=2, val_clips=4)
    assert (run / "pretrain" / "best" / "model.safetensors").is_file()
    _papermill("03_finetune.ipynb", tmp_path / "03.ipynb", **tiny, task="ks1",
               checkpoint=str(run / "pretrain" / "best"), run_dir=str(run / "ks1"), batch_size=4, max_steps=3,
               target_frames=32, warmup_steps=1)
    text = (tmp_path / "03.ipynb").read_text()
    assert "published (SSAMBA paper" in text and "94.0" in text
    import nbformat

    for nb in ("02.ipynb", "03.ipynb"):
        assert (tmp_path / nb).stat().st_size < 300_000  # no embedded plotly.js or widget state
        outputs = [o for c in nbformat.read(tmp_path / nb, as_version=4).cells for o in c.get("outputs", [])]
        plots = [o for o in outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]
        assert len(plots) == 1  # the live plot was redrawn in place, not appended
        _nbval(tmp_path / nb)


@pytest.mark.slow
def test_bad_task_fails_in_the_config_cell(tiny_corpus, tmp_path):
    import papermill as pm

    with pytest.raises(pm.PapermillExecutionError, match="valid tasks") as err:
        _papermill("03_finetune.ipynb", tmp_path / "bad.ipynb", task="ks9", data_root=str(tiny_corpus))
    assert err.value.exec_count == 3  # parameters, injected parameters, then the config cell fails
