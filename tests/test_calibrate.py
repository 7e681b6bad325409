"""Calibration on the tiny library: expected verdicts, mismatches, unstable checks."""

from __future__ import annotations

import pytest
from conftest import expect_toml, run_cli, write

from proctor import calibrate as cal
from proctor.calibrate import table as vt
from proctor.library.spec import Library, SpecError
from proctor.measure import Plan
from proctor.report import CheckResult, ExerciseResult


def run(lib, ids=("adder",), **kw):
    return cal.calibrate(lib, list(ids), unsafe=True, cache=lib.root / ".cache",
                         log=lambda m: None, **kw)


def by_name(verdicts):
    return {v.solution.name: v for v in verdicts}


def rejected(lib, name, code, fail):
    d = lib.root / "reference_solutions" / "adder" / "rejected" / name
    write(d / "solution.py", code)
    write(d / "expect.toml", expect_toml(fail))


def test_discover(tiny_lib):
    sols = cal.discover(tiny_lib.get("adder"))
    assert [(s.name, sorted(s.must_fail)) for s in sols] == [
        ("accepted/reference", []),
        ("rejected/abs_values", ["add_negative"]),
        ("rejected/off_by_one", ["add_arrays", "add_basic", "add_negative"]),
    ]


def test_expected_verdicts_are_ok(tiny_lib):
    verdicts = by_name(run(tiny_lib))
    assert set(verdicts) == {"accepted/reference", "rejected/abs_values", "rejected/off_by_one"}
    for v in verdicts.values():
        assert v.mismatches == [], (v.solution.name, v.mismatches)
    assert verdicts["accepted/reference"].result.score == 4
    table = vt.matrix(list(verdicts.values()))
    assert "accepted/reference" in table and "MISMATCH" not in table
    assert table.count("OK") == 3


def test_failing_an_undeclared_check_is_a_mismatch(tiny_lib):
    rejected(tiny_lib, "sub", "def add(a, b):\n    return a - b\n", ["add_basic"])
    v = by_name(run(tiny_lib))["rejected/sub"]
    assert any(m.startswith("add_arrays: expected pass, got fail") for m in v.mismatches)
    assert "MISMATCH" in vt.matrix([v])


def test_passing_a_declared_check_is_a_mismatch(tiny_lib):
    rejected(tiny_lib, "claims_too_much", "def add(a, b):\n    return abs(a) + abs(b)\n",
             ["add_negative", "add_basic"])
    v = by_name(run(tiny_lib))["rejected/claims_too_much"]
    assert v.mismatches == ["add_basic: expected fail, got pass ()"]


def test_unknown_check_in_expect_toml_is_a_mismatch(tiny_lib):
    rejected(tiny_lib, "typo", "def add(a, b):\n    return abs(a) + abs(b)\n",
             ["add_negative", "add_negatve"])
    v = by_name(run(tiny_lib))["rejected/typo"]
    assert v.mismatches == ["expect.toml names unknown check 'add_negatve'"]


def test_an_accepted_solution_must_score_full_marks(tiny_lib):
    write(tiny_lib.root / "reference_solutions" / "adder" / "accepted" / "other.py",
          "def add(a, b):\n    return a + b + (a < 0)\n")
    v = by_name(run(tiny_lib))["accepted/other"]
    assert v.mismatches and "add_negative: expected pass" in v.mismatches[0]


def test_an_exercise_that_cannot_be_graded_is_a_mismatch():
    sol = cal.Solution("accepted/x", None)
    result = ExerciseResult("adder", "Adder", "error", 0, 4, message="grader problem: boom")
    assert cal.judge(sol, result) == ["exercise status error: grader problem: boom"]


def test_unjudged_checks_are_shown_but_not_asserted(tiny_lib):
    # abs(a)+abs(b) fails add_negative; add_basic passes and is declared unjudged
    d = tiny_lib.root / "reference_solutions" / "adder" / "rejected" / "near"
    write(d / "solution.py", "def add(a, b):\n    return abs(a) + abs(b)\n")
    write(d / "expect.toml", 'fail = ["add_negative"]\nunjudged = ["add_basic"]\n')
    v = by_name(run(tiny_lib))["rejected/near"]
    assert v.solution.unjudged == {"add_basic"}
    assert v.mismatches == []
    row = next(line for line in vt.matrix([v]).splitlines() if line.startswith("rejected/near"))
    assert "p" in row.split()[1:] and row.rstrip().endswith("OK")
    (d / "expect.toml").write_text('fail = ["add_negative"]\nunjudged = ["add_basci"]\n')
    assert by_name(run(tiny_lib))["rejected/near"].mismatches == [
        "expect.toml names unknown check 'add_basci'"]


