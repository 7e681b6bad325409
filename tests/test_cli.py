"""The command line end to end (``python -m proctor ...`` in a subprocess).

The expensive runs (grading the samples, the rejected reference solutions, calibrating
the real exercises) each run once; they use ``--unsafe-no-sandbox`` because their
subject is grading, not isolation.  ``test_grade_in_the_real_sandbox*`` grade with
bubblewrap when ``sandbox.isolation()`` says it is available.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, run_cli, submission_dir, validate_report, write

from proctor import cli, sandbox
from proctor.library.spec import Library

COMMANDS = ["list", "bundle", "check", "grade", "calibrate", "notebooks", "new", "submit"]
ALGO = ["box_ops", "connected_components"]  # the real exercises graded here (fast ones)
ONLY_ALGO = [a for ex_id in ALGO for a in ("--exercise", ex_id)]
UNSAFE = "--unsafe-no-sandbox"
FAILING = {"fail", "error", "timeout"}
ADD = "def add(a, b):\n    return a + b"
SCALE = "def scale(x, k):\n    return x * k"


def ok(proc):
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def read_report(out: Path, name: str) -> dict:
    d = json.loads((out / name / "report.json").read_text())
    validate_report(d)
    assert (out / name / "report.html").is_file()
    return d


def exercises(report: dict) -> dict[str, dict]:
    return {e["id"]: e for e in report["exercises"]}


def failing(ex: dict) -> set[str]:
    return {c["id"] for c in ex["checks"] if c["status"] in FAILING}


# ------------------------------------------------------------------ help and list


def test_top_level_help_lists_every_command():
    out = ok(run_cli("--help")).stdout
    for cmd in COMMANDS:
        assert cmd in out


@pytest.mark.parametrize("cmd", COMMANDS)
def test_every_command_has_help(cmd):
    out = ok(run_cli(cmd, "--help")).stdout
    assert out.startswith(f"usage: proctor {cmd}")


def test_list_json_shape():
    rows = json.loads(ok(run_cli("list", "--json")).stdout)
    assert [r["id"] for r in rows] == Library(ROOT).ids()
    keys = {"id", "title", "track", "kind", "points", "suggested_minutes", "time_limit_s",
            "budgets"}
    for r in rows:
        assert keys <= set(r)
        assert r["track"] in {"algorithms", "ml", "cv", "edge"}
        assert r["kind"] in {"code", "artifact"} and r["points"] > 0
        for b in r["budgets"].values():
            assert b["kind"] in {"latency", "memory", "size", "accuracy"}
            assert ("max" in b) != ("min" in b)
    box = {r["id"]: r for r in rows}["box_ops"]
    assert box["budgets"]["nms_latency"]["max"] == 3.0 and box["points"] == 20
    text = ok(run_cli("list")).stdout
    assert "box_ops" in text and "nms_latency <= 3 x reference" in text


def test_a_root_without_exercises_is_a_clear_error(tmp_path):
    proc = run_cli("--root", str(tmp_path), "list")
    assert proc.returncode == 2 and "no exercises/ folder" in proc.stderr


# ------------------------------------------------------------------ notebooks


def test_notebooks_check_passes_on_the_repo():
    ok(run_cli("notebooks", "--check"))


def test_notebooks_check_fails_on_a_touched_notebook(tmp_path):
    root = tmp_path / "repo"
    for ex_id in ALGO:
        for name in ("exercise.toml", "prompt.md", "starter.py"):
            src = ROOT / "exercises" / ex_id / name
            write(root / "exercises" / ex_id / name, src.read_text())
        write(root / "notebooks" / f"{ex_id}.ipynb",
              (ROOT / "notebooks" / f"{ex_id}.ipynb").read_text())
    ok(run_cli("--root", str(root), "notebooks", "--check"))
    nb = root / "notebooks" / "box_ops.ipynb"
    nb.write_text(nb.read_text().replace("raise NotImplementedError", "return None", 1))
    proc = run_cli("--root", str(root), "notebooks", "--check")
    assert proc.returncode == 1
    assert "notebooks/box_ops.ipynb is stale" in proc.stderr
    assert "connected_components" not in proc.stderr
    ok(run_cli("--root", str(root), "notebooks"))  # regenerating fixes it
    ok(run_cli("--root", str(root), "notebooks", "--check"))
    assert (root / "notebooks" / "box_ops.ipynb").read_text() == \
        (ROOT / "notebooks" / "box_ops.ipynb").read_text()


# ------------------------------------------------------------------ bundle + grade samples


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "candidate"
    ok(run_cli("bundle", str(out)))
    return out


@pytest.fixture(scope="module")
def graded_samples(tmp_path_factory, bundle) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("graded")
    samples = sorted(p for p in (ROOT / "samples").iterdir() if p.is_dir())
    proc = run_cli("grade", *map(str, samples), str(bundle), "--out", str(out), UNSAFE,
                   *ONLY_ALGO)
    return out, proc


def test_bundle_holds_public_material_only(bundle):
    ids = Library(ROOT).ids()
    assert sorted(p.stem for p in (bundle / "notebooks").glob("*.ipynb")) == ids
    assert (bundle / "README.md").is_file()
    for ex_id in ids:
        assert (bundle / "exercises" / ex_id / "exercise.toml").is_file()
        assert (bundle / "artifacts" / ex_id).is_dir()
    names = {p.name for p in bundle.rglob("*")}
    assert "graders" not in names and "reference_solutions" not in names
    assert "seed.txt" not in names and "reference.py" not in names


def test_grade_samples_writes_reports_and_a_summary(graded_samples):
    out, proc = graded_samples
    ok(proc)
    summary = json.loads((out / "summary.json").read_text())
    samples = sorted(p.name for p in (ROOT / "samples").iterdir() if p.is_dir())
    assert [s["name"] for s in summary] == [*samples, "candidate"]
    for s in summary:
        report = read_report(out, s["name"])
        assert report["submission"]["name"] == s["name"]
        assert report["score"] == s["score"] and report["max_score"] == s["max_score"]
        assert [e["id"] for e in report["exercises"]] == ALGO
        assert report["environment"]["unsafe_no_sandbox"] is True
        html = (out / s["name"] / "report.html").read_text()
        assert "GRADED WITHOUT A SANDBOX" in html
    strong = read_report(out, "strong")
    assert strong["score"] == strong["max_score"] > 0
    assert all(c["status"] == "pass" for e in strong["exercises"] for c in e["checks"])
    flawed = read_report(out, "flawed")
    assert 0 < flawed["score"] < flawed["max_score"]
    assert all(e["status"] == "graded" and failing(e) for e in flawed["exercises"])
    starter = read_report(out, "candidate")  # the untouched bundle: nothing implemented
    assert starter["score"] == 0
    for e in starter["exercises"]:
        assert e["status"] == "graded" and failing(e) == {c["id"] for c in e["checks"]}
        assert any("not implemented yet" in c["message"] for c in e["checks"])


# ------------------------------------------------------------------ reference solutions


# Every reference solution's verdicts (accepted: full marks; rejected: exactly the checks of
# its expect.toml) are `proctor calibrate --strict`'s to prove, and `make test` runs it on the
# whole library before pytest; tests/test_calibrate.py drives the command on the tiny library.


# ------------------------------------------------------------------ grade on the tiny library


def grade_tiny(lib: Library, *subs: Path, extra=()) -> tuple[Path, object]:
    out = lib.root.parent / "out"
    proc = ok(run_cli("--root", str(lib.root), "grade", *map(str, subs), "--out", str(out),
                      UNSAFE, *extra))
    return out, proc


def test_a_missing_exercise_is_missing_and_the_other_is_graded(tiny_lib, tmp_path):
    sub = submission_dir(tmp_path / "hana", {"adder": [ADD]})
    out, _ = grade_tiny(tiny_lib, sub)
    ex = exercises(read_report(out, "hana"))
    assert ex["adder"]["status"] == "graded" and ex["adder"]["score"] == 4
    assert ex["scale"]["status"] == "missing" and ex["scale"]["checks"] == []
    assert "notebooks/scale.ipynb" in ex["scale"]["message"]


def test_a_broken_notebook_is_an_error_and_the_other_is_graded(tiny_lib, tmp_path):
    sub = submission_dir(tmp_path / "ivan", {"adder": [ADD], "scale": '{"cells": [oops'})
    out, _ = grade_tiny(tiny_lib, sub)
    ex = exercises(read_report(out, "ivan"))
    assert ex["adder"]["status"] == "graded" and ex["adder"]["score"] == 4
    assert ex["scale"]["status"] == "error" and "scale.ipynb" in ex["scale"]["message"]


def test_zip_submissions_and_a_hostile_zip(tiny_lib, tmp_path):
    good = submission_dir(tmp_path / "jo", {"adder": [ADD], "scale": [SCALE]})
    with zipfile.ZipFile(tmp_path / "jo.zip", "w") as zf:
        for p in sorted(good.rglob("*.ipynb")):
            zf.write(p, Path("jo") / p.relative_to(good))
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as zf:
        zf.writestr("../../escaped.ipynb", "x")
    out, proc = grade_tiny(tiny_lib, tmp_path / "jo.zip", tmp_path / "evil.zip")
    assert read_report(out, "jo")["score"] == 6
    evil = read_report(out, "evil")
    assert all(e["status"] == "error" for e in evil["exercises"]) and evil["score"] == 0
    assert any("'..'" in p for p in evil["problems"])
    assert not (tmp_path / "escaped.ipynb").exists()
    assert "evil: 0 / 6" in proc.stdout


def test_a_single_solution_file(tiny_lib, tmp_path):
    sol = write(tmp_path / "mine" / "solution.py", "def add(a, b):\n    return a * b\n")
    out, _ = grade_tiny(tiny_lib, sol, extra=("--exercise", "adder"))
    (ex,) = read_report(out, "mine")["exercises"]
    assert failing(ex) == {"add_basic", "add_arrays", "add_negative"}
    out, _ = grade_tiny(tiny_lib, sol)  # without --exercise: a report that says why
    report = read_report(out, "mine")
    assert any("--exercise" in p for p in report["problems"])


def test_grade_refuses_without_a_sandbox(tiny_lib, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sandbox, "isolation",
                        lambda *a, **k: {"available": False, "reason": "bwrap missing (test)"})
    sub = submission_dir(tmp_path / "kim", {"adder": [ADD]})
    out = tmp_path / "out"
    code = cli.main(["--root", str(tiny_lib.root), "grade", str(sub), "--out", str(out)])
    err = capsys.readouterr().err
    assert code != 0
    assert "no sandbox available (bwrap missing (test))" in err and UNSAFE in err
    assert not out.exists()
    code = cli.main(["--root", str(tiny_lib.root), "grade", str(sub), "--out", str(out), UNSAFE])
    assert code == 0
    report = read_report(out, "kim")
    assert report["environment"]["unsafe_no_sandbox"] is True
    assert "WITHOUT A SANDBOX" in report["environment"]["warning"]


# ------------------------------------------------------------------ the real sandbox

needs_sandbox = pytest.mark.skipif(
    not sandbox.isolation().get("available"),
    reason=f"no sandbox here: {sandbox.isolation().get('reason')}")


@needs_sandbox
def test_grade_in_the_real_sandbox_hides_the_grader(tiny_lib, tmp_path):
    probes = [tiny_lib.root / "graders" / "adder" / "checks.py",
              tiny_lib.root / "reference_solutions" / "adder" / "accepted" / "reference.py",
              ROOT / "graders" / "box_ops" / "checks.py",
              ROOT / "reference_solutions" / "box_ops" / "accepted" / "reference.py"]
    assert all(p.is_file() for p in probes)
    probe_cell = (f"import os\nSEEN = [p for p in {[str(p) for p in probes]!r} "
                  "if os.path.exists(p)]\nprint('SEEN', SEEN)")
    artifact_cell = ("from proctor.candidate import artifact_dir\n"
                     "OFFSET = int((artifact_dir('adder') / 'offset.txt').read_text())\n"
                     "print('ARTIFACTS AT', artifact_dir('adder'))")
    sub = submission_dir(tmp_path / "leo", {
        "adder": [probe_cell, artifact_cell,
                  "def add(a, b):\n    return a + b + len(SEEN) + OFFSET"]})
    write(sub / "artifacts" / "adder" / "offset.txt", "0\n")
    out = tmp_path / "out"
    ok(run_cli("--root", str(tiny_lib.root), "grade", str(sub), "--out", str(out),
               "--exercise", "adder"))
    report = read_report(out, "leo")
    assert report["environment"]["unsafe_no_sandbox"] is False
    assert report["environment"]["sandbox"]["available"] is True
    (ex,) = report["exercises"]
    assert ex["score"] == 4, ex["output"]  # nothing hidden was visible from the worker
    assert "SEEN []" in ex["output"] and ex["cell_errors"] == []
    assert "ARTIFACTS AT /submission/artifacts/adder" in ex["output"]
    # the same notebook without the sandbox sees them: the probe is meaningful
    unsafe_out = tmp_path / "unsafe"
    ok(run_cli("--root", str(tiny_lib.root), "grade", str(sub), "--out", str(unsafe_out),
               "--exercise", "adder", UNSAFE))
    assert read_report(unsafe_out, "leo")["score"] < 4


@needs_sandbox
def test_grade_in_the_real_sandbox_a_real_exercise(tmp_path):
    out = tmp_path / "out"
    ok(run_cli("grade", str(ROOT / "samples" / "strong"), "--exercise", "connected_components",
               "--out", str(out)))
    report = read_report(out, "strong")
    assert report["environment"]["unsafe_no_sandbox"] is False
    assert "GRADED WITHOUT A SANDBOX" not in (out / "strong" / "report.html").read_text()
    (ex,) = report["exercises"]
    assert ex["status"] == "graded" and ex["score"] == ex["max_score"] == 20


def test_the_grader_runs_single_threaded_blas():
    """The CLI sets one thread for OpenBLAS, OpenMP and MKL before numpy or torch is imported:
    pinned off the timing cores, their pools made the grader's own numpy ~20x slower
    (calibration stalled) and torch oracles ~16x slower beside another job."""
    import os
    import subprocess
    import sys

    names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    env = {k: v for k, v in os.environ.items() if k not in names}
    code = ("import os, proctor.cli, torch; "
            f"print([os.environ.get(n) for n in {names!r}], torch.get_num_threads())")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.split() == ["['1',", "'1',", "'1']", "1"], out.stdout
