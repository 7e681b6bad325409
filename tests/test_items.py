"""Item analysis: difficulty, discrimination and the warnings, on reports built by hand
(so every figure can be checked against a hand computation)."""

from __future__ import annotations

import math

import pytest

from proctor.report import CheckResult, ExerciseResult, Report, points_for
from proctor.review.items import MIN_SUBMISSIONS, analyse, correlation


def sub(name: str, statuses: dict[str, str], extra: float = 0.0) -> tuple[str, Report]:
    """A submission whose exercise "ex" has one check per entry (1 point each), plus an
    "other" exercise worth ``extra`` points (the rest of the total)."""
    checks = [CheckResult(cid, "correctness", st, points_for(st, 1.0), 1.0, True)
              for cid, st in statuses.items()]
    ex = ExerciseResult("ex", "Ex", "graded", sum(c.points for c in checks),
                        float(len(checks)), checks)
    other = ExerciseResult("other", "Other", "graded", extra, 10.0,
                           [CheckResult("o", "correctness", "pass", extra, 10.0, True)])
    return name, Report({"name": name, "sha256": ""}, [ex, other], {})


def graded_set() -> list[tuple[str, Report]]:
    # "good" is passed by the strong ones, "easy" by all, "hard" by none, "odd" by the weak
    rows = [("s1", 10), ("s2", 8), ("s3", 6), ("s4", 2), ("s5", 0)]
    out = []
    for i, (name, extra) in enumerate(rows):
        out.append(sub(name, {
            "good": "pass" if i < 3 else "fail",
            "easy": "pass",
            "hard": "fail",
            "odd": "pass" if i >= 3 else "fail",
            "half": "inconclusive" if i == 0 else "fail",
        }, extra))
    return out


def test_difficulty_and_discrimination_match_a_hand_computation():
    (ex, _other) = analyse(graded_set())
    by = {i.check: i for i in ex.items}
    assert ex.n == 5 and not ex.note
    assert by["good"].difficulty == pytest.approx(0.6)
    assert by["easy"].difficulty == 1 and by["hard"].difficulty == 0
    assert by["half"].difficulty == pytest.approx(0.1)  # inconclusive earns half
    # corrected item-total: the item's own point is taken out of the total
    totals = [10 + 2.5, 8 + 2, 6 + 2, 2 + 2, 0 + 2]  # "other" + this exercise's points
    x = [1, 1, 1, 0, 0]
    rest = [t - xi for t, xi in zip(totals, x, strict=True)]
    assert by["good"].discrimination == pytest.approx(correlation(x, rest))
    assert by["good"].discrimination > 0.8
    assert by["odd"].discrimination < -0.8


def test_warnings_name_what_is_wrong():
    (ex, _other) = analyse(graded_set())
    by = {i.check: i for i in ex.items}
    assert by["easy"].warnings == ["everyone passes: it separates no one"]
    assert by["easy"].discrimination is None  # a constant item has no correlation
    assert any("no one passes" in w for w in by["hard"].warnings)
    assert any("negative discrimination" in w for w in by["odd"].warnings)
    assert by["good"].warnings == []


def test_too_few_submissions_gives_a_note_not_figures():
    few = graded_set()[: MIN_SUBMISSIONS - 1]
    (ex, _other) = analyse(few)
    assert ex.items == [] and "needs 5" in ex.note and ex.n == 4


def test_missing_exercises_do_not_count():
    subs = graded_set()
    name, r = subs[0]
    r.exercises[0] = ExerciseResult("ex", "Ex", "missing", 0.0, 5.0)
    (ex, _other) = analyse(subs)
    assert ex.n == 4 and ex.items == []


def test_correlation_edge_cases():
    assert correlation([1, 1, 1], [1, 2, 3]) is None
    assert correlation([1], [1]) is None
    assert correlation([0, 1], [0, 1]) == pytest.approx(1.0)
    assert math.isclose(correlation([0, 1, 0, 1], [1, 0, 1, 0]), -1.0)