MUTANT = """fail = ["add_negative"]
why = "absolute values: wrong for negative inputs"
mutates = "accepted/reference.py"
[[replace]]
old = "a + b"
new = "abs(a) + abs(b)"
"""


def test_a_mutant_is_the_reference_with_its_replacements(tiny_lib):
    d = tiny_lib.root / "reference_solutions" / "adder" / "rejected" / "abs_mutant"
    write(d / "expect.toml", MUTANT)
    sol = next(s for s in cal.discover(tiny_lib.get("adder")) if s.name == "rejected/abs_mutant")
    src = cal.source_for(tiny_lib.get("adder"), sol, tiny_lib.root / ".cache")
    assert src.cells == ["def add(a, b):\n    return abs(a) + abs(b)\n"]
    v = by_name(run(tiny_lib))["rejected/abs_mutant"]
    assert v.mismatches == [] and v.result.score == 3  # add_negative (1 point) fails, only it


def test_a_stale_mutant_is_a_mismatch_naming_its_expect_toml(tiny_lib):
    d = tiny_lib.root / "reference_solutions" / "adder" / "rejected" / "abs_mutant"
    write(d / "expect.toml", MUTANT)
    (tiny_lib.root / "reference_solutions/adder/accepted/reference.py").write_text(
        "def add(a, b):\n    return b + a\n")  # the reference changed under the mutant
    verdicts = by_name(run(tiny_lib))
    (m,) = verdicts["rejected/abs_mutant"].mismatches
    assert "abs_mutant/expect.toml" in m and "occurs 0 times" in m
    assert verdicts["rejected/abs_values"].mismatches == []  # the others still calibrate


@pytest.mark.parametrize("text, problem", [
    ('fail = ["x"]\nmutates = "accepted/reference.py"\n', "at least one"),
    ('fail = ["x"]\n[[replace]]\nold = "a"\nnew = "b"\n', "mutates ="),
    ('fail = ["x"]\nmutates = "accepted/reference.py"\n[[replace]]\nold = ""\nnew = "b"\n',
     "non-empty old"),
    ('fail = ["x"]\nmutates = "accepted/reference.py"\n[[replace]]\nold = "a"\n',
     "exactly a non-empty old and a new"),
])
def test_malformed_mutants_are_spec_errors(tiny_lib, text, problem):
    d = tiny_lib.root / "reference_solutions" / "adder" / "rejected" / "bad"
    write(d / "expect.toml", text)
    with pytest.raises(SpecError, match=problem):
        cal.discover(tiny_lib.get("adder"))


def test_a_mutant_with_its_own_solution_file_is_ambiguous(tiny_lib):
    d = tiny_lib.root / "reference_solutions" / "adder" / "rejected" / "abs_values"
    (d / "expect.toml").write_text(MUTANT)  # abs_values also has a solution.py
    with pytest.raises(SpecError, match="no solution.py or solution.ipynb of its own"):
        cal.discover(tiny_lib.get("adder"))


def test_a_mutant_without_replacements_needs_a_build_script(tiny_lib):
    """The same code with other saved files: mutates + build.py, no [[replace]]."""
    d = tiny_lib.root / "reference_solutions" / "adder" / "rejected" / "same_code"
    write(d / "expect.toml", 'fail = ["add_negative"]\nmutates = "accepted/reference.py"\n')
    with pytest.raises(SpecError, match="or a build.py beside it"):
        cal.discover(tiny_lib.get("adder"))
    write(d / "build.py", "import sys\n")
    sol = next(s for s in cal.discover(tiny_lib.get("adder")) if s.name == "rejected/same_code")
    assert sol.mutation.replacements == ()
    assert cal.mutants.apply(sol.mutation, tiny_lib.get("adder").solutions_dir) == \
        "def add(a, b):\n    return a + b\n"


