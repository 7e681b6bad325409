"""``check()`` inside the candidate's own kernel: public checks, no sandbox.

The candidate's namespace is served by the same Worker class the grader uses and
every call makes the same plain-data round trip, so what passes here behaves the
same way when graded (a torch tensor converts the same way, an object array fails
the same way).  Only public checks and public data are reachable from here: the
checks come from the bundle's ``exercises/<id>/checks.py`` and run on the public
seed; hidden checks, hidden seeds and reference solutions are not in the bundle.

The output is a compact table, never a traceback wall: a stub that still raises
``NotImplementedError`` reads "not implemented yet", a missing artifact reads
"not saved yet", and anything else is one line per check.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from proctor.candidate.stubs import friendly, notes_for, stubs_in_namespace
from proctor.candidate.table import format_table
from proctor.checks.context import Context
from proctor.checks.registry import load_checks, run_check
from proctor.grading.exercise import PUBLIC_SEED, check_result, runner_source
from proctor.library.spec import ExerciseDir, Library
from proctor.report.model import CheckResult
from proctor.verdicts import Outcome
from proctor.worker.local import LocalClient
from proctor.worker.proxy import Proxy

# -- running ---------------------------------------------------------------------------

@contextlib.contextmanager
def _bundle_env(root: Path, exercise_id: str) -> Iterator[None]:
    """Point ``proctor.candidate.artifact_dir`` at this bundle while checks run, and say
    which exercise is checked (``PROCTOR_EXERCISE``, as in the grader's worker, so that a
    runner shared by several artifact exercises knows whose file to serve)."""
    saved = {k: os.environ.get(k) for k in ("PROCTOR_BUNDLE", "PROCTOR_EXERCISE")}
    os.environ["PROCTOR_BUNDLE"] = str(root)
    os.environ["PROCTOR_EXERCISE"] = exercise_id
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _all(defs: list, status: str, message: str) -> list[CheckResult]:
    return [check_result(d, Outcome(status, message)) for d in defs]


def missing_artifacts(ex: ExerciseDir, artifact_dir: Path) -> list[str]:
    return [a for a in ex.spec.artifacts if not (artifact_dir / a).is_file()]


def run_public(exercise_id: str, namespace: dict[str, Any], root: Path) -> list[CheckResult]:
    """Run the public checks of ``exercise_id`` against ``namespace``; never raises
    for anything the candidate did (a missing artifact, a broken runner, a stub)."""
    root = Path(root).resolve()
    ex = Library.find(root).get(exercise_id)
    path = ex.public_dir / "checks.py"
    defs = load_checks(path, hidden=False) if path.is_file() else []
    art = root / "artifacts" / exercise_id
    with _bundle_env(root, exercise_id):
        if ex.spec.kind == "artifact":
            absent = missing_artifacts(ex, art)
            if absent:
                where = ", ".join(f"artifacts/{exercise_id}/{a}" for a in absent)
                return _all(defs, "fail", f"not saved yet: {where}")
            namespace = {"__name__": "__runner__"}
            try:
                exec(compile(runner_source(ex), ex.spec.runner or "runner", "exec"), namespace)
            except Exception as exc:
                first = (str(exc).splitlines() or [""])[0]
                return _all(defs, "error", f"loading your artifact failed: "
                                           f"{type(exc).__name__}: {first}")
        proxy = Proxy(LocalClient(namespace))
        results = []
        for d in defs:
            t0 = time.monotonic()
            ctx = Context(ex, proxy, None, d.id, PUBLIC_SEED, False, artifact_dir=art)
            results.append(check_result(d, run_check(d, ctx), time.monotonic() - t0))
    stubs = (stubs_in_namespace(namespace, list(ex.spec.interface), ex.starter)
             if ex.spec.kind == "code" else [])
    return friendly(results, stubs)


def check_namespace(exercise_id: str, namespace: dict[str, Any], root: Path) -> list[CheckResult]:
    """Run the public checks and print the table (what ``check()`` shows)."""
    results = run_public(exercise_id, namespace, root)
    notes = notes_for(Library.find(Path(root).resolve()).get(exercise_id), namespace)
    print(format_table(exercise_id, results, notes))
    return results
