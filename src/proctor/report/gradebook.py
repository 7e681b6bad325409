"""The gradebook: ``index.html`` and ``summary.csv`` comparing many reports."""

from __future__ import annotations

import csv
from pathlib import Path

from proctor.report.model import Report
from proctor.templating import templates


def write_gradebook(graded: list[tuple[str, Report]], out: Path) -> None:
    """``index.html`` and ``summary.csv``: one row per submission, best first, one
    column per exercise; names and problems are candidate-controlled, so escaped."""
    exercises: list[str] = []
    rows = []
    for name, r in graded:
        cells = {}
        for e in r.exercises:
            if e.id not in exercises:
                exercises.append(e.id)
            cells[e.id] = {"status": e.status, "score": e.score, "max_score": e.max_score,
                           "inconclusive": sum(c.status == "inconclusive" for c in e.checks),
                           "broken": sum(c.status in ("error", "timeout") for c in e.checks)}
        rows.append({"name": name, "score": r.score, "max_score": r.max_score,
                     "link": f"{name}/report.html", "cells": cells, "problems": r.problems,
                     "unsafe": bool(r.environment.get("unsafe_no_sandbox"))})
    rows.sort(key=lambda row: (-row["score"], row["name"]))
    page = templates("proctor.report").get_template("gradebook.html.j2")
    html = page.render(rows=rows, exercises=exercises,
                       plans=sorted({r.plan["name"] for _, r in graded if r.plan}))
    (out / "index.html").write_text(html)
    with (out / "summary.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["submission", "score", "max_score"]
                   + [f"{ex}{suffix}" for ex in exercises for suffix in ("", "_status")])
        for row in rows:
            per_ex = []
            for ex in exercises:
                c = row["cells"].get(ex)
                per_ex += [c["score"], c["status"]] if c else ["", "absent"]
            w.writerow([_cell(row["name"]), row["score"], row["max_score"], *per_ex])


def _cell(text: str) -> str:
    """A spreadsheet must not run a submission's name as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
