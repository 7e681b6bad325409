"""Calibration ranges on the budget bars: ``proctor calibrate --record-ranges`` records
where the accepted solutions, and the rejected ones that must fail a budget check, fell on
it; grading reads the file (trusted side) into the report; the bar draws both faintly,
named in words; the committed files stay readable and in their budgets' units."""

from __future__ import annotations

import json
import tomllib

import pytest
from conftest import ROOT, expect_toml, run_cli, submission_dir, write

from proctor import calibrate as cal
from proctor.calibrate import table as vt
from proctor.grading import collect_checks, grade_submission
from proctor.library import ranges
from proctor.library.spec import Library, SpecError
from proctor.report import CheckResult, ExerciseResult, Report
from proctor.report.html import render
from proctor.report.view import check_view

LAT = {"kind": "latency", "max": 3.0, "unit": "x reference"}
MEM = {"kind": "memory", "max": 512, "unit": "MiB"}


def _verdict(name, checks, must_fail=(), unjudged=()):
    sol = cal.Solution(name, None, frozenset(must_fail), unjudged=frozenset(unjudged))
    return cal.Verdict(sol, ExerciseResult("box_ops", "B", "graded", 0, 5, checks))


def _lat(status, ratio, cid="nms_latency", budget=LAT):
    measured = {"ratio": ratio, "interval": [ratio * 0.9, ratio * 1.1]} if ratio else {}
    return CheckResult(cid, budget["kind"], status, 0, 1, True, measured=measured,
                       budget=budget)


# -- what calibration records -----------------------------------------------------------

def test_ranges_come_from_accepted_runs_and_rejected_ones_that_must_fail():
    verdicts = [
        _verdict("accepted/reference", [_lat("pass", 1.0), _lat("pass", None, "mem", MEM)]),
        _verdict("accepted/reference", [_lat("pass", 1.2), _lat("pass", None, "mem", MEM)]),
        _verdict("accepted/vectorised", [_lat("pass", 0.8), _lat("pass", None, "mem", MEM)]),
        # must fail the latency check: counts, twice
        _verdict("rejected/loop", [_lat("fail", 14.0), _lat("pass", None, "mem", MEM)],
                 must_fail=["nms_latency"]),
        _verdict("rejected/loop", [_lat("fail", 11.0), _lat("pass", None, "mem", MEM)],
                 must_fail=["nms_latency"]),
        # slow but fails another check: not a rejected solution *of this check*
        _verdict("rejected/ties", [_lat("pass", 2.0), _lat("pass", None, "mem", MEM)],
                 must_fail=["nms_ties"]),
        # unjudged, and a timeout without a value: neither counts
        _verdict("rejected/near", [_lat("inconclusive", 3.0), _lat("pass", None, "mem", MEM)],
                 must_fail=["nms_ties"], unjudged=["nms_latency"]),
        _verdict("rejected/hang", [_lat("timeout", None), _lat("pass", None, "mem", MEM)],
                 must_fail=["nms_latency"]),
    ]
    verdicts[0].result.checks.append(CheckResult("nms_ties", "correctness", "pass", 1, 1, True))
    found = vt.budget_ranges(verdicts)
    assert found == {"box_ops": {"nms_latency": {
        "kind": "latency", "unit": "x reference", "max": 3.0,
        "accepted": [0.8, 1.2], "accepted_solutions": ["accepted/reference",
                                                       "accepted/vectorised"],
        "rejected": [11.0, 14.0], "rejected_solutions": ["rejected/loop"]}}}
    # a check no solution measured (mem has no value) and a correctness check are absent
    text = "\n".join(vt.ranges_text(found["box_ops"]))
    assert "nms_latency (max 3 x reference): accepted 0.8–1.2 (2 solutions); " \
           "rejected 11–14 (1 solution)" in text


