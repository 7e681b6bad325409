"""What every code exercise with a one-file reference must satisfy, in-process and fast
(the sandboxed, timed truth is ``proctor calibrate --strict``):

* the public checks pass on the reference and fail on the starter, kindly (unless the starter
  is complete code to debug, e.g. train_debug, whose own tests cover it);
* the starter has the reference's names and signatures, as the spec's interface says;
* the checks' points add up to the spec's, and every budget is used by a check.
"""

from __future__ import annotations

import inspect

import pytest
from conftest import ROOT, check_defs, namespace_of

from proctor.candidate.local import run_public
from proctor.library.spec import Library

LIB = Library(ROOT)
CODE = [ex.id for ex in LIB.all() if ex.spec.kind == "code"
        and (ex.solutions_dir / "accepted" / "reference.py").is_file()]


@pytest.fixture(params=CODE)
def ex(request, monkeypatch):
    monkeypatch.setenv("PROCTOR_GRADING", "1")  # load solutions as graded: nothing trains
    return LIB.get(request.param)


def _reference(ex) -> dict:
    return namespace_of((ex.solutions_dir / "accepted" / "reference.py").read_text())


def test_the_library_has_code_exercises():
    assert {"box_ops", "connected_components", "vit_attention"} <= set(CODE)


def test_public_checks_pass_on_the_reference(ex):
    results = run_public(ex.id, _reference(ex), ROOT)
    assert results, f"{ex.id} has no public checks"
    assert [r.status for r in results] == ["pass"] * len(results), results


def test_public_checks_fail_kindly_on_the_starter(ex):
    if "NotImplementedError" not in ex.starter:
        pytest.skip(f"{ex.id}'s starter is complete code to debug, not stubs")
    results = run_public(ex.id, namespace_of(ex.starter), ROOT)
    assert results and all(r.status == "fail" for r in results), results
    assert all("not implemented yet" in r.message for r in results), results


def test_the_starter_has_the_interface_of_the_reference(ex):
    starter, reference = namespace_of(ex.starter), _reference(ex)
    for name in ex.spec.interface:
        assert name in starter and name in reference, name
        if inspect.isfunction(starter[name]):
            assert inspect.signature(starter[name]) == inspect.signature(reference[name]), name


def test_points_add_up_and_every_budget_is_used(ex):
    defs = check_defs(ex)
    assert sum(d.points for d in defs) == ex.spec.points
    assert {d.budget for d in defs if d.budget} == set(ex.spec.budgets)
