"""Check modules: declaration, loading with assertion rewriting, and outcome mapping."""

from __future__ import annotations

import pytest
from conftest import write

from proctor.checks import (
    CheckDef,
    CheckLoadError,
    Outcome,
    check,
    load_checks,
    run_check,
)
from proctor.grading import collect_checks, grade_exercise, safe_source
from proctor.library.spec import SpecError
from proctor.verdicts import MAX_MESSAGE
from proctor.worker.client import CandidateError, WorkerError
from proctor.worker.codec import CodecError

MODULE = '''\
"""A check module."""

from proctor.checks import Outcome, check


def helper(x):
    return x + 1


@check(points=1)
def eq_fails(ctx):
    """Numbers differ."""
    x = helper(2)
    assert x == 2


@check(points=2.5, kind="latency", budget="fast")
def explained(ctx):
    assert [1, 2, 3] == [1, 2, 4], "lists differ"


@check(points=1, kind="memory")
def passes(ctx):
    assert helper(1) == 2


@check(points=1)
def outcome(ctx):
    return Outcome("inconclusive", "could not tell", {"ratio": 3.1}, {"max": 3.0})
'''


@pytest.fixture
def defs(tmp_path):
    return {d.id: d for d in load_checks(write(tmp_path / "ex" / "checks.py", MODULE), True)}


def test_checks_are_collected_in_order_with_their_metadata(defs, tmp_path):
    assert list(defs) == ["eq_fails", "explained", "passes", "outcome"]
    e = defs["explained"]
    assert (e.points, e.kind, e.budget, e.hidden) == (2.5, "latency", "fast", True)
    assert defs["eq_fails"].doc == "Numbers differ." and defs["eq_fails"].kind == "correctness"
    assert defs["eq_fails"].source == str(tmp_path / "ex" / "checks.py")
    assert isinstance(defs["passes"].points, float)


def test_assertion_rewriting_explains_failures(defs):
    out = run_check(defs["eq_fails"], None)
    assert out.status == "fail" and "assert 3 == 2" in out.message
    out = run_check(defs["explained"], None)  # an author's message is shown as written
    assert (out.status, out.message) == ("fail", "lists differ")
    assert run_check(defs["passes"], None).status == "pass"
    out = run_check(defs["outcome"], None)
    assert (out.status, out.message, out.measured, out.budget) == (
        "inconclusive", "could not tell", {"ratio": 3.1}, {"max": 3.0})


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown check kind 'speed'"):
        check(points=1, kind="speed")


def test_syntax_error_names_the_file(tmp_path):
    path = write(tmp_path / "bad" / "checks.py", "def broken(:\n    pass\n")
    with pytest.raises(CheckLoadError) as info:
        load_checks(path, hidden=False)
    assert str(path) in str(info.value)


def test_import_error_names_the_file(tmp_path):
    path = write(tmp_path / "bad" / "checks.py", "import no_such_module_here\n")
    with pytest.raises(CheckLoadError) as info:
        load_checks(path, hidden=False)
    assert str(path) in str(info.value) and "ModuleNotFoundError" in str(info.value)


def test_bad_kind_in_a_module_is_a_load_error(tmp_path):
    path = write(tmp_path / "bad" / "checks.py",
                 "from proctor.checks import check\n\n@check(1, kind='vibes')\ndef c(ctx):\n"
                 "    pass\n")
    with pytest.raises(CheckLoadError, match="vibes"):
        load_checks(path, hidden=False)


def test_imported_checks_are_not_collected_twice(tmp_path):
    first = write(tmp_path / "m" / "checks.py", MODULE)
    other = write(tmp_path / "n" / "checks.py",
                  f"import importlib.util, sys\nfrom proctor.checks import check\n"
                  f"spec = importlib.util.spec_from_file_location('m', {str(first)!r})\n"
                  f"m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
                  f"eq_fails = m.eq_fails\n\n@check(1)\ndef own(ctx):\n    pass\n")
    assert [d.id for d in load_checks(other, False)] == ["own"]


# ------------------------------------------------------------------ run_check mapping


def _def(fn, cid="c"):
    return CheckDef(cid, fn, 1.0, "correctness", False, None, "", "")


def _raise(exc):
    def fn(ctx):
        raise exc
    return fn