def test_a_mutant_cannot_reach_outside_the_solutions(tiny_lib):
    d = tiny_lib.root / "reference_solutions" / "adder" / "rejected" / "escape"
    write(d / "expect.toml", MUTANT.replace("accepted/reference.py", "../../../graders/x.py"))
    write(tiny_lib.root / "graders" / "x.py", "a + b\n")
    (m,) = by_name(run(tiny_lib))["rejected/escape"].mismatches
    assert "is not a file under" in m


def test_bad_expect_toml_and_no_accepted_solution(tiny_lib):
    exp = tiny_lib.root / "reference_solutions/adder/rejected/abs_values/expect.toml"
    for text in ("fail = []", "why = 'x'", "fail = 'add_negative'", "fail = [1]", "not toml =",
                 "fail = ['add_negative']\nunjudged = 'add_basic'",
                 "fail = ['add_negative']\nunjudged = ['add_negative']"):
        exp.write_text(text)
        with pytest.raises(SpecError, match="expect.toml"):
            cal.discover(tiny_lib.get("adder"))
    exp.write_text(expect_toml(["add_negative"]))
    (tiny_lib.root / "reference_solutions" / "adder" / "accepted" / "reference.py").rename(
        tiny_lib.root / "reference_solutions" / "adder" / "reference.py")
    with pytest.raises(SpecError, match="no accepted solution"):
        cal.discover(tiny_lib.get("adder"))


def _verdict(name, statuses):
    checks = [CheckResult(cid, "latency", s, 0, 1, True) for cid, s in statuses.items()]
    return cal.Verdict(cal.Solution(name, None), ExerciseResult("adder", "A", "graded", 0, 2,
                                                                checks))


def test_flips_detect_status_changes_across_repeats():
    stable = [_verdict("accepted/r", {"a": "pass", "b": "fail"}) for _ in range(3)]
    assert vt.flips(stable) == []
    flaky = stable + [_verdict("accepted/r", {"a": "pass", "b": "inconclusive"})]
    assert vt.flips(flaky) == ["adder accepted/r b: verdicts ['fail', 'inconclusive'] "
                                "across repeats"]
    other = stable + [_verdict("rejected/x", {"a": "fail", "b": "fail"})]
    assert vt.flips(other) == []  # a different solution is not a repeat


def test_repeat_grades_each_solution_several_times(tiny_lib):
    verdicts = run(tiny_lib, repeat=2)
    assert len(verdicts) == 6 and vt.flips(verdicts) == []


def test_cli_exit_codes(tiny_lib):
    root = str(tiny_lib.root)
    ok = run_cli("--root", root, "calibrate", "--unsafe-no-sandbox")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "4/4 solution runs got their expected verdicts" in ok.stdout  # adder 3, scale 1
    rejected(tiny_lib, "wrong_claim", "def add(a, b):\n    return a + b\n", ["add_basic"])
    bad = run_cli("--root", root, "calibrate", "adder", "--unsafe-no-sandbox")
    assert bad.returncode == 1
    assert "MISMATCH adder rejected/wrong_claim: add_basic: expected fail, got pass" in bad.stdout


def test_checks_no_rejected_solution_fails_are_uncovered(tiny_lib):
    """scale has no rejected solution: none of its checks is shown to be able to fail."""
    verdicts = run(tiny_lib, ids=("adder", "scale"))
    scale_checks = [c.id for v in verdicts if v.result.id == "scale" for c in v.result.checks]
    assert vt.uncovered(verdicts) == [("scale", c) for c in dict.fromkeys(scale_checks)]
    # a declared failure that does not happen covers nothing
    rejected(tiny_lib, "claims", "def add(a, b):\n    return a + b\n", ["add_basic"])
    d = tiny_lib.root / "reference_solutions" / "adder" / "rejected"
    for other in ("abs_values", "off_by_one"):
        for f in (d / other).iterdir():
            f.unlink()
        (d / other).rmdir()
    assert vt.uncovered(run(tiny_lib)) == [("adder", "add_basic"), ("adder", "add_arrays"),
                                           ("adder", "add_negative")]


