"""The gradebook of a campaign, rendered from ``(name, Report)`` pairs only, so that
``proctor grade`` and ``proctor gradebook`` (merging earlier runs' report.json files,
no regrading) write the same folder:

    index.html         heat map, per-track subtotals, distributions, similarity, items
    similarity.html    each flagged pair side by side, matching regions marked
    summary.json       one line per submission, paths relative to this folder
    summary.csv        the same for spreadsheets (formula injection defused)
    <name>/report.json and report.html, the latter linking back to index.html

Names and problems are candidate-controlled: every page escapes them.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from proctor.report.book import book_view
from proctor.report.html import write_html
from proctor.report.model import Report
from proctor.templating import templates


def write_gradebook(graded: list[tuple[str, Report]], out: Path,
                    library: Any = None) -> None:
    """Write the gradebook folder ``out`` (see the module docstring). ``library`` (a
    ``Library``; found from the cwd when None) supplies tracks missing from older
    reports and the starter and prompt code that similarity must ignore."""
    from proctor import review  # reads reports; imported here, where it is used

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    library = library if library is not None else _find_library()
    for _, r in graded:
        review.annotate(r, library)
    codes: dict[str, dict[str, str]] = {}
    skipped = _artifact_exercises(library)
    for name, r in graded:
        for e in r.exercises:
            if e.source and e.id not in skipped:
                codes.setdefault(e.id, {})[name] = e.source
    given = {ex_id: review.sources.library_given_code(library, ex_id) for ex_id in codes}
    try:
        pairs, unavailable = review.similar_pairs(codes, given), ""
    except ImportError as exc:  # copydetect missing: say so on the page, grade on
        pairs, unavailable = [], f"similarity review unavailable ({exc})"
    items = review.analyse(graded)
    view = book_view(graded, pairs, items, review.similarity.FLAG_SHARE)
    view.update(note=review.NOTE, given_known=library is not None, unavailable=unavailable,
                skipped=sorted(skipped & {e.id for _, r in graded for e in r.exercises}))
    env = templates("proctor.report")
    (out / "index.html").write_text(env.get_template("gradebook.html.j2").render(b=view))
    sources = {(name, e.id): e.source for name, r in graded for e in r.exercises}
    (out / "similarity.html").write_text(env.get_template("similarity.html.j2").render(
        b=view, pairs=[_side_by_side(p, v, sources) for p, v in zip(pairs, view["pairs"],
                                                                   strict=True)]))
    flags = _flags_by_name(view["pairs"])
    for name, r in graded:
        dest = out / name
        dest.mkdir(parents=True, exist_ok=True)
        r.write_json(dest / "report.json")
        write_html(r, dest / "report.html", gradebook="../index.html",
                   flags=flags.get(name, []))
    _write_summaries(graded, out, view)


def read_reports(dirs: list[Path]) -> list[tuple[str, Report]]:
    """``(name, Report)`` from grading output folders (``DIR/<name>/report.json``) or
    single report folders, in order; a name seen twice gets a ``-2`` suffix. Raises
    ValueError naming the folder or file that cannot be read."""
    found: list[Path] = []
    for d in dirs:
        if not d.is_dir():
            raise ValueError(f"{str(d)!r}: not a directory")
        found += [d / "report.json"] if (d / "report.json").is_file() else \
            sorted(d.glob("*/report.json"))
    if not found:
        raise ValueError(f"no report.json in {', '.join(map(str, dirs))} nor in their "
                         "subfolders")
    graded: list[tuple[str, Report]] = []
    for path in found:
        try:
            report = Report.read_json(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not a readable report ({exc})") from None
        base = name = path.parent.name
        i = 2
        while name in {n for n, _ in graded}:
            name, i = f"{base}-{i}", i + 1
        graded.append((name, report))
    return graded


def _side_by_side(pair: Any, v: dict[str, Any],
                  sources: dict[tuple[str, str], str]) -> dict[str, Any]:
    from proctor.review.similarity import segments

    return {**v,
            "left": segments(sources.get((pair.a, pair.exercise), ""), pair.regions_a),
            "right": segments(sources.get((pair.b, pair.exercise), ""), pair.regions_b)}


def _flags_by_name(pairs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for p in pairs:
        href = f"../similarity.html#{p['anchor']}"
        out.setdefault(p["a"], []).append({"exercise": p["exercise"], "other": p["b"],
                                           "percent": p["share_a"], "href": href})
        out.setdefault(p["b"], []).append({"exercise": p["exercise"], "other": p["a"],
                                           "percent": p["share_b"], "href": href})
    return out


def _write_summaries(graded: list[tuple[str, Report]], out: Path,
                     view: dict[str, Any]) -> None:
    summary = [{"name": name, "score": r.score, "max_score": r.max_score,
                "report": f"{name}/report.html",  # a path (summary.json is data, not HTML)
                "plan": {k: r.plan.get(k) for k in ("name", "score", "max_score", "warnings")}
                if isinstance(r.plan, dict) else None,
                "exercises": {e.id: [e.status, e.score, e.max_score] for e in r.exercises}}
               for name, r in graded]
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    exercises = [c["id"] for g in view["groups"] for c in g["exercises"]]
    by_name = dict(graded)
    with (out / "summary.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["submission", "score", "max_score"]
                   + [f"{ex}{suffix}" for ex in exercises for suffix in ("", "_status")])
        for row in view["rows"]:
            r = by_name[row["name"]]
            cells = {e.id: e for e in r.exercises}
            per_ex: list[Any] = []
            for ex in exercises:
                e = cells.get(ex)
                per_ex += [e.score, e.status] if e else ["", "absent"]
            w.writerow([_cell(row["name"]), r.score, r.max_score, *per_ex])


def _artifact_exercises(library: Any) -> set[str]:
    """Exercises graded by their file, not their code: their notebooks hold short build
    scripts (load, export or quantize, save) that independent candidates write alike,
    so similarity there is not evidence; they are left out of the comparison."""
    if library is None:
        return set()
    out = set()
    for ex_id in library.ids():
        try:
            if library.get(ex_id).spec.kind == "artifact":
                out.add(ex_id)
        except ValueError:  # SpecError: a broken spec is the library's problem, not ours
            continue
    return out


def _find_library() -> Any:
    from proctor.library.spec import Library, SpecError

    try:
        return Library.find(None)
    except SpecError:
        return None


def _cell(text: str) -> str:
    """A spreadsheet must not run a submission's name as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