def test_values_are_in_the_budgets_unit():
    """Memory against a MiB cap, size in KiB, accuracy by its unit's key: what the bar draws."""
    checks = [CheckResult("peak", "memory", "pass", 1, 1, True, measured={"candidate_mib": 100},
                          budget=MEM),
              CheckResult("art", "size", "pass", 1, 1, True, measured={"bytes": 2048},
                          budget={"kind": "size", "max": 4, "unit": "KiB"}),
              CheckResult("miou", "accuracy", "pass", 1, 1, True,
                          measured={"miou": 0.71, "images": 160},
                          budget={"kind": "accuracy", "min": 0.55, "unit": "mIoU"})]
    found = vt.budget_ranges([_verdict("accepted/reference", checks)])["box_ops"]
    assert found["peak"]["accepted"] == [100.0, 100.0]
    assert found["art"]["accepted"] == [2.0, 2.0]
    assert found["miou"]["accepted"] == [0.71, 0.71] and found["miou"]["min"] == 0.55


def test_the_file_round_trips_and_is_validated(tmp_path):
    checks = {"nms_latency": {"kind": "latency", "unit": "x reference", "max": 3.0,
                              "accepted": [0.812345678, 1.2], "accepted_solutions": ["a/r"],
                              "rejected": [11.0, 14.0], "rejected_solutions": ["r/loop"]},
              "art": {"kind": "size", "unit": "bytes", "max": 1048576.0,
                      "accepted": [123456.0, 123456.0], "accepted_solutions": ["a/r"]}}
    meta = {"recorded": "2030-03-17T17:46:40+00:00", "cpu": 'Xeon "Gold"', "repeat": 2}
    path = ranges.write(tmp_path, "box_ops", meta, checks)
    text = path.read_text()
    assert text.startswith("# Where calibration's solutions fell") and "--record-ranges" in text
    assert tomllib.loads(text)["checks"]["nms_latency"]["accepted"] == [0.81235, 1.2]
    got = ranges.read(tmp_path)
    assert got["nms_latency"] == {"kind": "latency", "unit": "x reference",
                                  "recorded": "2030-03-17T17:46:40+00:00", "cpu": 'Xeon "Gold"',
                                  "accepted": [0.81235, 1.2], "rejected": [11.0, 14.0]}
    assert "rejected" not in got["art"]
    # what a report's check carries: only for its own kind and unit
    assert ranges.for_check(got, "nms_latency", "latency", LAT)["rejected"] == [11.0, 14.0]
    assert ranges.for_check(got, "nms_latency", "latency", {**LAT, "unit": "ms"}) == {}
    assert ranges.for_check(got, "nms_latency", "memory", LAT) == {}
    assert ranges.for_check(got, "other", "latency", LAT) == {}
    assert ranges.read(tmp_path / "nowhere") == {}
    for bad, field in ((text.replace("[11.0, 14.0]", "[14.0, 11.0]"), "checks.nms_latency"
                        ".rejected"),
                       (text.replace("proctor.calibration/1", "x"), "schema"),
                       (text.replace('kind = "size"', "kind = 3"), "checks.art")):
        path.write_text(bad)
        with pytest.raises(SpecError, match=f"field '{field}"):
            ranges.read(tmp_path)


# -- the command, and grading reading it, on the tiny library -------------------------

COST_CHECK = '''

from proctor.checks import Outcome


@check(points=1, kind="size", budget="cost")
def add_cost(ctx):
    """A budget check with a value: the sum itself, against a cap."""
    value = ctx.candidate.add(2, 3)
    b = ctx.budget("cost")
    return Outcome("pass" if value <= b.max else "fail", f"{value}", {"value": value},
                   b.as_dict())
'''


