"""The candidate's first minute in JupyterLab: a bundle notebook opens unmodified once
the image has stamped its kernel metadata (``stamp_kernel``), and the news pop-up is
switched off by settings JupyterLab actually has."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pages_site import CHROMIUM_ARGS, ROOT, chromium_path

from proctor.library.notebooks import stamp_kernel

OVERRIDES = ROOT / "docker" / "jupyter-overrides.json"


def _schema_dir() -> Path:
    return Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas"


def test_the_news_settings_exist_in_jupyterlab():
    schema = _schema_dir() / "@jupyterlab" / "apputils-extension" / "notification.json"
    if not schema.is_file():
        pytest.skip("JupyterLab (the dev extra) is not installed")
    props = json.loads(schema.read_text())["properties"]
    overrides = json.loads(OVERRIDES.read_text())
    settings = overrides["@jupyterlab/apputils-extension:notification"]
    assert settings == {"fetchNews": "false", "checkForUpdates": False}
    assert {"const": "false", "title": "Never"} in props["fetchNews"]["oneOf"]
    assert props["checkForUpdates"]["type"] == "boolean"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if shutil.which("jupyter-lab", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("JupyterLab (the dev extra) is not installed")
    root = tmp_path_factory.mktemp("lab")
    port = _free_port()
    env = {**os.environ, "JUPYTER_TOKEN": "t", "JUPYTER_CONFIG_DIR": str(root / ".cfg"),
           "JUPYTERLAB_SETTINGS_DIR": str(root / ".settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(root / ".ws")}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "jupyter-lab"), "--no-browser", f"--port={port}",
         f"--ServerApp.root_dir={root}", "--allow-root"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        yield root, port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _dirty_after_kernel_start(lab, name: str) -> bool:
    sync_api = pytest.importorskip("playwright.sync_api")
    path = chromium_path()
    if path is None:
        pytest.skip("no chromium on this machine")
    _, port = lab
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            page = b.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/lab/workspaces/{name}/tree/{name}.ipynb"
                      "?token=t&reset")
            page.wait_for_selector(".jp-NotebookPanel", timeout=90_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                                   timeout=90_000)
            time.sleep(2)  # the kernel's info arrives, metadata would be rewritten now
            return bool(page.evaluate(
                f"Array.from(document.querySelectorAll('.lm-TabBar-tab.jp-mod-dirty'))"
                f".some(t => t.textContent.includes('{name}.ipynb'))"))
        finally:
            b.close()


def test_a_stamped_bundle_notebook_opens_unmodified(lab):
    root, _ = lab
    shutil.copy(ROOT / "notebooks" / "box_ops.ipynb", root / "stamped.ipynb")
    stamp_kernel([root / "stamped.ipynb"])
    assert not _dirty_after_kernel_start(lab, "stamped")
    # the control: without the version JupyterLab rewrites the metadata (and the test
    # above would see it, so it can fail)
    shutil.copy(ROOT / "notebooks" / "box_ops.ipynb", root / "unstamped.ipynb")
    assert _dirty_after_kernel_start(lab, "unstamped")
