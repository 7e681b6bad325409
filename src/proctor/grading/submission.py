"""Grade whole submissions: intake, one worker pair per exercise, one report each."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from proctor.grading.environment import environment
from proctor.grading.exercise import Source, grade_exercise, runner_source, safe_source
from proctor.grading.plan import annotate, ids_to_grade
from proctor.grading.startup import Workers, overlapping
from proctor.library import ranges
from proctor.library.plans import InterviewPlan
from proctor.library.spec import ExerciseDir, Library, SpecError
from proctor.report.model import ExerciseResult, Report
from proctor.submission.intake import IntakeError, open_submission
from proctor.submission.notebook import cells_from_file


def reference_source(ex: ExerciseDir) -> Source:
    """The accepted reference the budgets are measured against."""
    if ex.spec.kind == "artifact":
        if not ex.spec.reference_artifact:
            raise SpecError(f"{ex.public_dir / 'exercise.toml'}: field 'reference_artifact' "
                            "is required for latency/accuracy comparisons")
        return Source([runner_source(ex)], (ex.public_dir / ex.spec.reference_artifact).resolve())
    ref = ex.solutions_dir / "accepted" / "reference.py"
    if ref.is_file():
        return Source(cells_from_file(ref), None)
    ref_dir = ex.solutions_dir / "accepted" / "reference"
    if (ref_dir / "solution.py").is_file():
        # A reference with saved weights: solution.py plus artifacts/<id>/, laid out like
        # a submission, so that its worker finds them at artifact_dir("<id>").
        return Source(cells_from_file(ref_dir / "solution.py"),
                      solution_artifact_dir(ref_dir, ex.id))
    raise SpecError(f"{ref}: missing (every code exercise needs its reference: "
                    "accepted/reference.py, or accepted/reference/solution.py with "
                    f"artifacts/{ex.id}/)")


def solution_artifact_dir(solution_dir: Path, exercise_id: str) -> Path | None:
    """``<solution_dir>/artifacts/<id>/`` if present: a code solution's saved files."""
    path = solution_dir / "artifacts" / exercise_id
    return path.resolve() if path.is_dir() else None


def grade_submission(path: Path, library: Library, exercise_ids: list[str] | None,
                     unsafe: bool, hidden: bool = True, seed: int | None = None,
                     progress: Callable[[str], None] | None = None,
                     plan: InterviewPlan | None = None) -> Report:
    """Grade one submission (as ``plan``: its exercises and weights, when given); raises
    IntakeError only when nothing at all can be read."""
    ids = ids_to_grade(plan, exercise_ids, library)
    single = ids[0] if exercise_ids and len(ids) == 1 else None
    sub = open_submission(path, single)
    try:
        jobs = [_prepare(library, ex_id, sub, hidden) for ex_id in ids]
        results = _in_turn(jobs, unsafe, hidden, seed,
                           lambda ex_id: progress and progress(f"{sub.name}: {ex_id}"))
        report = Report({"name": sub.name, "sha256": sub.sha256}, results,
                        environment(unsafe), list(sub.problems))
        annotate(report, path, sub, library, plan)
        return report
    finally:
        sub.close()


@dataclass(frozen=True)
class _Job:
    """One exercise of the submission, ready to grade (its source may say 'missing: ...')."""

    ex: ExerciseDir
    source: Source | str
    reference: Source | None


def _prepare(library: Library, ex_id: str, sub, hidden: bool) -> _Job | ExerciseResult:
    """What grading ``ex_id`` needs, or the error result that replaces its grading."""
    try:
        ex = library.get(ex_id)
    except SpecError as exc:
        return ExerciseResult(ex_id, ex_id, "error", 0.0, 0.0, message=f"grader problem: {exc}")
    source = safe_source(ex, sub.notebook(ex_id), sub.artifact_dir(ex_id))
    try:
        reference = reference_source(ex) if hidden else None
    except (SpecError, OSError) as exc:
        return ExerciseResult(ex.id, ex.spec.title, "error", 0.0, float(ex.spec.points),
                              message=f"grader problem: {exc}")
    return _Job(ex, source, reference)


AHEAD_DEPTH = 2   # exercises whose workers start while one is graded
READY_WAIT_S = 3.0   # side by side, how long a slot waits for any exercise to be loaded
AT_ONCE_ENV = "PROCTOR_EXERCISES_AT_ONCE"   # exercises graded side by side (default 2)


def at_once() -> int:
    """How many exercises are graded side by side: ``AT_ONCE_ENV``, default 2; 1 where no
    core other than the timing core exists (or workers start one by one)."""
    try:
        n = max(1, int(os.environ.get(AT_ONCE_ENV, "2")))
    except ValueError:
        n = 2
    return n if Workers.can_start_ahead() else 1


def _paired_order(jobs: list[_Job | ExerciseResult]) -> list[int]:
    """The order exercises are graded in when side by side: alternately the one with the
    most latency budgets left and the one with the fewest (stable), so that an exercise
    measuring on the timing core mostly has one evaluating beside it on the other cores,
    rather than two waiting for the timing core, or two evaluating while it idles."""
    def latency_budgets(j: int) -> int:
        job = jobs[j]
        if not isinstance(job, _Job):
            return -1
        return sum(b.kind == "latency" for b in job.ex.spec.budgets.values())
    ranked = sorted(range(len(jobs)), key=lambda j: -latency_budgets(j))
    order: list[int] = []
    while ranked:
        order.append(ranked.pop(0))
        if ranked:
            order.append(ranked.pop())
    return order