@pytest.mark.parametrize("exc,status,needle", [
    (AssertionError(), "fail", "assertion failed"),
    (AssertionError("wrong answer"), "fail", "wrong answer"),
    (CandidateError({"type": "ZeroDivisionError", "mro": ["ZeroDivisionError",
                     "ArithmeticError"], "message": "division by zero"}, "nms"),
     "fail", "nms raised ZeroDivisionError: division by zero"),
    (CandidateError({"type": "NotImplementedError", "mro": []}, "nms"), "fail",
     "nms is not implemented yet"),
    (WorkerError("timeout", "no answer within 30 s"), "timeout", "no answer within 30 s"),
    (WorkerError("error", "worker killed by SIGSEGV"), "error", "worker killed by SIGSEGV"),
    (CodecError("arrays of dtype object cannot cross"), "fail", "result is not plain data"),
    (KeyError("oops"), "error", "internal error in check c: KeyError"),
    (ZeroDivisionError("x"), "error", "internal error in check c: ZeroDivisionError"),
])
def test_run_check_maps_what_happens_to_a_status(exc, status, needle):
    out = run_check(_def(_raise(exc)), None)
    assert out.status == status and needle in out.message


def test_candidate_error_with_hostile_fields_is_still_a_fail():
    err = CandidateError({"type": 5, "mro": ["X", 3, None], "message": ["x"] * 5})
    assert err.mro == ["X"] and err.type_name == "5"
    assert run_check(_def(_raise(err)), None).status == "fail"
    assert CandidateError("not a dict").type_name == "Exception"


def test_returning_something_else_is_an_error():
    out = run_check(_def(lambda ctx: 42), None)
    assert out.status == "error" and "returned int, not Outcome" in out.message


def test_messages_are_clipped():
    out = run_check(_def(_raise(AssertionError("x" * 10 * MAX_MESSAGE))), None)
    assert len(out.message) <= MAX_MESSAGE and out.message.endswith("[truncated]")
    out = run_check(_def(lambda ctx: Outcome("fail", "y" * 10 * MAX_MESSAGE)), None)
    assert len(out.message) <= MAX_MESSAGE


# ------------------------------------------------------------------ collect_checks


def test_collect_checks_public_and_hidden(tiny_lib):
    ex = tiny_lib.get("adder")
    assert [d.id for d in collect_checks(ex, hidden=False)] == ["add_basic"]
    defs = collect_checks(ex, hidden=True)
    assert [(d.id, d.hidden) for d in defs] == [
        ("add_basic", False), ("add_arrays", True), ("add_negative", True)]


def test_points_must_sum_to_the_spec(tiny_lib):
    toml = tiny_lib.root / "exercises" / "adder" / "exercise.toml"
    toml.write_text(toml.read_text().replace("points = 4", "points = 5"))
    ex = tiny_lib.get("adder")
    with pytest.raises(SpecError) as info:
        collect_checks(ex, hidden=True)
    assert str(toml) in str(info.value) and "field 'points'" in str(info.value)
    assert "sum to 4" in str(info.value)
    collect_checks(ex, hidden=False)  # public-only grading has no total to match
    result = grade_exercise(ex, safe_source(ex, None, None), None, hidden=True, unsafe=True)
    assert result.status == "error" and "grader problem" in result.message


def test_duplicate_ids_unknown_budgets_and_missing_hidden_checks(tiny_lib):
    ex = tiny_lib.get("adder")
    hidden = ex.grader_dir / "checks.py"
    original = hidden.read_text()
    hidden.write_text(original + "\n\n@check(points=0.5)\ndef add_basic(ctx):\n    pass\n")
    with pytest.raises(SpecError, match="defined twice"):
        collect_checks(ex, hidden=True)
    hidden.write_text(original.replace("@check(points=1)", "@check(points=1, budget='nope')"))
    with pytest.raises(SpecError, match="unknown budget 'nope'"):
        collect_checks(ex, hidden=True)
    hidden.unlink()
    with pytest.raises(SpecError, match="missing"):
        collect_checks(ex, hidden=True)


def test_broken_check_module_makes_the_exercise_an_error_not_a_crash(tiny_lib):
    ex = tiny_lib.get("adder")
    (ex.grader_dir / "checks.py").write_text("def oops(:\n")
    result = grade_exercise(ex, "missing: nothing", None, hidden=True, unsafe=True)
    assert result.status == "error" and str(ex.grader_dir / "checks.py") in result.message
