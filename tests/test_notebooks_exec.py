"""The candidate's path, end to end, with nbclient and a real ipykernel.

Every starter notebook runs top to bottom from the bundle's notebooks/ folder (the kernel's
cwd, as in JupyterLab) without raising: its check cell reports the failures as a table, no
traceback.  Every code exercise's notebook with the accepted reference pasted into its
starter cell reports all public checks passing.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from proctor.library import bundle
from proctor.library.spec import Library

REPO = Path(__file__).resolve().parents[1]
LIB = Library(REPO)
EXERCISES = LIB.all()
CODE = [ex for ex in EXERCISES if ex.spec.kind == "code"]
CELL_TIMEOUT = 300
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("nbexec") / "bundle"
    bundle.build(LIB, out)
    return out


@pytest.fixture(autouse=True)
def _candidate_env(monkeypatch):
    """The kernel inherits this environment: make it a candidate's, not a grader's."""
    for k in ("PROCTOR_GRADING", "PROCTOR_EXERCISE", "PROCTOR_ARTIFACT_DIR", "PROCTOR_BUNDLE",
              "PROCTOR_ROOT"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")


async def _execute(nb_path: Path, limit: asyncio.Semaphore) -> nbformat.NotebookNode:
    async with limit:
        nb = nbformat.read(nb_path, as_version=4)
        client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                resources={"metadata": {"path": str(nb_path.parent)}})
        await client.async_execute()  # raises CellExecutionError if any cell raises
        return nb


def reference_code(ex, bundle_dir: Path) -> str:
    """The accepted reference's code; a reference folder's saved files (weights) are copied
    to the bundle's artifacts/<id>/, where a candidate's notebook keeps them."""
    single = ex.solutions_dir / "accepted" / "reference.py"
    if single.is_file():
        return single.read_text()
    folder = ex.solutions_dir / "accepted" / "reference"
    saved = folder / "artifacts" / ex.id
    if saved.is_dir():
        shutil.copytree(saved, bundle_dir / "artifacts" / ex.id, dirs_exist_ok=True)
    return (folder / "solution.py").read_text()


@pytest.fixture(scope="module")
def executed(bundle_dir) -> dict:
    """Every notebook of this module, run concurrently (one kernel each): the starters as
    shipped, and each code exercise's with the accepted reference in its starter cell."""
    jobs: dict[tuple[str, str], Path] = {}
    for ex in EXERCISES:
        jobs["starter", ex.id] = bundle_dir / "notebooks" / f"{ex.id}.ipynb"
    for ex in CODE:
        nb = nbformat.read(bundle_dir / "notebooks" / f"{ex.id}.ipynb", as_version=4)
        starter = [c for c in nb.cells if c.cell_type == "code"
                   and c.source.strip() == ex.starter.strip()]
        assert len(starter) == 1, f"{ex.id}: the starter cell holds exactly starter.py"
        starter[0].source = reference_code(ex, bundle_dir)
        path = bundle_dir / "notebooks" / f"_ref_{ex.id}.ipynb"
        nbformat.write(nb, path)
        jobs["reference", ex.id] = path

    async def run_all() -> list:
        limit = asyncio.Semaphore(max(2, min(8, os.cpu_count() or 2)))
        return await asyncio.gather(*(_execute(p, limit) for p in jobs.values()),
                                    return_exceptions=True)

    return dict(zip(jobs, asyncio.run(run_all()), strict=True))


def result(executed: dict, kind: str, ex_id: str) -> nbformat.NotebookNode:
    nb = executed[kind, ex_id]
    if isinstance(nb, BaseException):
        pytest.fail(f"{kind} notebook of {ex_id} raised:\n{ANSI.sub('', str(nb))[-3000:]}")
    return nb


def outputs(cell) -> str:
    parts = []
    for o in cell.get("outputs", []):
        if o.output_type == "stream":
            parts.append(o.text)
        elif o.output_type in ("execute_result", "display_data"):
            parts.append(o.get("data", {}).get("text/plain", ""))
        elif o.output_type == "error":
            parts.append("\n".join(o.traceback))
    return ANSI.sub("", "".join(parts))


def check_cell(nb: nbformat.NotebookNode, ex_id: str):
    cells = [c for c in nb.cells if c.cell_type == "code" and f'check("{ex_id}")' in c.source]
    assert len(cells) == 1, "the starter notebook has one check cell"
    return cells[0]


def public_check_count(ex) -> int:
    path = ex.public_dir / "checks.py"
    return len(re.findall(r"^@check\(", path.read_text(), re.M)) if path.is_file() else 0


@pytest.mark.parametrize("ex", EXERCISES, ids=[e.id for e in EXERCISES])
def test_starter_runs_top_to_bottom(ex, executed):
    nb = result(executed, "starter", ex.id)
    text = outputs(check_cell(nb, ex.id))
    assert f"public checks for {ex.id} (hidden checks run only when graded)" in text, text
    assert "Traceback" not in text and "Error" not in text.split("\n")[0]
    n = public_check_count(ex)
    stubs = ex.spec.kind != "code" or "NotImplementedError" in ex.starter
    if n and stubs:   # (train_debug's starter is complete code to debug: its contract holds)
        assert re.search(rf"\b0/{n} public checks pass", text) or "FAIL" in text, text
    if ex.spec.kind != "code":
        assert "not saved yet" in text, text
    elif stubs:
        assert "not implemented yet" in text, text
    for c in nb.cells:
        if c.cell_type == "code":
            assert not [o for o in c.get("outputs", []) if o.output_type == "error"]


@pytest.mark.parametrize("ex", CODE, ids=[e.id for e in CODE])
def test_reference_solution_passes_in_the_notebook(ex, executed):
    done = result(executed, "reference", ex.id)
    text = outputs(check_cell(done, ex.id))
    n = public_check_count(ex)
    assert n > 0
    assert f"{n}/{n} public checks pass" in text, text
    assert text.count("PASS") == n and "FAIL" not in text and "not implemented" not in text
