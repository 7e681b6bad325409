"""Grading one exercise and one submission: every failure is a status, never a crash."""

from __future__ import annotations

import pytest
from conftest import notebook_json, submission_dir, validate_report, write

from proctor.grading import Source, candidate_source, grade_exercise, safe_source
from proctor.grading.submission import grade_submission, reference_source
from proctor.library.spec import SpecError

GOOD = ["import numpy as np", "def add(a, b):\n    return a + b"]


def grade(lib, cells, ex_id="adder", hidden=True, **kw):
    ex = lib.get(ex_id)
    source = cells if isinstance(cells, str) else Source(cells, None)
    ref = reference_source(ex) if hidden else None
    return grade_exercise(ex, source, ref, hidden=hidden, unsafe=True, **kw)


def statuses(result):
    return {c.id: c.status for c in result.checks}


def test_a_correct_solution_gets_full_marks(tiny_lib):
    r = grade(tiny_lib, GOOD)
    assert r.status == "graded" and r.score == r.max_score == 4
    assert [(c.id, c.hidden, c.status, c.points) for c in r.checks] == [
        ("add_basic", False, "pass", 1), ("add_arrays", True, "pass", 2),
        ("add_negative", True, "pass", 1)]
    assert r.cell_errors == [] and r.message == "" and r.seconds >= 0


def test_public_only_grading(tiny_lib):
    r = grade(tiny_lib, GOOD, hidden=False)
    assert [c.id for c in r.checks] == ["add_basic"] and r.max_score == 1 and r.score == 1


def test_wrong_answers_fail_their_checks_only(tiny_lib):
    r = grade(tiny_lib, ["def add(a, b):\n    return abs(a) + abs(b)"])
    assert statuses(r) == {"add_basic": "pass", "add_arrays": "pass", "add_negative": "fail"}
    assert r.score == 3
    assert "assert 5 == -5" in r.checks[2].message


def test_starter_is_not_implemented(tiny_lib):
    ex = tiny_lib.get("adder")
    r = grade(tiny_lib, [ex.starter])
    assert set(statuses(r).values()) == {"fail"}
    assert all(c.message == "add is not implemented yet" for c in r.checks)


def test_failing_cells_are_recorded_and_grading_goes_on(tiny_lib):
    r = grade(tiny_lib, ["raise RuntimeError('cell one broke')", *GOOD, "1/0"])
    assert r.score == 4
    assert [(e["cell"], e["type"]) for e in r.cell_errors] == [
        (1, "RuntimeError"), (4, "ZeroDivisionError")]
    assert "cell one broke" in r.cell_errors[0]["message"]


def test_forbidden_imports_are_refused_in_the_worker(tiny_lib):
    toml = tiny_lib.root / "exercises" / "adder" / "exercise.toml"
    toml.write_text(toml.read_text().replace('kind = "code"\n',
                                             'kind = "code"\nforbidden_imports = ["json"]\n'))
    r = grade(tiny_lib, ["import json.decoder\ndef add(a, b):\n    return a + b",
                         "from json import loads", *GOOD])
    assert r.score == 4  # the rest of the notebook still runs
    assert [(e["cell"], e["type"]) for e in r.cell_errors] == [(1, "ImportError"),
                                                                (2, "ImportError")]
    assert "json is not allowed in this exercise" in r.cell_errors[0]["message"]
    clean = grade(tiny_lib, ["import collections", *GOOD])  # anything else imports as usual
    assert clean.cell_errors == [] and clean.score == 4


def test_missing_function_fails_with_a_name_error(tiny_lib):
    r = grade(tiny_lib, ["def plus(a, b):\n    return a + b"])
    assert set(statuses(r).values()) == {"fail"}
    assert "NameError" in r.checks[0].message


def test_a_crash_costs_only_its_check_and_the_worker_restarts(tiny_lib):
    r = grade(tiny_lib, ["import os\ndef add(a, b):\n"
                         "    if isinstance(a, int) and a == 2:\n        os._exit(9)\n"
                         "    return a + b"])
    assert statuses(r) == {"add_basic": "error", "add_arrays": "pass", "add_negative": "pass"}
    assert "exited with code 9" in r.checks[0].message
    assert r.score == 3


