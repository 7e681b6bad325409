"""Exercise specs: a good one loads; each bad field is an error naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ADDER_TOML, ROOT, write

from proctor.library.spec import Budget, Library, SpecError, load_spec

GOOD = ADDER_TOML + """
[budgets.add_latency]
kind = "latency"
max = 3.0
unit = "x reference"
description = "add on big arrays"

[budgets.acc]
kind = "accuracy"
min = 0.9
"""


def make(tmp_path: Path, toml: str, folder: str = "adder",
         files=("prompt.md", "starter.py")) -> Path:
    d = tmp_path / "exercises" / folder
    write(d / "exercise.toml", toml)
    for f in files:
        write(d / f, "x\n")
    return d / "exercise.toml"


def test_good_spec_loads(tmp_path):
    spec = load_spec(make(tmp_path, GOOD))
    assert spec.id == "adder" and spec.kind == "code" and spec.track == "algorithms"
    assert spec.points == 4 and spec.suggested_minutes == 5
    assert spec.limits.time_limit_s == 20 and spec.limits.memory_mb == 1024
    assert spec.budgets["add_latency"].max == 3.0 and spec.budgets["add_latency"].min is None
    assert spec.budgets["acc"].as_dict() == {"kind": "accuracy", "min": 0.9, "unit": ""}
    assert "description" not in spec.budgets["add_latency"].as_dict()


def test_defaults_for_optional_fields(tmp_path):
    toml = "\n".join(line for line in ADDER_TOML.splitlines()
                     if not line.startswith(("time_limit_s", "call_timeout_s", "memory_mb")))
    spec = load_spec(make(tmp_path, toml))
    assert spec.limits.time_limit_s == 60 and spec.limits.call_timeout_s == 30
    assert spec.budgets == {}


def _bad(tmp_path, toml, *needles):
    path = make(tmp_path, toml)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    msg = str(info.value)
    assert str(path) in msg, msg
    for n in needles:
        assert n in msg, msg
    return msg


def test_unknown_top_level_key(tmp_path):
    _bad(tmp_path, 'colour = "red"\n' + GOOD, "field 'colour'")


def test_unknown_key_in_limits(tmp_path):
    _bad(tmp_path, GOOD.replace("memory_mb = 1024", "memory_mb = 1024\ngpu = 1"),
         "field 'limits.gpu'")


def test_wrong_kind(tmp_path):
    _bad(tmp_path, GOOD.replace('kind = "code"', 'kind = "video"'), "field 'kind'")


def test_wrong_track(tmp_path):
    _bad(tmp_path, GOOD.replace('track = "algorithms"', 'track = "robotics"'), "field 'track'")


def test_wrong_type(tmp_path):
    _bad(tmp_path, GOOD.replace("points = 4", 'points = "four"'), "field 'points'")


def test_non_positive_points(tmp_path):
    _bad(tmp_path, GOOD.replace("points = 4", "points = 0"), "field 'points'")


def test_missing_required_field(tmp_path):
    _bad(tmp_path, GOOD.replace('title = "Add two things"\n', ""), "field 'title'")


def test_budget_with_both_bounds(tmp_path):
    _bad(tmp_path, GOOD.replace("max = 3.0", "max = 3.0\nmin = 1.0"),
         "field 'budgets.add_latency'", "exactly one of 'max' or 'min'")


def test_budget_with_neither_bound(tmp_path):
    _bad(tmp_path, GOOD.replace("min = 0.9\n", ""), "field 'budgets.acc'", "exactly one")


def test_budget_of_unknown_kind(tmp_path):
    _bad(tmp_path, GOOD.replace('kind = "accuracy"', 'kind = "beauty"'),
         "field 'budgets.acc.kind'")


def test_budget_with_unknown_key(tmp_path):
    _bad(tmp_path, GOOD.replace("min = 0.9", "min = 0.9\nmargin = 2"),
         "field 'budgets.acc.margin'")


def test_bad_id_pattern(tmp_path):
    path = make(tmp_path, GOOD.replace('id = "adder"', 'id = "Add-er"'), folder="Add-er")
    with pytest.raises(SpecError, match="field 'id'"):
        load_spec(path)


def test_id_mismatch_with_folder(tmp_path):
    path = make(tmp_path, GOOD, folder="subtractor")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    msg = str(info.value)
    assert str(path) in msg and "field 'id'" in msg and "subtractor" in msg


def test_artifact_exercise_needs_runner(tmp_path):
    _bad(tmp_path, GOOD.replace('kind = "code"', 'kind = "artifact"'), "'runner'", "'artifacts'")


@pytest.mark.parametrize("missing", ["prompt.md", "starter.py"])
def test_missing_prompt_or_starter(tmp_path, missing):
    present = [f for f in ("prompt.md", "starter.py") if f != missing]
    path = make(tmp_path, GOOD, files=present)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(path.parent / missing) in str(info.value)


def test_bad_toml(tmp_path):
    msg = _bad(tmp_path, GOOD + "\nthis is = = not toml\n")
    assert "line" in msg  # the TOML error says where


def test_unreadable_file(tmp_path):
    path = tmp_path / "exercises" / "adder" / "exercise.toml"
    with pytest.raises(SpecError, match="exercise.toml"):
        load_spec(path)


def test_budget_model_directly():
    assert Budget(kind="memory", max=10).as_dict() == {"kind": "memory", "max": 10.0, "unit": ""}
    with pytest.raises(ValueError):
        Budget(kind="memory")


# ------------------------------------------------------------------ library


def test_library_lists_loads_and_refuses(tiny_lib):
    assert tiny_lib.ids() == ["adder", "scale"]
    (tiny_lib.root / "exercises" / "_shared").mkdir()
    write(tiny_lib.root / "exercises" / "_shared" / "exercise.toml", GOOD)
    (tiny_lib.root / "exercises" / "half_written").mkdir()  # no exercise.toml yet
    assert tiny_lib.ids() == ["adder", "scale"]
    ex = tiny_lib.get("adder")
    assert ex.id == "adder" and ex.public_dir == tiny_lib.root / "exercises" / "adder"
    assert ex.grader_dir == tiny_lib.root / "graders" / "adder"
    assert ex.solutions_dir == tiny_lib.root / "reference_solutions" / "adder"
    assert "raise NotImplementedError" in ex.starter and ex.prompt.startswith("# adder")
    assert [e.id for e in tiny_lib.all()] == ["adder", "scale"]
    with pytest.raises(SpecError, match="unknown exercise 'nope'"):
        tiny_lib.get("nope")


def test_library_find(tiny_lib, tmp_path, monkeypatch):
    assert Library.find(tiny_lib.root).root == tiny_lib.root.resolve()
    monkeypatch.setenv("PROCTOR_ROOT", str(tiny_lib.root))
    assert Library.find().root == tiny_lib.root.resolve()
    with pytest.raises(SpecError, match="no exercises/ folder"):
        Library.find(tmp_path / "empty")


def test_every_spec_in_the_repo_loads():
    lib = Library(ROOT)
    assert {"box_ops", "connected_components"} <= set(lib.ids())
    for ex in lib.all():
        assert ex.spec.id == ex.public_dir.name
