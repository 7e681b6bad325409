"""report.json: the proctor.report/1 contract of DESIGN.md."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import CHECK_STATUSES, submission_dir, validate_report

from proctor.grading.submission import environment, grade_submission
from proctor.report import SCHEMA, SCORING, CheckResult, ExerciseResult, Report, points_for


def _check(cid, status, max_points, kind="correctness", **kw):
    return CheckResult(cid, kind, status, points_for(status, max_points), max_points,
                       hidden=kw.pop("hidden", True), **kw)


def sample_report() -> Report:
    checks = [_check("a", "pass", 2), _check("b", "fail", 1, message="assert 3 == 2"),
              _check("c", "inconclusive", 3, kind="latency",
                     measured={"ratio": np.float64(3.1), "interval": np.array([2.9, 3.3])},
                     budget={"kind": "latency", "max": 3.0}),
              _check("d", "timeout", 1), _check("e", "error", 1, hidden=False)]
    graded = ExerciseResult("box_ops", "Box ops", "graded",
                            sum(c.points for c in checks), 8.0, checks)
    missing = ExerciseResult("tracking", "Tracking", "missing", 0.0, 10.0,
                             message="no notebooks/tracking.ipynb")
    return Report({"name": "alice", "sha256": "ab" * 32}, [graded, missing],
                  {"proctor": "0.1.0", "sandbox": {"available": True}}, ["a problem"])


def test_points_for_each_status():
    assert points_for("pass", 3) == 3
    assert points_for("inconclusive", 3) == 1.5
    for s in ("fail", "error", "timeout", "bogus"):
        assert points_for(s, 3) == 0
    assert set(SCORING) - {"rule"} == CHECK_STATUSES
    assert "half" in SCORING["rule"]


def test_report_json_matches_the_contract(tmp_path):
    report = sample_report()
    path = tmp_path / "report.json"
    report.write_json(path)
    d = json.loads(path.read_text())
    validate_report(d)
    assert d["schema"] == SCHEMA == "proctor.report/1"
    assert d["submission"] == {"name": "alice", "sha256": "ab" * 32}
    assert d["score"] == 2 + 1.5 and d["max_score"] == 18
    ex = d["exercises"][0]
    assert [c["status"] for c in ex["checks"]] == ["pass", "fail", "inconclusive", "timeout",
                                                  "error"]
    assert [c["points"] for c in ex["checks"]] == [2, 0, 1.5, 0, 0]
    assert ex["checks"][2]["measured"] == {"ratio": 3.1, "interval": [2.9, 3.3]}
    assert ex["checks"][2]["budget"] == {"kind": "latency", "max": 3.0}
    assert ex["checks"][4]["hidden"] is False
    assert d["exercises"][1]["status"] == "missing" and d["exercises"][1]["checks"] == []
    assert d["problems"] == ["a problem"]
    assert d["scoring"]["inconclusive"] == 0.5


def test_validator_rejects_broken_reports():
    d = sample_report().to_dict()
    d = json.loads(json.dumps(d, default=lambda o: o.tolist()))
    validate_report(d)
    for mutate in (
        lambda r: r.update(schema="proctor.report/2"),
        lambda r: r["exercises"][0].update(status="partial"),
        lambda r: r["exercises"][0]["checks"][0].update(status="passed"),
        lambda r: r["exercises"][0]["checks"][0].update(kind="speed"),
        lambda r: r["exercises"][0]["checks"][2].update(points=3),
        lambda r: r.update(score=99),
        lambda r: r["submission"].pop("sha256"),
    ):
        bad = json.loads(json.dumps(d))
        mutate(bad)
        with pytest.raises((AssertionError, KeyError)):
            validate_report(bad)


def test_a_graded_submission_report_follows_the_contract(tiny_lib, tmp_path):
    sub = submission_dir(tmp_path / "frank", {
        "adder": ["def add(a, b):\n    return abs(a) + abs(b)"],
    })
    report = grade_submission(sub, tiny_lib, None, unsafe=True)
    report.write_json(tmp_path / "report.json")
    d = json.loads((tmp_path / "report.json").read_text())
    validate_report(d)
    by_id = {e["id"]: e for e in d["exercises"]}
    assert by_id["scale"]["status"] == "missing" and by_id["scale"]["max_score"] == 2
    adder = {c["id"]: c for c in by_id["adder"]["checks"]}
    assert adder["add_negative"]["status"] == "fail" and adder["add_negative"]["hidden"]
    assert adder["add_basic"]["status"] == "pass" and not adder["add_basic"]["hidden"]
    assert d["score"] == 3 and d["max_score"] == 6
    assert d["submission"]["name"] == "frank" and len(d["submission"]["sha256"]) == 64
    env = d["environment"]
    assert env["unsafe_no_sandbox"] is True and "WITHOUT A SANDBOX" in env["warning"]
    assert isinstance(env["sandbox"], dict) and "available" in env["sandbox"]


def test_environment_without_unsafe_has_no_warning():
    env = environment(False)
    assert env["unsafe_no_sandbox"] is False and "warning" not in env
    assert env["python"] and env["cpus"] >= 1


def test_environment_names_the_cpu_and_its_vector_features():
    """Latency ratios and int8 kernels depend on them (AVX2 vs AVX-512, VNNI or not)."""
    from proctor.grading.environment import cpu_info

    cpu = environment(False)["cpu"]
    assert set(cpu) == {"model", "vendor", "vector_features"}
    assert isinstance(cpu["vector_features"], list)
    x86 = ("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) "
           "Gold 6230\nflags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512bw avx512_vnni\n\n"
           "processor\t: 1\nmodel name\t: other\n")
    assert cpu_info(x86) == {"model": "Intel(R) Xeon(R) Gold 6230", "vendor": "GenuineIntel",
                             "vector_features": ["sse4_2", "avx", "avx2", "fma", "avx512f",
                                                 "avx512bw", "avx512_vnni"]}
    arm = "processor\t: 0\nFeatures\t: fp asimd asimddp sve i8mm\nCPU part\t: 0xd40\n"
    assert cpu_info(arm)["vector_features"] == ["asimd", "asimddp", "sve", "i8mm"]
    assert cpu_info("")["vector_features"] == []
