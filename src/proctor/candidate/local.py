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
import re
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
from proctor.paths import PACKAGE_DIR
from proctor.report.model import CheckResult
from proctor.verdicts import Outcome
from proctor.worker.client import CandidateError
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
        proxy = Proxy(_LocatingClient(namespace))
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
    ex = Library.find(Path(root).resolve()).get(exercise_id)
    print(format_table(exercise_id, results, notes_for(ex, namespace), kind=ex.spec.kind))
    return results


_FRAME = re.compile(r'^  File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<fn>.+)$')


def candidate_line(traceback_text: str) -> str:
    """Where in the candidate's own cells an exception came from: the innermost frame of
    their code (not numpy's, not proctor's), as "cell In[3], line 12 (in nms): <code>".
    IPython names a cell's file after its execution count; grading names it <cell N>."""
    found = ""
    lines = traceback_text.splitlines()
    for i, text in enumerate(lines):
        m = _FRAME.match(text)
        if not m or not _is_candidate_file(m["file"]):
            continue
        code = lines[i + 1].strip() if i + 1 < len(lines) and lines[i + 1].startswith(
            "    ") and not _FRAME.match(lines[i + 1]) else ""
        found = f"{_cell_name(m['file'])}, line {m['line']} (in {m['fn']})" + \
            (f": {code}" if code else "")
    return found


def _is_candidate_file(name: str) -> bool:
    if name.startswith("<cell") or name.startswith("<ipython-input"):
        return True
    if name.startswith("<") or "site-packages" in name or "/lib/python" in name:
        return False
    return "ipykernel_" in name or not str(Path(name).resolve()).startswith(str(PACKAGE_DIR))


def _cell_name(filename: str) -> str:
    try:  # the kernel knows which execution count a cell's file belongs to
        from IPython import get_ipython

        count = get_ipython().compile._filename_map.get(filename)  # type: ignore[union-attr]
        if isinstance(count, int):
            return f"cell In[{count}]"
    except Exception:
        pass
    if filename.startswith("<cell "):
        return f"code cell {filename[6:-1]}"
    return "your code" if "ipykernel_" in filename else filename


class _LocatingClient(LocalClient):
    """A LocalClient whose candidate exceptions say which line of which cell raised."""

    def request(self, msg: dict, timeout: float, where: str = "") -> Any:
        try:
            return super().request(msg, timeout, where)
        except CandidateError as exc:
            at = candidate_line(exc.traceback)
            if at:
                exc.text = f"{exc.text}\n  raised at {at}"
            raise
