"""``proctor grade``: many submissions in, one report folder each, plus the gradebook
that compares them (``summary.json``, ``summary.csv``, ``index.html``)."""

from __future__ import annotations

import json
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
from proctor.submission.intake import IntakeError, submission_sha256


def _all_errors(path: Path, library: Library, ids: list[str] | None, unsafe: bool,
                why: str, sha256: str) -> Report:
    exercises = []
    for ex_id in ids or library.ids():
        ex = library.get(ex_id)
        exercises.append(ExerciseResult(ex_id, ex.spec.title, "error", 0.0,
                                        float(ex.spec.points), message=why))
    return Report({"name": path.stem, "sha256": sha256}, exercises, environment(unsafe), [why])


def _sha256_or_empty(path: Path) -> str:
    try:
        return submission_sha256(path)
    except OSError:
        return ""


def grade_one(path: Path, library: Library, out: Path, ids: list[str] | None,
              unsafe: bool, name: str) -> Report:
    t0 = time.monotonic()
    try:
        report = grade_submission(path, library, ids, unsafe,
                                  progress=lambda m: print(f"  grading {m}", file=sys.stderr))
    except IntakeError as exc:
        report = _all_errors(path, library, ids, unsafe, str(exc), exc.sha256)
    except Exception as exc:  # a harness bug: this submission's report says so, the rest go on
        print(f"proctor: harness error grading {path}:\n{traceback.format_exc()}", file=sys.stderr)
        report = _all_errors(path, library, ids, unsafe,
                             f"harness error (not the submission's fault): "
                             f"{type(exc).__name__}: {exc}", _sha256_or_empty(path))
        report.environment["harness_error"] = True
    report.environment["grading_seconds"] = round(time.monotonic() - t0, 2)
    dest = out / name
    dest.mkdir(parents=True, exist_ok=True)
    report.write_json(dest / "report.json")
    write_html(report, dest / "report.html")
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
    summary = []
    for name, r in zip(names, reports, strict=True):
        line = {"name": name, "score": r.score, "max_score": r.max_score,
                "report": str(out / name / "report.html"),
                "exercises": {e.id: [e.status, e.score, e.max_score] for e in r.exercises}}
        summary.append(line)
        print(f"{name}: {r.score:g} / {r.max_score:g}  ->  {out / name / 'report.html'}")
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    write_gradebook(list(zip(names, reports, strict=True)), out)
    print(f"gradebook: {out / 'index.html'}")
    return 1 if any(r.environment.get("harness_error") for r in reports) else 0