def test_strict_calibration_fails_on_uncovered_checks(tiny_lib):
    root = str(tiny_lib.root)
    warn = run_cli("--root", root, "calibrate", "scale", "--unsafe-no-sandbox")
    assert warn.returncode == 0, warn.stdout + warn.stderr
    assert "UNCOVERED scale scale_basic" in warn.stdout
    assert "--strict makes it an error" in warn.stdout
    strict = run_cli("--root", root, "calibrate", "scale", "--unsafe-no-sandbox", "--strict")
    assert strict.returncode == 1 and "UNCOVERED scale scale_basic" in strict.stdout
    covered = run_cli("--root", root, "calibrate", "adder", "--unsafe-no-sandbox", "--strict")
    assert covered.returncode == 0 and "UNCOVERED" not in covered.stdout


def _artifact_exercise(root):
    write(root / "exercises" / "toy_art" / "exercise.toml",
          'id = "toy_art"\ntitle = "Toy"\ntrack = "edge"\nkind = "artifact"\npoints = 1\n'
          'suggested_minutes = 1\nartifacts = ["model.txt"]\nrunner = "runner.py"\n')
    write(root / "exercises" / "toy_art" / "runner.py", "")
    write(root / "exercises" / "toy_art" / "prompt.md", "# toy\n")
    write(root / "exercises" / "toy_art" / "starter.py", "# save artifacts/toy_art/model.txt\n")
    sols = root / "reference_solutions" / "toy_art"
    write(sols / "accepted" / "reference" / "build.py",
          "import pathlib, sys\n"
          "(pathlib.Path(sys.argv[1]) / 'model.txt').write_text('value = 1')\n")
    write(sols / "rejected" / "two" / "expect.toml",
          'fail = ["x"]\nmutates = "accepted/reference/build.py"\n'
          "[[replace]]\nold = \"value = 1\"\nnew = \"value = 2\"\n")
    return Library(root).get("toy_art"), sols


def test_an_artifact_mutant_is_a_mutated_build_script(tmp_path):
    ex, sols = _artifact_exercise(tmp_path)
    found = {s.name: s for s in cal.discover(ex)}
    cache = tmp_path / "cache"
    ref = cal.build_artifact(ex, found["accepted/reference"], cache)
    two = cal.build_artifact(ex, found["rejected/two"], cache)
    assert (ref / "model.txt").read_text() == "value = 1"
    assert (two / "model.txt").read_text() == "value = 2"
    assert cal.build_artifact(ex, found["rejected/two"], cache) == two  # cached by content
    write(sols / "rejected" / "two" / "build.py", "")  # a mutant and a script: ambiguous
    with pytest.raises(SpecError, match="no solution.py or solution.ipynb or build.py"):
        cal.discover(ex)


def test_jobs_keep_discovery_order_and_report_each_exercise(tiny_lib):
    seen = []
    one = run(tiny_lib, ("adder", "scale"))
    two = run(tiny_lib, ("adder", "scale"), jobs=2,
              on_exercise=lambda ex, s, built: seen.append((ex.id, s > 0, built)))
    assert [(v.result.id, v.solution.name) for v in two] \
        == [(v.result.id, v.solution.name) for v in one]
    assert [[c.status for c in v.result.checks] for v in two] \
        == [[c.status for c in v.result.checks] for v in one]
    assert seen == [("adder", True, {}), ("scale", True, {})]


def test_decide_only_reaches_every_check_and_refuses_record_ranges(tiny_lib, monkeypatch):
    """``--decide-only`` hands every check a plan that stops at the deciding look; ranges
    need the full measurements, so the two flags together are a usage error."""
    import math

    import proctor.grading.exercise as grading_exercise

    plans = []
    real = grading_exercise.run_check
    monkeypatch.setattr(grading_exercise, "run_check",
                        lambda d, ctx: (plans.append(ctx.plan), real(d, ctx))[1])
    assert all(v.mismatches == [] for v in run(tiny_lib, plan=cal.decide_only()))
    assert plans and all(p.precision == math.inf for p in plans)
    plans.clear()
    run(tiny_lib)
    assert plans and all(p.precision == Plan().precision for p in plans)
    both = run_cli("--root", str(tiny_lib.root), "calibrate", "--unsafe-no-sandbox",
                   "--decide-only", "--record-ranges")
    assert both.returncode == 2 and "--record-ranges needs" in both.stderr
