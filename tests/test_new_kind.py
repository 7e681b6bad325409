"""A worked example of a new check kind, end to end, with no engine file touched.

``result_size`` (the bytes of what a function returns, beside the reference's) is defined
here as one ``Kind`` subclass and ``register``-ed, exactly as a module in
``src/proctor/kinds/`` would be. Then, with no other change: an exercise declares a budget of
it in exercise.toml, a hidden check declares ``kind="result_size"`` and calls
``ctx.result_size(...)``, grading writes it to report.json, report.html labels and draws it,
calibration judges it and prints its margins, and the conformance suite's checks hold for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pytest
from conftest import build_library, expect_toml, submission_dir, write

from proctor import calibrate as cal
from proctor import kinds
from proctor.calibrate import table as vt
from proctor.grading import grade_submission
from proctor.kinds import Kind
from proctor.kinds import base as kinds_base
from proctor.report import render
from proctor.report.numbers import label_and_unit
from proctor.verdicts import Outcome


class ResultSize(Kind):
    """Bytes of a function's result (numpy arrays, as received), against a byte budget."""

    name = "result_size"
    needs_reference = True
    margin_keys = ("result_bytes",)
    labels = {"result_bytes": ("result size", "bytes"),
              "reference_result_bytes": ("reference's result size", "bytes")}

    def measure(self, ctx, function: str, make_args, budget: str) -> Outcome:
        b = ctx.budget(budget)
        args = make_args(ctx.rng("result_size"))
        got = np.asarray(getattr(ctx.candidate, function)(*args))
        want = np.asarray(getattr(ctx.reference, function)(*args))
        limit = b.max * {"bytes": 1, "kib": 1024}[b.unit.strip().lower()]
        measured = {"result_bytes": got.nbytes, "reference_result_bytes": want.nbytes}
        status = "pass" if got.nbytes <= limit else "fail"
        return Outcome(status, f"{function} returned {got.nbytes} bytes", measured, b.as_dict())

    def bytes_measured(self, measured: Mapping[str, Any]) -> float | None:
        return float(measured["result_bytes"]) if "result_bytes" in measured else None


@pytest.fixture
def result_size() -> Iterator[Kind]:
    kind = kinds.register(ResultSize())
    yield kind
    kinds_base._REGISTRY.pop(kind.name)


BUDGET = """
[budgets.add_result]
kind = "result_size"
max = 1
unit = "KiB"
description = "what add returns fits in 1 KiB"
"""

CHECK = '''

@check(points=1, kind="result_size", budget="add_result")
def add_result_size(ctx):
    """add's result on 100 integers fits the budget."""
    return ctx.result_size("add", lambda rng: (rng.integers(0, 9, 100), rng.integers(0, 9, 100)),
                           budget="add_result")
'''

BLOATED = ("import numpy as np\n\ndef add(a, b):\n"
           "    return np.repeat(np.add(a, b), 50) if np.ndim(a) else a + b\n")


@pytest.fixture
def lib(tmp_path, result_size):
    lib = build_library(tmp_path / "lib")
    toml = lib.root / "exercises" / "adder" / "exercise.toml"
    toml.write_text(toml.read_text().replace("points = 4", "points = 5") + BUDGET)
    checks = lib.root / "graders" / "adder" / "checks.py"
    checks.write_text(checks.read_text() + CHECK)
    d = lib.root / "reference_solutions" / "adder" / "rejected" / "bloated"
    write(d / "solution.py", BLOATED)
    write(d / "expect.toml", expect_toml(["add_result_size", "add_arrays"]))
    return lib


def test_graded_reported_and_drawn(lib, tmp_path):
    subs = {"lean": "import numpy as np\n\ndef add(a, b):\n    return np.add(a, b)\n",
            "bloated": BLOATED}
    checks = {}
    for name, code in subs.items():
        sub = submission_dir(tmp_path / name, {"adder": [code]})
        report = grade_submission(sub, lib, ["adder"], unsafe=True)
        d = json.loads(json.dumps(report.to_dict()))
        checks[name] = next(c for c in d["exercises"][0]["checks"] if c["id"] == "add_result_size")
        html = render(report)
        assert "result size" in html and "reference&#39;s result size" in html
        # the gauge: bytes_measured in the budget's unit
        drawn = "0.781 KiB" if name == "lean" else "39.1 KiB"
        assert f"measured {drawn} against a budget of ≤ 1 KiB" in html
    lean, bloated = checks["lean"], checks["bloated"]
    assert (lean["kind"], lean["status"], lean["points"]) == ("result_size", "pass", 1.0)
    assert lean["measured"] == {"result_bytes": 800, "reference_result_bytes": 800}
    assert lean["budget"] == {"kind": "result_size", "max": 1.0, "unit": "KiB"}
    assert (bloated["status"], bloated["points"]) == ("fail", 0.0)
    assert bloated["measured"]["result_bytes"] == 40000
    assert label_and_unit("result_bytes") == ("result size", "bytes")


def test_calibrated_with_margins(lib):
    verdicts = cal.calibrate(lib, ["adder"], unsafe=True, cache=lib.root / ".cache",
                             log=lambda m: None)
    by_name = {v.solution.name: v for v in verdicts}
    for v in verdicts:
        assert v.mismatches == [], (v.solution.name, v.mismatches)
    assert by_name["accepted/reference"].result.score == 5
    table = vt.matrix(verdicts)
    assert "add_result_size: budget 1.0 KiB" in table
    assert "rejected/bloated" in table and "MISMATCH" not in table


def test_the_conformance_suite_holds_for_it(result_size, tmp_path):
    """The suite of tests/test_check_kinds.py, run on this kind."""
    import test_check_kinds as suite

    ran = []
    for name in dir(suite):
        test = getattr(suite, name)
        marks = getattr(test, "pytestmark", [])
        if name.startswith("test_") and any(m.name == "parametrize" and m.args[0] == "kind"
                                            for m in marks):
            params = test.__code__.co_varnames[:test.__code__.co_argcount]
            args = {"kind": result_size}
            if "tmp_path" in params:
                args["tmp_path"] = tmp_path / name
            test(**args)
            ran.append(name)
    assert len(ran) == 8, ran  # every test of the suite that takes a kind
