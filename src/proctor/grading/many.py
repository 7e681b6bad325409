"""``proctor grade``: many submissions in, one report folder each, plus the gradebook
that compares them (``summary.json``, ``summary.csv``, ``index.html``)."""

from __future__ import annotations

import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from proctor.grading.submission import environment, grade_submission
from proctor.library.spec import Library
from proctor.report.gradebook import write_gradebook
from proctor.report.html import write_html
from proctor.report.model import ExerciseResult, Report
from proctor.review.sources import annotate
from proctor.submission.intake import IntakeError


def _all_errors(path: Path, library: Library, ids: list[str] | None, unsafe: bool,
                why: str) -> Report:
    exercises = []
    for ex_id in ids or library.ids():
        ex = library.get(ex_id)
        exercises.append(ExerciseResult(ex_id, ex.spec.title, "error", 0.0,
                                        float(ex.spec.points), message=why))
    return Report({"name": path.stem, "sha256": ""}, exercises, environment(unsafe), [why])


def grade_one(path: Path, library: Library, out: Path, ids: list[str] | None,
              unsafe: bool, name: str) -> Report:
    t0 = time.monotonic()
    try:
        report = grade_submission(path, library, ids, unsafe,
                                  progress=lambda m: print(f"  grading {m}", file=sys.stderr))
    except IntakeError as exc:
        report = _all_errors(path, library, ids, unsafe, str(exc))
    except Exception as exc:  # a harness bug: this submission's report says so, the rest go on
        print(f"proctor: harness error grading {path}:\n{traceback.format_exc()}", file=sys.stderr)
        report = _all_errors(path, library, ids, unsafe,
                             f"harness error (not the submission's fault): "
                             f"{type(exc).__name__}: {exc}")
        report.environment["harness_error"] = True
    report.environment["grading_seconds"] = round(time.monotonic() - t0, 2)
    annotate(report, library, path)  # tracks, skills and the candidate's code
    if report.exercises and all(e.status == "missing" for e in report.exercises):
        report.problems.insert(0, "nothing to grade: no exercise's notebook or artifacts "
                                  "were found in this submission")
    dest = out / name
    dest.mkdir(parents=True, exist_ok=True)
    report.write_json(dest / "report.json")
    write_html(report, dest / "report.html", gradebook="../index.html")
    return report


def _names(paths: list[Path]) -> list[str]:
    names: list[str] = []
    for p in paths:
        base = p.stem if p.is_file() and p.suffix == ".zip" else p.name
        if p.suffix in (".py", ".ipynb"):
            base = p.stem if p.stem not in ("solution", "reference") else p.parent.name
        name, i = base, 2
        while name in names:
            name, i = f"{base}-{i}", i + 1
        names.append(name)
    return names


def grade_many(paths: list[Path], library: Library, out: Path, ids: list[str] | None,
               unsafe: bool, jobs: int = 1) -> int:
    out.mkdir(parents=True, exist_ok=True)
    names = _names(paths)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        reports = list(pool.map(lambda pn: grade_one(pn[0], library, out, ids, unsafe, pn[1]),
                                zip(paths, names, strict=True)))
    for name, r in zip(names, reports, strict=True):
        print(f"{name}: {r.score:g} / {r.max_score:g}  ->  {out / name / 'report.html'}")
    write_gradebook(list(zip(names, reports, strict=True)), out, library)
    print(f"gradebook: {out / 'index.html'}")
    return 1 if any(r.environment.get("harness_error") for r in reports) else 0