def test_the_notebooks_output_survives_a_restart_and_its_last_line_is_kept(tiny_lib):
    r = grade(tiny_lib, ["import os, sys\nprint('loaded', flush=True)\n"
                         "def add(a, b):\n    if isinstance(a, int) and a == 2:\n"
                         "        print('dying', flush=True)\n        os._exit(9)\n"
                         "    return a + b"])
    assert r.output.count("loaded") == 2 and "dying" in r.output, r.output
    assert "[proctor: the worker was restarted: " in r.output
    assert r.output.index("dying") < r.output.index("restarted") < r.output.rindex("loaded")


def test_a_hang_in_a_call_is_a_timeout(tiny_lib):
    toml = tiny_lib.root / "exercises" / "adder" / "exercise.toml"
    toml.write_text(toml.read_text().replace("call_timeout_s = 10", "call_timeout_s = 1"))
    r = grade(tiny_lib, ["def add(a, b):\n    while isinstance(a, int) and a == -2:\n"
                         "        pass\n    return a + b"])
    assert statuses(r) == {"add_basic": "pass", "add_arrays": "pass", "add_negative": "timeout"}
    assert "no answer within 1 s" in r.checks[2].message


def test_a_notebook_that_never_finishes(tiny_lib):
    toml = tiny_lib.root / "exercises" / "adder" / "exercise.toml"
    toml.write_text(toml.read_text().replace("time_limit_s = 20", "time_limit_s = 1"))
    r = grade(tiny_lib, [*GOOD, "while True:\n    pass"])
    assert r.status == "graded"
    assert set(statuses(r).values()) == {"timeout"} and r.score == 0
    assert "longer than the 1 s limit" in r.message
    assert all("longer than the 1 s limit" in c.message for c in r.checks)


def test_a_notebook_that_exits_while_loading(tiny_lib):
    r = grade(tiny_lib, [*GOOD, "import os\nos._exit(4)"])
    assert set(statuses(r).values()) == {"error"}
    assert "exited with code 4" in r.message


def test_hostile_load_replies_are_validated(tiny_lib):
    # A notebook that forges a malformed load report must not crash the grader.
    forge = ("import os, sys, struct, msgpack\n"
             "p = msgpack.packb({'cell': 'x', 'error': 5})\n"
             "os.write(int(sys.argv[2]), struct.pack('<Q', len(p)) + p)")
    r = grade(tiny_lib, [*GOOD, forge])
    assert r.status == "graded" and r.score == 4
    assert r.cell_errors[0]["cell"] == 0 and r.cell_errors[0]["message"] == "5"


def test_inconclusive_scores_half_and_unknown_statuses_are_errors(tiny_lib):
    hidden = tiny_lib.root / "graders" / "adder" / "checks.py"
    hidden.write_text(hidden.read_text() + '''

from proctor.checks import Outcome


@check(points=2)
def unsure(ctx):
    return Outcome("inconclusive", "could not tell")


@check(points=1)
def weird(ctx):
    return Outcome("maybe", "?")
''')
    toml = tiny_lib.root / "exercises" / "adder" / "exercise.toml"
    toml.write_text(toml.read_text().replace("points = 4", "points = 7"))
    r = grade(tiny_lib, GOOD)
    by = {c.id: c for c in r.checks}
    assert by["unsure"].status == "inconclusive" and by["unsure"].points == 1.0
    assert by["weird"].status == "error" and "unknown status 'maybe'" in by["weird"].message
    assert r.score == 4 + 1.0 and r.max_score == 7


def test_checks_see_a_deterministic_hidden_seed(tiny_lib):
    a = grade(tiny_lib, GOOD)
    b = grade(tiny_lib, GOOD, seed=99)
    assert a.score == b.score == 4
    (tiny_lib.root / "graders" / "adder" / "seed.txt").write_text("not a number")
    r = grade(tiny_lib, GOOD)
    assert r.status == "error" and "seed.txt" in r.message


def test_the_worker_knows_it_is_grading(tiny_lib):
    r = grade(tiny_lib, ["from proctor.candidate import is_grading\n"
                         "def add(a, b):\n    return a + b if is_grading() else 0"])
    assert r.score == 4


