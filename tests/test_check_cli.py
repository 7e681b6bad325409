"""``proctor check PATH``: the same table as check(), from a shell, running the notebook
the way grading will (own process, is_grading() true)."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from test_local_check import make_toy_library

from proctor import cli
from proctor.library import bundle
from proctor.library.spec import Library

REPO = Path(__file__).resolve().parents[1]
LIB = Library(REPO)
CODE = [ex for ex in LIB.all() if ex.spec.kind == "code"]
# code exercises whose starter is stubs (train_debug's is complete code to debug)
STUBBED = [ex for ex in CODE if "NotImplementedError" in ex.starter]


@pytest.fixture
def bundle_dir(tmp_path) -> Path:
    out = tmp_path / "bundle"
    bundle.build(LIB, out)
    return out


def set_starter_cell(nb_path: Path, source: str, extra_cells: list[str] = ()) -> None:
    """Replace the starter cell (the code cell after the imports) like a candidate would."""
    nb = nbformat.read(nb_path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    code[1].source = source
    at = nb.cells.index(code[1]) + 1
    for i, extra in enumerate(extra_cells):
        nb.cells.insert(at + i, nbformat.v4.new_code_cell(extra))
    for i, c in enumerate(nb.cells):
        c["id"] = f"cell-{i}"
    nbformat.write(nb, nb_path)


def run_check(capsys, *args: str) -> tuple[int, str]:
    rc = cli.main(["check", *args])
    cap = capsys.readouterr()
    return rc, cap.out + cap.err


def test_starters_fail_cleanly(bundle_dir, capsys):
    rc, out = run_check(capsys, str(bundle_dir))
    assert rc == 1
    for ex in LIB.all():
        assert f"public checks for {ex.id} (hidden checks run only when graded)" in out
    for ex in STUBBED:
        assert f"not implemented yet: {', '.join(ex.spec.interface)}" in out
    assert "Traceback" not in out and 'File "' not in out


@pytest.mark.parametrize("ex", CODE, ids=[e.id for e in CODE])
def test_reference_passes(ex, bundle_dir, capsys):
    nb = bundle_dir / "notebooks" / f"{ex.id}.ipynb"
    ref = ex.solutions_dir / "accepted" / "reference.py"
    if not ref.is_file():  # a reference with saved weights: solution.py + artifacts/<id>/
        ref_dir = ex.solutions_dir / "accepted" / "reference"
        ref = ref_dir / "solution.py"
        saved = ref_dir / "artifacts" / ex.id
        if saved.is_dir():
            shutil.copytree(saved, bundle_dir / "artifacts" / ex.id, dirs_exist_ok=True)
    set_starter_cell(nb, ref.read_text())
    rc, out = run_check(capsys, str(nb))
    n = out.count("PASS")
    assert rc == 0, out
    assert n > 0 and f"{n}/{n} public checks pass" in out
    assert "not implemented" not in out


def test_relative_paths_and_notebooks_dir(bundle_dir, capsys, monkeypatch):
    monkeypatch.chdir(bundle_dir)
    rc, out = run_check(capsys, "notebooks/")
    assert rc == 1 and out.count("public checks for ") == len(LIB.ids())
    rc, out = run_check(capsys, "notebooks/box_ops.ipynb")
    assert rc == 1 and "public checks for box_ops" in out and "connected" not in out


def test_cell_errors_are_one_line(bundle_dir, capsys):
    ex = LIB.get("box_ops")
    nb = bundle_dir / "notebooks" / "box_ops.ipynb"
    ref = (ex.solutions_dir / "accepted" / "reference.py").read_text()
    set_starter_cell(nb, ref, ["1 / 0", "!pip install something\n%timeit 1\nx = 1"])
    rc, out = run_check(capsys, str(nb))
    assert "code cell 3 raised ZeroDivisionError: division by zero" in out
    assert "4/4 public checks pass" in out  # the other cells still ran
    assert "Traceback" not in out
    assert rc == 0


def test_guarded_training_cells_do_not_run(bundle_dir, capsys):
    """proctor check runs notebooks as grading does: is_grading() is true there."""
    ex = LIB.get("box_ops")
    nb = bundle_dir / "notebooks" / "box_ops.ipynb"
    ref = (ex.solutions_dir / "accepted" / "reference.py").read_text()
    set_starter_cell(nb, ref, ["if not is_grading():\n    raise SystemExit('training!')"])
    rc, out = run_check(capsys, str(nb))
    assert rc == 0 and "training" not in out


def test_unreadable_and_foreign_notebooks(bundle_dir, capsys):
    (bundle_dir / "notebooks" / "scratch.ipynb").write_text(
        nbformat.writes(nbformat.v4.new_notebook()))
    rc, out = run_check(capsys, str(bundle_dir / "notebooks" / "scratch.ipynb"))
    assert rc == 0 and "not an exercise notebook" in out
    (bundle_dir / "notebooks" / "box_ops.ipynb").write_text("{not json")
    rc, out = run_check(capsys, str(bundle_dir / "notebooks" / "box_ops.ipynb"))
    assert rc == 1 and "box_ops: error: box_ops.ipynb: invalid notebook" in out
    assert "Traceback" not in out


def test_no_notebooks(tmp_path, capsys):
    (tmp_path / "exercises").mkdir()
    rc, out = run_check(capsys, str(tmp_path))
    assert rc == 1 and "no notebooks found" in out


def test_artifact_exercise(tmp_path, capsys):
    lib = make_toy_library(tmp_path / "lib")
    out_dir = tmp_path / "bundle"
    bundle.build(lib, out_dir)
    rc, out = run_check(capsys, str(out_dir / "notebooks" / "toy_art.ipynb"))
    assert rc == 1
    assert "not saved yet: artifacts/toy_art/answer.txt" in out
    assert "run the notebook's export cell" in out
    (out_dir / "artifacts" / "toy_art" / "answer.txt").write_text("42")
    rc, out = run_check(capsys, str(out_dir / "notebooks" / "toy_art.ipynb"))
    assert rc == 0, out
    assert "2/2 public checks pass" in out and "measured bytes=2 vs budget max 8 bytes" in out
    assert "toy_secret" not in out


def test_code_exercise_reads_its_saved_files(tmp_path, capsys):
    """A code exercise may load what it saved under artifact_dir() (trained weights)."""
    lib = make_toy_library(tmp_path / "lib")
    out_dir = tmp_path / "bundle"
    bundle.build(lib, out_dir)
    (out_dir / "artifacts" / "toy_code" / "factor.txt").write_text("2")
    nb = out_dir / "notebooks" / "toy_code.ipynb"
    set_starter_cell(nb, "import numpy as np\n"
                         "FACTOR = int((artifact_dir('toy_code') / 'factor.txt').read_text())\n\n"
                         "def double(x):\n    return np.asarray(x) * FACTOR\n")
    rc, out = run_check(capsys, str(nb))
    assert rc == 0, out
    assert "1/1 public checks pass" in out
