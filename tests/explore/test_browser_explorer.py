"""Browser test: notebook 04 run in JupyterLab in headless Chromium; the explorer renders and reacts.

JupyterLab is started on 127.0.0.1 (random free port, token disabled) with a parameterised copy of the notebook
(a 2-layer checkpoint, two short clips); Debian's /usr/bin/chromium is driven by playwright. The screenshot is
kept under ``artifacts/`` (git-ignored); its path is printed.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import save_pretrainer

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "04_reconstruction.ipynb"
ARTIFACTS = REPO / "artifacts"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _require_chromium() -> None:
    if CHROMIUM.is_file():
        return
    if os.environ.get("SSAMBA_REQUIRE_BROWSER"):
        pytest.fail(f"SSAMBA_REQUIRE_BROWSER is set but {CHROMIUM} is missing (apt-get install -y chromium)")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install -y chromium); set SSAMBA_REQUIRE_BROWSER to make this fail")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"jupyter lab did not answer {url} within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture()
def lab_notebook(tmp_path, joint_pretrainer, clip_dir):
    """A parameterised copy of notebook 04 in a fresh folder, served by JupyterLab; yields (url, folder)."""
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    _require_chromium()
    ckpt = save_pretrainer(joint_pretrainer, tmp_path / "runs" / "tiny" / "last")
    clips = tmp_path / "clips"
    clips.mkdir()
    for name in ("chirp.wav", "tone_500.wav"):
        shutil.copy(clip_dir / name, clips / name)
    nb = parameterize_notebook(load_notebook_node(str(NOTEBOOK)), {
        "checkpoint": str(ckpt), "runs_dir": str(tmp_path / "runs"), "clips_dir": str(clips), "num_clips": 2,
        "frames": 128, "mask_ratios": [0.5], "strategy": "random"})
    nbformat.write(nb, str(tmp_path / "04_browser.ipynb"))

    port = _free_port()
    log = tmp_path / "jupyter.log"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "jcfg"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "jrt"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "jset"), "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "jws")}
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", "--IdentityProvider.token=", "--ServerApp.password=",
           "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={tmp_path}",
           "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path,
                                start_new_session=True)
    try:
        _wait_http(f"http://127.0.0.1:{port}/api/status", proc, log)
        yield f"http://127.0.0.1:{port}/lab/tree/04_browser.ipynb", tmp_path
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # its own session: the server and the kernels it started
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def _summary(page) -> dict[str, str]:
    el = page.locator(".ssamba-explorer-summary")
    return {k: el.get_attribute(f"data-{k}") for k in ("num-masked", "recon-digest", "num-patches")}


def test_notebook_explorer_in_chromium(lab_notebook):
    from playwright.sync_api import sync_playwright

    url, _ = lab_notebook
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "explorer.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            console_errors: list[str] = []
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.goto(url)
            page.wait_for_selector(".jp-NotebookPanel .jp-Notebook", timeout=90_000)
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget "
                                   "&& window.jupyterapp.shell.currentWidget.sessionContext "
                                   "&& window.jupyterapp.shell.currentWidget.sessionContext.session", timeout=90_000)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")

            explorer = page.locator(".ssamba-reconstruction-explorer")
            page.wait_for_selector(".ssamba-explorer-summary", timeout=150_000)
            # 4 heatmaps in the main figure, 2 profile traces; plotly draws heatmaps as <image> in .heatmaplayer
            page.wait_for_function("() => document.querySelectorAll("
                                   "'.ssamba-reconstruction-explorer .heatmaplayer image').length >= 4", timeout=60_000)
            main_plot = explorer.locator(".js-plotly-plot").first
            assert explorer.locator(".js-plotly-plot").count() >= 2
            # static figures of the notebook (jupyterlab-plotly mime renderer): one per clip + the band profile
            assert page.locator(".jp-OutputArea .js-plotly-plot").count() >= 2 + 3
            for cls in ("clip", "checkpoint", "strategy", "count", "ratio", "seed", "new-seed", "listen"):
                assert explorer.locator(f".ssamba-{cls}").count() == 1, f"control {cls} not rendered"
            assert "Error displaying widget" not in page.content()

            before = _summary(page)
            assert int(before["num-masked"]) == int(before["num-patches"]) // 2
            image_before = main_plot.screenshot()
            handle = explorer.locator(".ssamba-count .noUi-handle")
            handle.focus()
            t0 = time.monotonic()
            for _ in range(5):
                handle.press("ArrowLeft")
            # each press is a step of 1; wait for the last one's render (a loaded machine may show the
            # intermediate counts first, and a read between two renders would mix them)
            target = int(before["num-masked"]) - 5
            page.wait_for_function(
                "([d, n]) => { const e = document.querySelector('.ssamba-explorer-summary');"
                " return e && e.dataset.reconDigest !== d && e.dataset.numMasked === n; }",
                arg=[before["recon-digest"], str(target)], timeout=60_000)
            print(f"\nbrowser: mask slider moved -> final summary after {time.monotonic() - t0:.2f} s "
                  f"(informational; 5 key presses, possibly several renders)")
            page.wait_for_timeout(1500)  # let plotly redraw before the screenshot
            after = _summary(page)
            assert int(after["num-masked"]) == target
            assert after["recon-digest"] != before["recon-digest"]
            assert main_plot.screenshot() != image_before, "the heatmaps did not change on screen"
            assert "Error displaying widget" not in page.content()
            text = explorer.inner_text()
            assert re.search(rf"{after['num-masked']}/{after['num-patches']}\s+patches masked", text), text
            explorer.screenshot(path=str(shot))
            print(f"\nexplorer screenshot: {shot}")
            bad = [e for e in console_errors if "widget" in e.lower() or "plotly" in e.lower()]
            assert not bad, f"browser console errors: {bad}"
        finally:
            browser.close()
