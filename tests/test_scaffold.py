"""``proctor new``: the scaffold is a complete exercise that calibrates as written."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

from proctor import sandbox
from proctor.library import notebooks as nbgen
from proctor.library import scaffold
from proctor.library.spec import Library, SpecError

TREES = ("exercises", "graders", "reference_solutions")


@pytest.fixture
def lib(tmp_path) -> Library:
    (tmp_path / "exercises").mkdir()
    return Library(tmp_path)


def test_writes_all_three_trees_and_the_notebook(lib):
    written = scaffold.create(lib, "prefix_max", title="Prefix maxima", track="cv")
    rel = {str(p.relative_to(lib.root)) for p in written}
    assert {"exercises/prefix_max/exercise.toml", "exercises/prefix_max/prompt.md",
            "exercises/prefix_max/starter.py", "exercises/prefix_max/checks.py",
            "graders/prefix_max/checks.py", "graders/prefix_max/seed.txt",
            "reference_solutions/prefix_max/accepted/reference.py",
            "notebooks/prefix_max.ipynb"} <= rel
    assert all(p.is_file() for p in written)
    ex = lib.get("prefix_max")
    assert (ex.spec.title, ex.spec.track, ex.spec.kind) == ("Prefix maxima", "cv", "code")
    assert nbgen.stale(lib) == []  # the notebook is what `proctor notebooks` would write
    assert int((lib.root / "graders/prefix_max/seed.txt").read_text()) > 0
    other = scaffold.create(lib, "another_one")
    assert lib.get("another_one").spec.title == "Another one"
    seeds = {(lib.root / f"graders/{i}/seed.txt").read_text() for i in ("prefix_max",
                                                                         "another_one")}
    assert len(seeds) == 2 and other  # each exercise gets its own hidden seed


def test_generated_python_passes_the_projects_lint(lib):
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    scaffold.create(lib, "prefix_max")
    files = [str(p) for t in TREES for p in (lib.root / t).rglob("*.py")]
    r = subprocess.run([ruff, "check", "--config", str(ROOT / "pyproject.toml"), *files],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("bad, problem", [
    ("Prefix", "use 2-48 characters"), ("9lives", "starting with a letter"),
    ("a-b", "use 2-48"), ("x", "use 2-48"), ("a" * 49, "use 2-48")])
def test_bad_ids_are_refused(lib, bad, problem):
    with pytest.raises(SpecError, match=problem):
        scaffold.create(lib, bad)
    assert not any((lib.root / t / bad).exists() for t in TREES)


def test_bad_track_and_title_are_refused(lib):
    with pytest.raises(SpecError, match="track 'vision'"):
        scaffold.create(lib, "prefix_max", track="vision")
    with pytest.raises(SpecError, match="no quotes"):
        scaffold.create(lib, "prefix_max", title='say "hi"')
    assert not (lib.root / "exercises" / "prefix_max").exists()


@pytest.mark.parametrize("tree", TREES)
def test_an_existing_exercise_is_never_overwritten(lib, tree):
    (lib.root / tree / "taken").mkdir(parents=True, exist_ok=True)
    (lib.root / tree / "taken" / "mine.txt").write_text("keep me")
    with pytest.raises(SpecError, match=f"{tree}/taken already exists"):
        scaffold.create(lib, "taken")
    assert (lib.root / tree / "taken" / "mine.txt").read_text() == "keep me"
    assert sorted(p.name for p in (lib.root / tree / "taken").iterdir()) == ["mine.txt"]


def test_cli_new_then_calibrate_passes(tmp_path):
    """What an author does first: scaffold, then calibrate, from the shell."""
    (tmp_path / "exercises").mkdir()
    r = run_cli("--root", str(tmp_path), "new", "prefix_max", "--title", "Prefix maxima")
    assert r.returncode == 0, r.stderr
    assert "graders/prefix_max/seed.txt" in r.stdout and "proctor calibrate prefix_max" in r.stdout
    r = run_cli("--root", str(tmp_path), "new", "prefix_max")
    assert r.returncode == 2 and "already exists" in r.stderr
    unsafe = [] if sandbox.isolation()["available"] else ["--unsafe-no-sandbox"]
    r = run_cli("--root", str(tmp_path), "calibrate", "prefix_max", *unsafe)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3/3 solution runs got their expected verdicts" in r.stdout
    assert "contract prefix_max: 2 clause(s)" in r.stdout and "CONTRACT" not in r.stdout
    assert r.stdout.count("OK") >= 3