@pytest.fixture
def costed(tiny_lib):
    """adder with a budget check: the reference measures 5 (cap 5.5), off_by_one 6 and
    must fail it, abs_values measures 5 but must fail only add_negative."""
    root = tiny_lib.root
    toml = root / "exercises" / "adder" / "exercise.toml"
    toml.write_text(toml.read_text().replace("points = 4", "points = 5")
                    + '\n[budgets.cost]\nkind = "size"\nmax = 5.5\nunit = "sum"\n')
    hidden = root / "graders" / "adder" / "checks.py"
    hidden.write_text(hidden.read_text() + COST_CHECK)
    write(root / "reference_solutions" / "adder" / "rejected" / "off_by_one" / "expect.toml",
          expect_toml(["add_basic", "add_arrays", "add_negative", "add_cost"]))
    return Library(root)


def test_record_ranges_writes_the_file_only_when_asked(costed):
    root = str(costed.root)
    path = costed.get("adder").solutions_dir / ranges.RANGES_FILE
    plain = run_cli("--root", root, "calibrate", "adder", "--unsafe-no-sandbox")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert not path.exists()  # never a side effect of an ordinary run
    rec = run_cli("--root", root, "calibrate", "adder", "--unsafe-no-sandbox",
                  "--record-ranges")
    assert rec.returncode == 0, rec.stdout + rec.stderr
    assert "reference_solutions/adder/calibration.toml" in rec.stdout
    raw = tomllib.loads(path.read_text())
    assert raw["exercise"] == "adder" and raw["cpu"] and raw["recorded"]
    assert raw["checks"] == {"add_cost": {
        "kind": "size", "unit": "sum", "max": 5.5,
        "accepted": [5.0, 5.0], "accepted_solutions": ["accepted/reference"],
        "rejected": [6.0, 6.0], "rejected_solutions": ["rejected/off_by_one"]}}


def test_a_calibration_with_a_mismatch_records_nothing(costed):
    write(costed.root / "reference_solutions" / "adder" / "rejected" / "wrong" / "solution.py",
          "def add(a, b):\n    return a + b\n")
    write(costed.root / "reference_solutions" / "adder" / "rejected" / "wrong" / "expect.toml",
          expect_toml(["add_cost"]))
    out = run_cli("--root", str(costed.root), "calibrate", "adder", "--unsafe-no-sandbox",
                  "--record-ranges")
    assert out.returncode == 1 and "adder: not recorded" in out.stdout
    assert not (costed.get("adder").solutions_dir / ranges.RANGES_FILE).exists()


def _grade(lib, tmp_path):
    sub = submission_dir(tmp_path / "sub", {"adder": ["def add(a, b):\n    return a + b\n"]})
    report = grade_submission(sub, lib, ["adder"], unsafe=True)
    return {c.id: c for c in report.exercises[0].checks}, report


def test_grading_puts_the_recorded_ranges_on_the_check(costed, tmp_path):
    sols = costed.get("adder").solutions_dir
    checks, _ = _grade(costed, tmp_path)
    assert checks["add_cost"].calibration == {}  # nothing recorded yet
    ranges.write(sols, "adder", {"recorded": "2030-03-17T17:46:40+00:00", "cpu": "Z80"},
                 {"add_cost": {"kind": "size", "unit": "sum", "max": 5.5,
                               "accepted": [5.0, 5.0], "rejected": [6.0, 6.0]}})
    checks, report = _grade(costed, tmp_path)
    assert checks["add_cost"].calibration == {
        "accepted": [5.0, 5.0], "rejected": [6.0, 6.0], "unit": "sum",
        "recorded": "2030-03-17T17:46:40+00:00", "cpu": "Z80"}
    assert checks["add_basic"].calibration == {}  # a correctness check has no bar
    data = json.loads(json.dumps(report.to_dict()))  # report.json keeps it, and reads it back
    again = Report.from_dict(data).exercises[0].checks
    assert next(c for c in again if c.id == "add_cost").calibration["rejected"] == [6.0, 6.0]
    html = render(report)
    assert 'class="range rejected"' in html and "calibration&#39;s rejected solutions" in html
    # a broken file costs the bar its ranges, never the grade
    (sols / ranges.RANGES_FILE).write_text("schema = 1\n")
    checks, report = _grade(costed, tmp_path)
    assert checks["add_cost"].calibration == {} and report.exercises[0].score == 5


