"""``proctor grade``: many submissions in, one report folder each plus a summary."""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from proctor.intake import IntakeError
from proctor.pipeline import environment, grade_submission
from proctor.report import ExerciseResult, Report
from proctor.report_html import write_html
from proctor.spec import Library


def _failed_intake(path: Path, library: Library, ids: list[str] | None, unsafe: bool,
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
        report = _failed_intake(path, library, ids, unsafe, str(exc))
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
    return 0
