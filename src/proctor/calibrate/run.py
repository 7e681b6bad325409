"""Calibration: grade every reference solution and assert its expected verdicts.

``reference_solutions/<id>/accepted/`` must score full marks; each
``rejected/<reason>/`` declares in ``expect.toml`` the checks it must fail and must
fail exactly those.  Artifact exercises' solutions are ``build.py`` scripts (run
as trusted code) that write the artifact into a cache dir at calibration time.

A code exercise's solution may need saved files (weights) at grading time: it is
then a folder ``<solution>/solution.py`` + ``<solution>/artifacts/<id>/`` (laid out
like a submission), which becomes the worker's ``artifact_dir("<id>")``.  A rejected
solution can reuse another solution's files instead of committing a copy with
``weights_from = "accepted/reference"`` in its ``expect.toml``; and a ``build.py``
next to its ``solution.py`` writes (or adds to) its artifact dir at calibration time,
for files too big or too derived to commit (it starts from a copy of the
``weights_from`` files, if any). A rejected solution that is another one with a bug
may be declared as a mutant of it instead of a copy (``mutates`` + ``[[replace]]``,
see ``mutants``).
"""

from __future__ import annotations

import math
import time
import tomllib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from proctor.calibrate import mutants as _mutants
from proctor.calibrate.builds import STORE, build_artifact
from proctor.calibrate.solution import Solution, Verdict
from proctor.grading.exercise import Source, grade_exercise, runner_source
from proctor.grading.submission import reference_source, solution_artifact_dir
from proctor.library.spec import ExerciseDir, Library, SpecError
from proctor.measure.stats import Plan
from proctor.report.model import ExerciseResult
from proctor.submission.notebook import cells_from_file

FAILING = ("fail", "error", "timeout")