# -- the bar ------------------------------------------------------------------------------

def test_the_bar_draws_both_ranges_named_in_words():
    c = CheckResult("nms_latency", "latency", "pass", 1, 1, True,
                    measured={"ratio": 1.5, "interval": [1.4, 1.6]}, budget=LAT,
                    calibration={"accepted": [0.9, 1.1], "rejected": [11.0, 14.0],
                                 "unit": "x reference", "recorded": "2030-03-17T17:46:40+00:00",
                                 "cpu": "AMD EPYC 7B13"})
    g = check_view(ExerciseResult("box_ops", "B", "graded", 1, 1, [c]), c)["gauge"]
    acc, rej = g["ranges"]
    assert (acc["kind"], acc["look"], rej["kind"], rej["look"]) == (
        "accepted", "plain band", "rejected", "hatched band")
    assert acc["text"] == "calibration's accepted solutions measured 0.9–1.1× the reference"
    assert rej["text"] == ("calibration's rejected solutions that must fail this check "
                           "measured 11–14× the reference")
    assert acc["left"] < g["value"] < g["limit"] < rej["left"]  # in order on the bar
    assert g["calibration_note"] == ("ranges recorded by proctor calibrate on 2030-03-17, "
                                     "CPU AMD EPYC 7B13")
    report = Report({"name": "x", "sha256": "0" * 64},
                    [ExerciseResult("box_ops", "B", "graded", 1, 1, [c])], {})
    html = render(report)
    legend = html[html.index('<span class="sub calib">'):]
    legend = legend[:legend.index("</p>")]
    assert legend.index("plain band: calibration&#39;s accepted solutions measured 0.9–1.1× "
                        "the reference;") < legend.index("hatched band: calibration&#39;s "
                                                         "rejected solutions")
    assert "(ranges recorded by proctor calibrate on 2030-03-17, CPU AMD EPYC 7B13)" in legend
    assert 'class="range accepted" style="left:' in html and "width:5.87%" in html
    assert 'title="calibration&#39;s accepted solutions measured 0.9–1.1× the reference ' \
           '(plain band)"' in html
    # recorded in another unit: not drawn (its numbers would sit in the wrong place)
    c.calibration = {**c.calibration, "unit": "ms"}
    assert check_view(ExerciseResult("box_ops", "B", "graded", 1, 1, [c]), c)["gauge"][
        "ranges"] == []


# -- the committed files ------------------------------------------------------------------

LIB = Library(ROOT)
RECORDED = [i for i in LIB.ids() if (LIB.get(i).solutions_dir / ranges.RANGES_FILE).is_file()]


def test_some_exercises_have_recorded_ranges():
    assert {"box_ops", "connected_components", "conv2d", "detection_ap"} <= set(RECORDED)


@pytest.mark.parametrize("ex_id", RECORDED)
def test_committed_ranges_name_budget_checks_in_their_units(ex_id):
    ex = LIB.get(ex_id)
    recorded = ranges.read(ex.solutions_dir)
    defs = {d.id: d for d in collect_checks(ex, hidden=True)}
    assert recorded
    for cid, entry in recorded.items():
        d = defs[cid]
        budget = ex.spec.budgets[d.budget]
        assert entry["kind"] == d.kind and entry["unit"] == budget.unit, cid
        assert "accepted" in entry, cid
        lo, hi = entry["accepted"]
        # the accepted solutions pass the budget, the rejected ones fail it
        assert hi <= budget.max if budget.max is not None else lo >= budget.min, cid
        if "rejected" in entry:
            lo, hi = entry["rejected"]
            assert lo > budget.max if budget.max is not None else hi < budget.min, cid