def _in_turn(jobs: list[_Job | ExerciseResult], unsafe: bool, hidden: bool, seed: int | None,
             progress: Callable[[str], object]) -> list[ExerciseResult]:
    """Grade the exercises (in ``_paired_order`` when side by side); results in the
    library's order."""
    order = _paired_order(jobs) if at_once() > 1 else list(range(len(jobs)))
    done = _in_order([jobs[j] for j in order], unsafe, hidden, seed, progress)
    results: list[ExerciseResult | None] = [None] * len(jobs)
    for j, result in zip(order, done, strict=True):
        results[j] = result
    return [r for r in results if r is not None]


def _in_order(jobs: list[_Job | ExerciseResult], unsafe: bool, hidden: bool, seed: int | None,
              progress: Callable[[str], object]) -> list[ExerciseResult]:
    """Grade the exercises, ``at_once()`` side by side, results in order. Latency checks
    take the timing core one at a time (``core_lock``) and have it to themselves
    (``measure.placement``): other exercises' checks run on the other cores meanwhile.
    Once an exercise's workers are ready, the next ``AHEAD_DEPTH`` exercises' start
    (``startup``: ahead, off the timing core); the first ones' before any grading. Two,
    not one: a quick numpy exercise's checks (2-3 s) are shorter than an exercise's start
    with torch and onnxruntime (3-4 s), which then showed as waiting."""
    results: list[ExerciseResult | None] = [None] * len(jobs)
    ahead: dict[int, Workers] = {}
    handed: dict[int, Workers] = {}   # given to grade_exercise, which closes them
    taken: set[int] = set()
    lock = threading.Lock()
    side_by_side = Workers.can_start_ahead()
    slots = at_once()

    def gradeable(j: int) -> bool:
        job = jobs[j]
        return isinstance(job, _Job) and not isinstance(job.source, str)

    def start(j: int, early: bool) -> None:
        job = jobs[j]
        assert isinstance(job, _Job)
        ahead[j] = Workers(job.ex, job.source, job.reference, unsafe, ahead=early)

    def start_after(i: int, early: bool = True) -> None:
        with lock:
            upcoming = [j for j in range(i + 1, len(jobs)) if gradeable(j)]
            for j in upcoming[:AHEAD_DEPTH if early else 1]:
                if j not in ahead and j not in taken and (side_by_side or not early):
                    start(j, early)

    def ready_first(left: list[int], patient: bool) -> int | None:
        """Side by side, the first exercise in order with nothing to wait for (nothing to
        load, or its workers loaded ahead); None while some are still loading and the
        slot is ``patient``; else the first. Which exercise runs when changes no result:
        each has fresh workers of its own."""
        if slots == 1:
            return left[0]
        for j in left:
            if not gradeable(j) or (j in ahead and ahead[j].loaded()):
                return j
        return None if patient and any(j in ahead for j in left) else left[0]

    def take() -> tuple[int, Workers | None] | None:
        until = time.monotonic() + READY_WAIT_S
        while True:
            with lock:
                left = [j for j in range(len(jobs)) if j not in taken]
                if not left:
                    return None
                i = ready_first(left, time.monotonic() < until)
                if i is not None:
                    taken.add(i)
                    if gradeable(i) and i not in ahead and side_by_side:
                        start(i, True)   # its turn, but another exercise may be measuring
                    if i in ahead:
                        handed[i] = ahead.pop(i)
                    return i, handed.get(i)
            time.sleep(0.02)

    def grade_in_turn() -> None:
        try:
            while (turn := take()) is not None:
                i, workers = turn
                job = jobs[i]
                progress(job.ex.id if isinstance(job, _Job) else job.id)
                if isinstance(job, ExerciseResult):
                    results[i] = job
                    continue
                result = grade_exercise(job.ex, job.source, job.reference, hidden, unsafe,
                                        seed, workers=workers,
                                        on_ready=lambda i=i: start_after(i))
                with lock:
                    handed.pop(i, None)
                if hidden:
                    with_ranges(job.ex, result)
                results[i] = result
        except BaseException:
            with lock:   # the harness failed: the other slot takes nothing more
                taken.update(range(len(jobs)))
            raise

    try:
        if overlapping():
            start_after(-1, early=False)
            if slots > 1:   # the other slot's first exercises load meanwhile
                start_after(-1)
        with ThreadPoolExecutor(slots, thread_name_prefix="proctor-exercise") as pool:
            for done in [pool.submit(grade_in_turn) for _ in range(slots)]:
                done.result()
    finally:
        with lock:
            left = [*ahead.values(), *handed.values()]
            ahead.clear()
            taken.update(range(len(jobs)))
        for workers in left:   # started for an exercise never reached, or failed
            workers.close()
    return [r for r in results if r is not None]


def with_ranges(ex: ExerciseDir, result: ExerciseResult) -> None:
    """Each budget check's ranges from calibration, if any (hidden, read on the trusted
    side; a broken file costs the bars their ranges, never a grade: test_ranges.py)."""
    try:
        recorded = ranges.read(ex.solutions_dir)
    except SpecError:
        return
    for c in result.checks:
        if c.budget:
            c.calibration = ranges.for_check(recorded, c.id, c.kind, c.budget)


__all__ = ["grade_submission", "IntakeError", "reference_source", "solution_artifact_dir"]