def discover(ex: ExerciseDir) -> list[Solution]:
    sols: list[Solution] = []
    acc = ex.solutions_dir / "accepted"
    for p in sorted(acc.glob("*")) if acc.is_dir() else []:
        if p.name.startswith((".", "_")):
            continue
        if p.suffix in (".py", ".ipynb") or p.is_dir():
            sols.append(Solution(f"accepted/{p.stem if p.is_file() else p.name}", p))
    rej = ex.solutions_dir / "rejected"
    for d in sorted(rej.iterdir()) if rej.is_dir() else []:
        if not d.is_dir() or d.name.startswith((".", "_")):
            continue
        expect = d / "expect.toml"
        try:
            meta = tomllib.loads(expect.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SpecError(f"{expect}: cannot read: {exc}") from None
        fail = meta.get("fail")
        if not (isinstance(fail, list) and fail and all(isinstance(f, str) for f in fail)):
            raise SpecError(f"{expect}: needs fail = [\"check_id\", ...] (non-empty)")
        unjudged = meta.get("unjudged", [])
        if not (isinstance(unjudged, list) and all(isinstance(u, str) for u in unjudged)) \
                or set(unjudged) & set(fail):
            raise SpecError(f"{expect}: unjudged = [\"check_id\", ...] must be a list of "
                            "check ids not also in fail")
        weights_from = meta.get("weights_from")
        if weights_from is not None and not _is_solution_ref(ex, weights_from):
            raise SpecError(f"{expect}: weights_from = {weights_from!r} must name a solution "
                            "folder of this exercise, e.g. \"accepted/reference\"")
        # a code mutant may bring a build.py for other saved files; an artifact exercise's
        # mutant *is* a mutated build script
        artifact = ex.spec.kind == "artifact"
        has_build = (d / "build.py").is_file()
        mutation = _mutants.parse(expect, meta, unchanged_ok=has_build and not artifact)
        own = ("solution.py", "solution.ipynb") + (("build.py",) if artifact else ())
        if mutation is not None and any((d / f).exists() for f in own):
            raise SpecError(f"{expect}: a mutant (mutates = ...) has no {' or '.join(own)} of "
                            f"its own; remove it from {d} or drop the mutation")
        sols.append(Solution(f"rejected/{d.name}", d, frozenset(fail), str(meta.get("why", "")),
                             weights_from, frozenset(unjudged), mutation))
    if not any(s.name.startswith("accepted/") for s in sols):
        raise SpecError(f"{acc}: no accepted solution")
    return sols


def _is_solution_ref(ex: ExerciseDir, rel: object) -> bool:
    if not isinstance(rel, str) or not rel or rel.startswith("/") or ".." in rel.split("/"):
        return False
    return rel.split("/")[0] in ("accepted", "rejected") and (ex.solutions_dir / rel).is_dir()


def _entry(path: Path, *names: str) -> Path:
    if path.is_file():
        return path
    for n in names:
        if (path / n).is_file():
            return path / n
    raise SpecError(f"{path}: no {' or '.join(names)}")


def code_artifacts(ex: ExerciseDir, sol: Solution, cache: Path) -> Path | None:
    """The artifact dir a code solution's worker sees (None: it has no saved files)."""
    if not sol.path.is_dir():
        return None
    own = solution_artifact_dir(sol.path, ex.id)
    base = own
    if sol.weights_from is not None:
        if own is not None:
            raise SpecError(f"{sol.path}: has artifacts/{ex.id}/ and weights_from; use one")
        base = solution_artifact_dir(ex.solutions_dir / sol.weights_from, ex.id)
        if base is None:
            raise SpecError(f"{sol.path / 'expect.toml'}: weights_from = {sol.weights_from!r} "
                            f"has no artifacts/{ex.id}/ folder")
    if (sol.path / "build.py").is_file():
        return build_artifact(ex, sol, cache, start_from=base)
    return base


def source_for(ex: ExerciseDir, sol: Solution, cache: Path) -> Source:
    if ex.spec.kind == "artifact":
        return Source([runner_source(ex)], build_artifact(ex, sol, cache))
    if sol.mutation is not None:
        return Source([_mutants.apply(sol.mutation, ex.solutions_dir)],
                      code_artifacts(ex, sol, cache))
    return Source(cells_from_file(_entry(sol.path, "solution.py", "solution.ipynb")),
                  code_artifacts(ex, sol, cache))


def judge(sol: Solution, result: ExerciseResult) -> list[str]:
    problems = []
    if result.status != "graded":
        return [f"exercise status {result.status}: {result.message}"]
    ids = {c.id for c in result.checks}
    for unknown in sorted((sol.must_fail | sol.unjudged) - ids):
        problems.append(f"expect.toml names unknown check {unknown!r}")
    for c in result.checks:
        if c.id in sol.unjudged:
            continue
        want_fail = c.id in sol.must_fail
        ok = c.status in FAILING if want_fail else c.status == "pass"
        if not ok:
            want = "fail" if want_fail else "pass"
            problems.append(f"{c.id}: expected {want}, got {c.status} ({c.message[:200]})")
    return problems


def _build_of(ex: ExerciseDir, src: Source, cache: Path) -> tuple[str, Path] | None:
    d = src.artifact_dir
    if d is not None and d.parent in (cache / ex.id, ex.solutions_dir / STORE):
        return d.name, d
    return None


def calibrate(library: Library, ids: list[str], unsafe: bool, repeat: int = 1,
              cache: Path | None = None, log=print,
              on_exercise: Callable[[ExerciseDir, float, dict[str, Path]], None] | None = None,
              jobs: int = 1, plan: Plan | None = None) -> list[Verdict]:
    """Grade every solution of ``ids`` (``jobs`` at a time: latency measurements still take
    turns on the timing core); ``on_exercise(ex, seconds, builds)`` is told, at the end, what
    each exercise cost (its builds plus its gradings, summed) and which built artifact dirs
    its solutions used.  Verdicts come in discovery order whatever ``jobs`` is.  ``plan``:
    the latency measurements' knobs (``decide_only()`` for the quick verdicts of CI)."""
    cache = cache or library.root / ".cache" / "calibrate"
    slots: list[Verdict | None] = []
    tasks: list[tuple[int, ExerciseDir, Solution, Source, Source, str]] = []
    cost: dict[str, float] = {}
    built: dict[str, dict[str, Path]] = {}
    for ex_id in ids:
        ex = library.get(ex_id)
        start = time.monotonic()
        built[ex.id] = {}
        reference = reference_source(ex)
        for sol in discover(ex):
            try:
                src = source_for(ex, sol, cache)
            except SpecError as exc:  # e.g. a stale mutant: this solution's mismatch only
                failed = ExerciseResult(ex.id, ex.spec.title, "error", 0.0,
                                        float(ex.spec.points), message=str(exc))
                slots.append(Verdict(sol, failed, judge(sol, failed)))
                continue
            if (b := _build_of(ex, src, cache)) is not None:
                built[ex.id][b[0]] = b[1]
            for r in range(repeat):
                note = f" (repeat {r + 1}/{repeat})" if repeat > 1 else ""
                tasks.append((len(slots), ex, sol, src, reference, note))
                slots.append(None)
        cost[ex.id] = time.monotonic() - start

    def grade(task: tuple[int, ExerciseDir, Solution, Source, Source, str]) -> float:
        i, ex, sol, src, reference, note = task
        log(f"  {ex.id} {sol.name}{note}")
        start = time.monotonic()
        result = grade_exercise(ex, src, reference, hidden=True, unsafe=unsafe, plan=plan)
        slots[i] = Verdict(sol, result, judge(sol, result))
        return time.monotonic() - start

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for task, seconds in zip(tasks, pool.map(grade, tasks), strict=True):
            cost[task[1].id] += seconds
    if on_exercise is not None:
        for ex_id in ids:
            on_exercise(library.get(ex_id), cost[ex_id], built[ex_id])
    return [v for v in slots if v is not None]


def decide_only() -> Plan:
    """Latency knobs that stop each measurement at the look that decides its verdict.

    The verdict is the same as grading's: the first look that decides gives it, and a
    "far" shortcut still waits for its confirming blocks; what is skipped is measuring on
    to narrow the reported ratio (``Plan.precision``): conv2d's two latency checks ran 41
    blocks each where about 10 decide.  Ratios and margins are then from fewer blocks."""
    return Plan(precision=math.inf)
