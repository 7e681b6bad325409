"""Starter notebooks generated from exercises/: deterministic, valid, never stale."""

from __future__ import annotations

import json

import nbformat
from conftest import ROOT

from proctor.grading import grade_exercise, safe_source
from proctor.library import notebooks as nbgen
from proctor.library.spec import Library


def test_render_is_deterministic_and_valid(tiny_lib):
    ex = tiny_lib.get("adder")
    text = nbgen.render(ex)
    assert text == nbgen.render(ex)
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code", "code"]
    assert [c["id"] for c in nb.cells] == [f"adder-{i}" for i in range(4)]
    assert nb.metadata["proctor"] == {"exercise": "adder"}
    assert nb.cells[0].source.startswith("# adder") and "**Points:** 4" in nb.cells[0].source
    assert "Grading time limit for this notebook:** 20 s" in nb.cells[0].source
    assert "from proctor.candidate import" in nb.cells[1].source
    assert nb.cells[2].source == ex.starter.rstrip()
    assert nb.cells[3].source == 'check("adder")'
    assert all(c.get("outputs", []) == [] for c in nb.cells)


def test_artifact_exercises_say_where_to_save(tiny_lib):
    toml = tiny_lib.root / "exercises" / "adder" / "exercise.toml"
    toml.write_text(toml.read_text().replace('kind = "code"', 'kind = "artifact"\n'
                    'artifacts = ["model.onnx"]\nrunner = "runner.py"'))
    md = json.loads(nbgen.render(tiny_lib.get("adder")))["cells"][0]["source"]
    md = "".join(md)
    assert "**artifact** exercise" in md
    assert 'artifact_dir("adder")' in md and "model.onnx" in md


def test_stale_detects_drift(tiny_lib):
    assert nbgen.stale(tiny_lib) == ["adder", "scale"]  # never written
    written = nbgen.write_all(tiny_lib)
    assert [p.name for p in written] == ["adder.ipynb", "scale.ipynb"]
    assert nbgen.stale(tiny_lib) == []
    nb = tiny_lib.root / "notebooks" / "adder.ipynb"
    nb.write_text(nb.read_text().replace("raise NotImplementedError", "return a + b"))
    assert nbgen.stale(tiny_lib) == ["adder"]
    nbgen.write_all(tiny_lib)
    prompt = tiny_lib.root / "exercises" / "scale" / "prompt.md"
    prompt.write_text(prompt.read_text() + "\nOne more hint.\n")
    assert nbgen.stale(tiny_lib) == ["scale"]


def test_write_all_to_another_folder(tiny_lib, tmp_path):
    out = tmp_path / "elsewhere"
    nbgen.write_all(tiny_lib, out)
    assert sorted(p.name for p in out.iterdir()) == ["adder.ipynb", "scale.ipynb"]
    assert not (tiny_lib.root / "notebooks").exists()


def test_committed_notebooks_are_fresh():
    assert nbgen.stale(Library(ROOT)) == []


def test_a_generated_starter_grades_as_not_implemented(tiny_lib):
    nbgen.write_all(tiny_lib)
    ex = tiny_lib.get("adder")
    src = safe_source(ex, tiny_lib.root / "notebooks" / "adder.ipynb", None)
    r = grade_exercise(ex, src, None, hidden=False, unsafe=True)
    assert r.cell_errors == []  # the setup cell and check() are harmless while grading
    assert [(c.id, c.status, c.message) for c in r.checks] == [
        ("add_basic", "fail", "add is not implemented yet")]
