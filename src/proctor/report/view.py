"""What the report page shows, decided here and only drawn by the template: the decision
first (totals, competency profile, what failed), then each exercise with its failing
checks expanded and its passing ones collapsed.

Everything the candidate controls (names, messages, output, code) stays plain text: the
template escapes it.
"""

from __future__ import annotations

from typing import Any

from proctor.report.gauge import gauge
from proctor.report.model import SCORING, CheckResult, ExerciseResult, Report
from proctor.report.numbers import budget_text, measured_rows, number
from proctor.report.profile import profile, share, share_colour, track_name

FAILING = ("fail", "error", "timeout", "inconclusive")
ONE_LINE = 180


def anchor(exercise_id: str, check_id: str | None = None) -> str:
    """Fragment ids: ``<exercise>`` for an exercise, ``<exercise>--<check>`` for a check
    (ids are ``[a-z0-9_]``, so these are valid and unique)."""
    return exercise_id if check_id is None else f"{exercise_id}--{check_id}"


def one_line(text: str, width: int = ONE_LINE) -> str:
    """The line that says why: the first non-empty one, except for a shrunk input
    ("smallest failing input (...): <input>\n<assertion>"), where the assertion is the
    last line and the input's name says which case."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return ""
    first = lines[0]
    if first.startswith("smallest failing input (") and len(lines) > 1:
        case = first[len("smallest failing input ("):].split("):", 1)[0]
        first = f"{lines[-1]} (smallest failing input: {case})"
    return first if len(first) <= width else first[: width - 1] + "…"


def check_view(e: ExerciseResult, c: CheckResult) -> dict[str, Any]:
    g = gauge(c.kind, c.status, c.measured, c.budget, getattr(c, "calibration", None))
    return {
        "id": c.id, "anchor": anchor(e.id, c.id), "kind": c.kind, "status": c.status,
        "points": number(c.points), "max_points": number(c.max_points), "hidden": c.hidden,
        "message": c.message, "line": one_line(c.message),
        "rows": measured_rows(c.measured), "budget": budget_text(c.budget), "gauge": g,
        "headline": g["short"] if g else "", "seconds": number(c.seconds),
        "failing": c.status in FAILING,
    }


def exercise_view(e: ExerciseResult) -> dict[str, Any]:
    checks = [check_view(e, c) for c in e.checks]
    s = share(e.score, e.max_score)
    return {
        "id": e.id, "title": e.title, "status": e.status, "track": track_name(e.track),
        "score": number(e.score), "max_score": number(e.max_score), "share": s,
        "percent": round(100 * s) if s is not None else 0, "colour": share_colour(s),
        "n_checks": len(checks), "n_pass": sum(c.status == "pass" for c in e.checks),
        "failing": [c for c in checks if c["failing"]],
        "passing": [c for c in checks if not c["failing"]],
        "message": e.message, "cell_errors": e.cell_errors, "output": e.output,
        "source": getattr(e, "source", ""), "seconds": number(e.seconds),
    }


def failures(report: Report) -> list[dict[str, Any]]:
    """The "what failed" rows: each exercise not graded, then each check that did not
    pass, one line each, linked to its detail; most points lost first within an
    exercise; ``first``/``span`` group the rows of one exercise."""
    out = []
    for e in report.exercises:
        rows = []
        if e.status != "graded":
            why = "not submitted" if e.status == "missing" else "could not be graded"
            rows.append({"href": anchor(e.id), "check": "", "status": e.status,
                         "points": f"0 / {number(e.max_score)}",
                         "line": f"{why}: {one_line(e.message)}" if e.message else why})
        for c in sorted((c for c in e.checks if c.status in FAILING),
                        key=lambda c: -(c.max_points - c.points)):
            rows.append({"href": anchor(e.id, c.id), "check": c.id, "status": c.status,
                         "points": f"{number(c.points)} / {number(c.max_points)}",
                         "line": one_line(c.message)})
        for i, row in enumerate(rows):
            row.update(exercise_id=e.id, exercise=e.title, first=i == 0, span=len(rows))
        out += rows
    return out


def report_view(report: Report, gradebook: str | None = None,
                flags: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The page's data. ``gradebook`` is the relative link back to the gradebook;
    ``flags`` the similarity flags that name this submission (shown as evidence only)."""
    env = report.environment
    sandbox = env.get("sandbox") if isinstance(env.get("sandbox"), dict) else {}
    s = share(report.score, report.max_score)
    exercises = [exercise_view(e) for e in report.exercises]
    n_checks = sum(len(e.checks) for e in report.exercises)
    return {
        "name": str(report.submission.get("name", "")),
        "sha256": str(report.submission.get("sha256", "")),
        "score": number(report.score), "max_score": number(report.max_score),
        "percent": round(100 * s) if s is not None else 0, "colour": share_colour(s),
        "unsafe": bool(env.get("unsafe_no_sandbox")),
        "harness_error": bool(env.get("harness_error")),
        "proctor": env.get("proctor", ""),
        "sandbox": sandbox.get("summary") or sandbox.get("reason") or "",
        "grading_seconds": number(env["grading_seconds"])
        if isinstance(env.get("grading_seconds"), (int, float)) else "",
        "problems": list(report.problems),
        "profile": profile(report.exercises),
        "failures": failures(report),
        "n_failed_checks": sum(c.status in FAILING for e in report.exercises
                               for c in e.checks),
        "n_unsubmitted": sum(e.status != "graded" for e in report.exercises),
        "n_checks": n_checks,
        "n_pass": sum(c.status == "pass" for e in report.exercises for c in e.checks),
        "exercises": exercises,
        "gradebook": gradebook, "flags": flags or [],
        "scoring": SCORING["rule"],
    }