def test_sources(tiny_lib, tmp_path):
    ex = tiny_lib.get("adder")
    assert candidate_source(ex, None, None) == "missing: no notebooks/adder.ipynb"
    nb = write(tmp_path / "n.ipynb", notebook_json(["x = 1"]))
    assert candidate_source(ex, nb, None).cells == ["x = 1\n"]
    broken = write(tmp_path / "broken.ipynb", "{nope")
    src = safe_source(ex, broken, None)
    assert isinstance(src, str) and src.startswith("error: broken.ipynb")
    r = grade_exercise(ex, src, None, hidden=True, unsafe=True)
    assert r.status == "error" and "broken.ipynb" in r.message and r.checks == []
    r = grade_exercise(ex, "missing: no notebooks/adder.ipynb", None, hidden=True, unsafe=True)
    assert r.status == "missing" and r.score == 0 and r.max_score == 4


def test_reference_source_needs_the_accepted_reference(tiny_lib):
    ex = tiny_lib.get("adder")
    assert "return a + b" in reference_source(ex).cells[0]
    (ex.solutions_dir / "accepted" / "reference.py").unlink()
    with pytest.raises(SpecError, match="reference.py"):
        reference_source(ex)


def test_a_broken_reference_is_reported(tiny_lib):
    (tiny_lib.root / "reference_solutions" / "adder" / "accepted" / "reference.py").write_text(
        "import os\nos._exit(1)\n")
    r = grade(tiny_lib, GOOD)
    assert "reference failed to load" in r.message
    assert {c.id: c.status for c in r.checks}["add_arrays"] == "error"


def test_grade_submission_missing_and_broken_exercises(tiny_lib, tmp_path):
    sub = submission_dir(tmp_path / "gina", {"adder": GOOD})
    report = grade_submission(sub, tiny_lib, None, unsafe=True)
    assert [(e.id, e.status, e.score) for e in report.exercises] == [
        ("adder", "graded", 4), ("scale", "missing", 0)]
    write(sub / "notebooks" / "scale.ipynb", "this is not json")
    report = grade_submission(sub, tiny_lib, None, unsafe=True)
    assert [(e.id, e.status) for e in report.exercises] == [("adder", "graded"),
                                                             ("scale", "error")]
    assert "scale.ipynb" in report.exercises[1].message
    report = grade_submission(sub, tiny_lib, ["adder", "nope"], unsafe=True)
    assert [(e.id, e.status) for e in report.exercises] == [("adder", "graded"),
                                                             ("nope", "error")]
    validate_report(report.to_dict())


def test_a_code_exercise_reads_its_artifact_dir(tiny_lib, tmp_path):
    # the submission's artifacts/<id>/ lives under /tmp here, as a bundle usually does
    art = write(tmp_path / "sub" / "artifacts" / "adder" / "offset.txt", "1\n").parent
    ex = tiny_lib.get("adder")
    cells = ["from proctor.candidate import artifact_dir\n"
             "OFFSET = int((artifact_dir('adder') / 'offset.txt').read_text())",
             "def add(a, b):\n    return a + b + OFFSET"]
    r = grade_exercise(ex, Source(cells, art), reference_source(ex), hidden=True, unsafe=True)
    assert r.cell_errors == []
    assert statuses(r) == {"add_basic": "fail", "add_arrays": "fail", "add_negative": "fail"}


def test_checks_see_the_code_the_candidate_loaded(tiny_lib, monkeypatch):
    """``ctx.code`` is the candidate's cells as text (e.g. weights pasted into a cell count
    towards a size budget); the reference's code is never shown as the candidate's."""
    import proctor.grading.exercise as grading_exercise

    seen: list[tuple[str, ...]] = []
    real = grading_exercise.run_check

    def spy(d, ctx):
        seen.append(ctx.code)
        return real(d, ctx)

    monkeypatch.setattr(grading_exercise, "run_check", spy)
    ex = tiny_lib.get("adder")
    cells = ["W = 'AAAA'  # pasted weights", "def add(a, b):\n    return a + b"]
    grade_exercise(ex, Source(cells, None), reference_source(ex), hidden=True, unsafe=True)
    assert seen and all(code == tuple(cells) for code in seen)
