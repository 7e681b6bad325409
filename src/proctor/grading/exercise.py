"""Grade one exercise of one submission: run its code in a worker, then its checks.

Data flows one way: submission files -> cells (plain source) -> candidate worker;
checks (trusted) -> proxy calls -> plain results -> Outcome -> ExerciseResult.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from proctor.checks.context import Context
from proctor.checks.registry import CheckDef, CheckLoadError, load_checks, run_check
from proctor.grading.startup import Session, Workers
from proctor.library.spec import ExerciseDir, SpecError
from proctor.measure.stats import Plan
from proctor.report.model import CheckResult, ExerciseResult, points_for
from proctor.submission.notebook import NotebookError, cells_from_file
from proctor.verdicts import STATUSES, Outcome
from proctor.worker.client import WorkerError

HIDDEN_SEED_FILE = "seed.txt"
PUBLIC_SEED = 20240


@dataclass(frozen=True)
class Source:
    """What to run in a worker: cells of code, and the artifact dir it may read."""

    cells: list[str]
    artifact_dir: Path | None


def collect_checks(ex: ExerciseDir, hidden: bool) -> list[CheckDef]:
    """Public checks, plus hidden ones when grading; validated against the spec."""
    defs: list[CheckDef] = []
    public = ex.public_dir / "checks.py"
    if public.is_file():
        defs += load_checks(public, hidden=False)
    if hidden:
        secret = ex.grader_dir / "checks.py"
        if not secret.is_file():
            raise SpecError(f"{secret}: missing (hidden checks of {ex.id})")
        defs += load_checks(secret, hidden=True)
    ids = [d.id for d in defs]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise SpecError(f"{ex.id}: check ids defined twice: {sorted(dupes)}")
    for d in defs:
        if d.budget is not None and d.budget not in ex.spec.budgets:
            raise SpecError(f"{d.source}: check {d.id} names unknown budget {d.budget!r}")
    if hidden:
        total = sum(d.points for d in defs)
        if abs(total - ex.spec.points) > 1e-9:
            raise SpecError(f"{ex.public_dir / 'exercise.toml'}: field 'points' is "
                            f"{ex.spec.points:g} but the checks sum to {total:g}")
    return defs


def hidden_seed(ex: ExerciseDir) -> int:
    path = ex.grader_dir / HIDDEN_SEED_FILE
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        raise SpecError(f"{path}: missing or not an integer (the hidden seed)") from None


def runner_source(ex: ExerciseDir) -> str:
    assert ex.spec.runner is not None
    return (ex.public_dir / ex.spec.runner).read_text()


def candidate_source(ex: ExerciseDir, notebook: Path | None,
                     artifact_dir: Path | None) -> Source | str:
    """The candidate's cells, or a string saying why there are none ('missing: ...')."""
    if ex.spec.kind == "artifact":
        if artifact_dir is None:
            return f"missing: no artifacts/{ex.id}/ folder"
        absent = [a for a in ex.spec.artifacts
                  if not (artifact_dir / a).is_file() or (artifact_dir / a).is_symlink()]
        if absent:
            return f"missing: artifacts/{ex.id}/ lacks {', '.join(absent)}"
        return Source([runner_source(ex)], artifact_dir)
    if notebook is None:
        return f"missing: no notebooks/{ex.id}.ipynb"
    return Source(cells_from_file(notebook), artifact_dir)


def grade_exercise(ex: ExerciseDir, source: Source | str, reference: Source | None,
                   hidden: bool, unsafe: bool, seed: int | None = None, *,
                   workers: Workers | None = None,
                   on_ready: Callable[[], None] | None = None,
                   plan: Plan | None = None) -> ExerciseResult:
    """Grade one exercise; every failure becomes a status, never an exception.

    ``workers``: this exercise's workers, started ahead (``startup``); closed here, used or
    not. ``on_ready`` is called once they are loaded, before the first check. ``plan``: the
    latency measurement's knobs (calibration's ``--decide-only``), default ``Plan()``."""
    started = time.monotonic()
    result = ExerciseResult(ex.id, ex.spec.title, "graded", 0.0, float(ex.spec.points))
    try:
        try:
            defs = collect_checks(ex, hidden)
            seed = seed if seed is not None else (hidden_seed(ex) if hidden else PUBLIC_SEED)
        except (SpecError, CheckLoadError) as exc:
            result.status, result.message = "error", f"grader problem: {exc}"
            return result
        if not hidden:
            result.max_score = sum(d.points for d in defs)
        if isinstance(source, str):
            status, _, why = source.partition(": ")
            result.status, result.message = ("error" if status == "error" else "missing"), why
            return result
        workers = workers or Workers(ex, source, reference, unsafe)
        workers.wait()
        if on_ready is not None:
            on_ready()
        cand, ref = workers.candidate, workers.reference
        for d in defs:
            result.checks.append(_run_one(d, ex, cand, ref, seed, hidden, plan or Plan()))
        result.cell_errors = cand.cell_errors
        if cand.load_failure is not None:
            result.message = f"notebook did not finish: {cand.load_failure.reason}"
        elif ref is not None and ref.load_failure is not None:
            result.message = f"reference failed to load: {ref.load_failure.reason}"
    finally:
        if workers is not None:
            workers.close()
            result.output = workers.candidate.output()[-8000:]
    result.score = round(sum(c.points for c in result.checks), 4)
    result.seconds = round(time.monotonic() - started, 2)
    return result


def _run_one(d: CheckDef, ex: ExerciseDir, cand: Session, ref: Session | None,
             seed: int, hidden: bool, plan: Plan) -> CheckResult:
    t0 = time.monotonic()
    try:
        cand_proxy = cand.proxy()
        ref_proxy = ref.proxy() if ref is not None else None
    except WorkerError as exc:
        outcome = Outcome(exc.status, exc.reason)
    else:
        ctx = Context(ex, cand_proxy, ref_proxy, d.id, seed, hidden,
                      artifact_dir=cand.source.artifact_dir, plan=plan,
                      code=tuple(cand.source.cells))
        outcome = run_check(d, ctx)
    return check_result(d, outcome, time.monotonic() - t0)


def check_result(d: CheckDef, outcome: Outcome, seconds: float = 0.0) -> CheckResult:
    """The report's line for one check: its outcome scored by the documented rule."""
    if outcome.status not in STATUSES:
        outcome = Outcome("error", f"check returned unknown status {outcome.status!r}")
    return CheckResult(
        id=d.id, kind=d.kind, status=outcome.status,
        points=points_for(outcome.status, d.points), max_points=d.points, hidden=d.hidden,
        message=outcome.message, measured=outcome.measured, budget=outcome.budget,
        seconds=round(seconds, 3),
    )


def safe_source(ex: ExerciseDir, notebook: Path | None, artifact_dir: Path | None) -> Source | str:
    """candidate_source, with unreadable notebooks turned into an 'error:' string."""
    try:
        return candidate_source(ex, notebook, artifact_dir)
    except NotebookError as exc:
        return f"error: {exc}"
    except (OSError, UnicodeDecodeError) as exc:
        return f"error: {type(exc).__name__}: {exc}"
