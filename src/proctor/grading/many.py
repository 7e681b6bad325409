"""``proctor grade``: many submissions in, one report folder each, plus the gradebook
that compares them (``summary.json``, ``summary.csv``, ``index.html``).

``--shard I/N`` grades a deterministic share of the inputs, so that N machines given the
same inputs grade each submission exactly once; ``proctor gradebook`` merges their
folders (see :mod:`proctor.report.gradebook`)."""

from __future__ import annotations

import hashlib
import json
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import proctor
from proctor.grading.plan import ids_to_grade, plan_section
from proctor.grading.submission import environment, grade_submission
from proctor.library.plans import InterviewPlan
from proctor.library.spec import Library
from proctor.report.gradebook import write_gradebook
from proctor.report.html import write_html
from proctor.report.merge import SHARD_FILE, SHARD_SCHEMA
from proctor.report.model import ExerciseResult, Report
from proctor.review.sources import annotate
from proctor.submission.intake import IntakeError, submission_sha256


def _all_errors(path: Path, library: Library, ids: list[str] | None, unsafe: bool,
                why: str, sha256: str, plan: InterviewPlan | None = None) -> Report:
    exercises = []
    for ex_id in ids_to_grade(plan, ids, library):
        ex = library.get(ex_id)
        exercises.append(ExerciseResult(ex_id, ex.spec.title, "error", 0.0,
                                        float(ex.spec.points), message=why))
    report = Report({"name": path.stem, "sha256": sha256}, exercises, environment(unsafe), [why])
    if plan is not None:
        report.plan = plan_section(plan, report, None, None, [])
    return report


def _sha256_or_empty(path: Path) -> str:
    try:
        return submission_sha256(path)
    except OSError:
        return ""


def grade_one(path: Path, library: Library, out: Path, ids: list[str] | None,
              unsafe: bool, name: str, version: dict[str, str] | None = None,
              plan: InterviewPlan | None = None) -> Report:
    t0 = time.monotonic()
    try:
        report = grade_submission(path, library, ids, unsafe,
                                  progress=lambda m: print(f"  grading {m}", file=sys.stderr),
                                  plan=plan)
    except IntakeError as exc:
        report = _all_errors(path, library, ids, unsafe, str(exc), exc.sha256, plan)
    except Exception as exc:  # a harness bug: this submission's report says so, the rest go on
        print(f"proctor: harness error grading {path}:\n{traceback.format_exc()}", file=sys.stderr)
        report = _all_errors(path, library, ids, unsafe,
                             f"harness error (not the submission's fault): "
                             f"{type(exc).__name__}: {exc}", _sha256_or_empty(path), plan)
        report.environment["harness_error"] = True
    report.environment["grading_seconds"] = round(time.monotonic() - t0, 2)
    report.environment["library"] = version or library_version(library.root)
    annotate(report, library, path)  # tracks, skills and the candidate's code
    if report.exercises and all(e.status == "missing" for e in report.exercises):
        report.problems.insert(0, "nothing to grade: no exercise's notebook or artifacts "
                                  "were found in this submission")
    dest = out / name
    dest.mkdir(parents=True, exist_ok=True)
    report.write_json(dest / "report.json")
    write_html(report, dest / "report.html", gradebook="../index.html")
    return report


def _base_name(p: Path) -> str:
    base = p.stem if p.is_file() and p.suffix == ".zip" else p.name
    if p.suffix in (".py", ".ipynb"):
        base = p.stem if p.stem not in ("solution", "reference") else p.parent.name
    return base


def _names(paths: list[Path]) -> list[str]:
    """One folder name per input, unique in the run. Colliding names get ``-2``, ``-3``, ...
    in the order of their paths' text, not of the arguments: a submission is named alike
    by every shard, however each was given its inputs."""
    bases = [_base_name(p) for p in paths]
    names = [""] * len(paths)
    taken: set[str] = set()
    for i in sorted(range(len(paths)), key=lambda i: (bases[i], str(paths[i]))):
        name, k = bases[i], 2
        while name in taken:
            name, k = f"{bases[i]}-{k}", k + 1
        taken.add(name)
        names[i] = name
    return names


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` (0 <= I < N, as Kubernetes numbers an Indexed Job's pods) -> ``(I, N)``."""
    index, sep, count = text.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i, n = -1, 0
    if not sep or n < 1 or not 0 <= i < n:
        raise ValueError(f"invalid shard {text!r}: expected I/N with 0 <= I < N, e.g. 0/4 "
                         "(in a Kubernetes Indexed Job: $(JOB_COMPLETION_INDEX)/<completions>)")
    return i, n


def shard_of(names: list[str], count: int) -> dict[str, int]:
    """Each name's shard in ``0..count-1``. Names are ordered by a hash of the name, then
    dealt round-robin: every name lands in exactly one shard, the shards' sizes differ by
    at most one, and the order of the inputs changes nothing."""
    order = sorted(set(names), key=lambda n: (hashlib.sha256(n.encode()).hexdigest(), n))
    return {name: pos % count for pos, name in enumerate(order)}


def library_version(root: Path) -> dict[str, str]:
    """What decides a grade besides the submission: the engine and the exercise library
    (public specs, hidden graders, reference solutions), as digests of their files. Merging
    refuses reports whose versions differ: their scores are not comparable."""
    engine = Path(proctor.__file__).resolve().parent
    return {"proctor": proctor.__version__,
            "engine_sha256": _tree_sha256([engine]),
            "library_sha256": _tree_sha256([root / d for d in ("exercises", "graders",
                                                                "reference_solutions")])}


def _tree_sha256(roots: list[Path]) -> str:
    h = hashlib.sha256()
    for root in roots:
        files = sorted(p for p in root.rglob("*")
                       if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
        for p in files:
            h.update(f"{root.name}/{p.relative_to(root).as_posix()}\0".encode())
            h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def grade_many(paths: list[Path], library: Library, out: Path, ids: list[str] | None,
               unsafe: bool, jobs: int = 1, shard: tuple[int, int] | None = None,
               plan: InterviewPlan | None = None) -> int:
    out.mkdir(parents=True, exist_ok=True)
    names = _names(paths)
    todo = list(zip(paths, names, strict=True))
    if shard is not None:
        index, count = shard
        where = shard_of(names, count)
        todo = [(p, n) for p, n in todo if where[n] == index]
        print(f"shard {index}/{count}: {len(todo)} of {len(paths)} submission(s)",
              file=sys.stderr)
    version = library_version(library.root)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        reports = list(pool.map(
            lambda pn: grade_one(pn[0], library, out, ids, unsafe, pn[1], version, plan),
            todo))
    graded = [(name, r) for (_, name), r in zip(todo, reports, strict=True)]
    for name, r in graded:
        weighted = (f" (plan {r.plan['name']}: {r.plan['score']:g} / {r.plan['max_score']:g})"
                    if r.plan is not None else "")
        print(f"{name}: {r.score:g} / {r.max_score:g}{weighted}  ->  {out / name / 'report.html'}")
    write_gradebook(graded, out, library)
    if shard is not None:
        # What the merge checks: every shard present once, all given the same inputs,
        # each shard's reports all there.
        (out / SHARD_FILE).write_text(json.dumps(
            {"schema": SHARD_SCHEMA, "shard": shard[0], "of": shard[1], "inputs": names,
             "graded": [n for n, _ in graded]}, indent=2) + "\n")
    print(f"gradebook: {out / 'index.html'}")
    return 1 if any(r.environment.get("harness_error") for r in reports) else 0
