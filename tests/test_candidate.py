"""proctor.candidate: what notebooks import (check, is_grading, artifact_dir)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from proctor import candidate
from proctor.library import bundle
from proctor.library.spec import Library

REPO = Path(__file__).resolve().parents[1]
LIB = Library(REPO)


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("candidate") / "bundle"
    bundle.build(LIB, out)
    return out


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for k in ("PROCTOR_GRADING", "PROCTOR_EXERCISE", "PROCTOR_ARTIFACT_DIR", "PROCTOR_BUNDLE",
              "JPY_SESSION_NAME"):
        monkeypatch.delenv(k, raising=False)


def _run_cells(*cells: str) -> dict:
    ns: dict = {"__name__": "__main__"}
    for i, c in enumerate(cells):
        exec(compile(c, f"<cell {i}>", "exec"), ns)
    return ns


def test_is_grading(monkeypatch):
    assert candidate.is_grading() is False
    monkeypatch.setenv("PROCTOR_GRADING", "1")
    assert candidate.is_grading() is True
    monkeypatch.setenv("PROCTOR_GRADING", "0")
    assert candidate.is_grading() is False


def test_artifact_dir_in_the_bundle_and_while_grading(bundle_dir, monkeypatch, tmp_path):
    monkeypatch.chdir(bundle_dir / "notebooks")
    assert candidate.artifact_dir("box_ops") == bundle_dir / "artifacts" / "box_ops"
    new = candidate.artifact_dir("brand_new")
    assert new == bundle_dir / "artifacts" / "brand_new" and new.is_dir()
    monkeypatch.setenv("PROCTOR_BUNDLE", str(tmp_path))
    assert candidate.artifact_dir("x") == tmp_path / "artifacts" / "x"

    monkeypatch.setenv("PROCTOR_GRADING", "1")
    monkeypatch.setenv("PROCTOR_EXERCISE", "box_ops")
    monkeypatch.setenv("PROCTOR_ARTIFACT_DIR", "/submission/artifacts/box_ops")
    assert candidate.artifact_dir("box_ops") == Path("/submission/artifacts/box_ops")
    # another exercise's dir is not the submission's, and nothing is created while grading
    other = candidate.artifact_dir("not_this_one")
    assert other != Path("/submission/artifacts/box_ops") and not other.exists()


def test_check_uses_the_callers_namespace(bundle_dir, monkeypatch, capsys):
    monkeypatch.chdir(bundle_dir / "notebooks")
    ex = LIB.get("box_ops")
    ref = (ex.solutions_dir / "accepted" / "reference.py").read_text()
    _run_cells("from proctor.candidate import check", ex.starter, ref, 'check("box_ops")')
    out = capsys.readouterr().out
    assert "public checks for box_ops" in out
    assert "4/4 public checks pass" in out


def test_check_on_a_starter_is_friendly(bundle_dir, monkeypatch, capsys):
    monkeypatch.chdir(bundle_dir / "notebooks")
    for ex in LIB.all():
        if ex.spec.kind != "code" or "NotImplementedError" not in ex.starter:
            continue  # (train_debug's starter is complete code to debug, not stubs)
        result = _run_cells("from proctor.candidate import check", ex.starter,
                            f'_r = check("{ex.id}")')
        assert result["_r"] is None  # nothing echoed after the table in a notebook
        out = capsys.readouterr().out
        assert "not implemented yet" in out, out
        assert "Traceback" not in out and 'File "' not in out


def test_check_does_nothing_while_grading(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PROCTOR_GRADING", "1")
    assert candidate.check("box_ops") is None
    assert capsys.readouterr().out == ""


def test_check_outside_a_bundle_says_so(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    candidate.check("box_ops")
    out = capsys.readouterr().out
    assert out.startswith("check(): cannot find exercises/box_ops/")
    assert "Traceback" not in out
    candidate.check()  # no id and no session name: one friendly line too
    out = capsys.readouterr().out
    assert out.startswith("check(): could not run the public checks: RuntimeError: call check(")


def test_check_guesses_the_exercise_from_the_session(bundle_dir, monkeypatch, capsys):
    monkeypatch.chdir(bundle_dir / "notebooks")
    monkeypatch.setenv("JPY_SESSION_NAME", str(bundle_dir / "notebooks" / "box_ops.ipynb"))
    _run_cells("from proctor.candidate import check", LIB.get("box_ops").starter, "check()")
    assert "public checks for box_ops" in capsys.readouterr().out


def test_candidate_module_is_light():
    """The grader's worker imports proctor.candidate inside the sandbox: it must not pull in
    the engine (checks, grading, numpy) at import time."""
    code = ("import sys, proctor.candidate; "
            "bad = [m for m in ('numpy', 'proctor.candidate.local', 'proctor.grading', "
            "'proctor.checks', 'proctor.sandbox') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
