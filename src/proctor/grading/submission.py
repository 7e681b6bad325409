"""Grade whole submissions: intake, one worker pair per exercise, one report each."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import proctor
from proctor import sandbox
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


# The vector features that decide which kernels numpy's BLAS and ONNX Runtime run (and so
# latency ratios and int8 behaviour): x86-64 /proc/cpuinfo "flags", aarch64 "Features".
VECTOR_FEATURES = (
    "sse4_2", "avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512dq", "avx512cd",
    "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile",
    "amx_int8", "amx_bf16", "asimd", "asimddp", "sve", "sve2", "i8mm", "bf16",
)


def cpu_info(cpuinfo: str | None = None) -> dict:
    """The CPU the grader runs on: model name and the vector features it has (of
    VECTOR_FEATURES), from /proc/cpuinfo; empty values where it cannot be read."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                cpuinfo = f.read(1 << 20)
        except OSError:
            cpuinfo = ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    have = set((fields.get("flags") or fields.get("Features") or "").split())
    model = fields.get("model name") or fields.get("Model") or fields.get("Hardware") \
        or platform.processor()
    return {"model": model, "vendor": fields.get("vendor_id", ""),
            "vector_features": [f for f in VECTOR_FEATURES if f in have]}


def environment(unsafe: bool) -> dict:
    iso = sandbox.isolation()
    env = {
        "proctor": proctor.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": len(os.sched_getaffinity(0)),
        "cpu": cpu_info(),
        "sandbox": iso,
        "unsafe_no_sandbox": unsafe,
    }
    if unsafe:
        env["warning"] = ("GRADED WITHOUT A SANDBOX: candidate code ran with the grader's "
                          "privileges; results may be forged and the machine may be affected")
    return env


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


def _in_turn(jobs: list[_Job | ExerciseResult], unsafe: bool, hidden: bool, seed: int | None,
             progress: Callable[[str], object]) -> list[ExerciseResult]:
    """Grade the exercises in order; once an exercise's workers are ready, the next
    ``AHEAD_DEPTH`` exercises' start (``startup``: ahead, off the timing core) while its
    checks run. The first exercise's start before its grading does (while its checks are
    loaded). Two, not one: a quick numpy exercise's checks (2-3 s) are shorter than an
    exercise's start with torch and onnxruntime (3-4 s), which then showed as waiting."""
    ahead: dict[int, Workers] = {}
    results: list[ExerciseResult] = []

    def start_after(i: int, early: bool = True) -> None:
        upcoming = [j for j in range(i + 1, len(jobs)) if isinstance(jobs[j], _Job)
                    and not isinstance(jobs[j].source, str)][:AHEAD_DEPTH if early else 1]
        for j in upcoming:
            if j not in ahead and (Workers.can_start_ahead() or not early):
                job = jobs[j]
                ahead[j] = Workers(job.ex, job.source, job.reference, unsafe, ahead=early)

    try:
        if overlapping():
            start_after(-1, early=False)
        for i, job in enumerate(jobs):
            progress(job.ex.id if isinstance(job, _Job) else job.id)
            if isinstance(job, ExerciseResult):
                results.append(job)
                continue
            result = grade_exercise(job.ex, job.source, job.reference, hidden, unsafe, seed,
                                    workers=ahead.get(i), on_ready=lambda i=i: start_after(i))
            if hidden:
                with_ranges(job.ex, result)
            results.append(result)
            ahead.pop(i, None)   # grade_exercise closed them
    finally:
        for workers in ahead.values():   # started for an exercise never reached (or failed)
            workers.close()
    return results


def with_ranges(ex: ExerciseDir, result: ExerciseResult) -> None:
    """Give each budget check the ranges calibration recorded for it, if any (hidden
    material, read on the trusted side; a broken file costs the bars their ranges, never
    a grade: ``tests/test_ranges.py`` keeps the committed ones readable)."""
    try:
        recorded = ranges.read(ex.solutions_dir)
    except SpecError:
        return
    for c in result.checks:
        if c.budget:
            c.calibration = ranges.for_check(recorded, c.id, c.kind, c.budget)


__all__ = ["grade_submission", "IntakeError", "reference_source", "solution_artifact_dir"]
