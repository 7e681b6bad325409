"""``check()`` inside the candidate's own kernel: public checks, no sandbox.

The candidate's namespace is served by the same Worker class the grader uses and
every call makes the same plain-data round trip, so what passes here behaves the
same way when graded (a torch tensor converts the same way, an object array fails
the same way).  Only public checks and public data are reachable from here.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

from proctor import codec
from proctor._worker import Worker, _describe
from proctor.checks import load_checks, run_check
from proctor.context import Context
from proctor.grading import PUBLIC_SEED, runner_source
from proctor.proxy import Proxy
from proctor.report import CheckResult, points_for
from proctor.spec import Library
from proctor.worker_client import CandidateError


class LocalClient:
    """A stand-in for WorkerClient that calls into an in-process namespace."""

    dead_reason = None

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.worker = Worker()
        self.worker.ns = namespace

    def request(self, msg: dict, timeout: float, where: str = "") -> Any:
        msg = codec.loads(codec.dumps(msg))
        out = io.BytesIO()
        try:
            self.worker.handle(msg, out)
        except Exception as exc:
            raise CandidateError(_describe(exc), where) from None
        out.seek(0)
        reply = codec.read_frame(out)
        if "raised" in reply:
            raise CandidateError(reply["raised"], where)
        return reply["ok"]


def run_public(exercise_id: str, namespace: dict[str, Any], root: Path) -> list[CheckResult]:
    ex = Library.find(root).get(exercise_id)
    if ex.spec.kind == "artifact":
        namespace = {"__name__": "__runner__"}
        exec(compile(runner_source(ex), ex.spec.runner or "runner", "exec"), namespace)
    proxy = Proxy(LocalClient(namespace))  # type: ignore[arg-type]
    path = ex.public_dir / "checks.py"
    defs = load_checks(path, hidden=False) if path.is_file() else []
    results = []
    for d in defs:
        t0 = time.monotonic()
        ctx = Context(ex, proxy, None, d.id, PUBLIC_SEED, False,
                      artifact_dir=root / "artifacts" / exercise_id)
        o = run_check(d, ctx)
        results.append(CheckResult(d.id, d.kind, o.status, points_for(o.status, d.points),
                                   d.points, False, o.message, o.measured, o.budget,
                                   round(time.monotonic() - t0, 3)))
    return results


def format_table(exercise_id: str, results: list[CheckResult]) -> str:
    rows = [("check", "status", "points", "message")]
    for r in results:
        msg = r.message.splitlines()[0] if r.message else ""
        if r.measured and r.budget:
            msg = f"{msg} [measured {r.measured} vs budget {r.budget}]"
        rows.append((r.id, r.status.upper(), f"{r.points:g}/{r.max_points:g}",
                     msg[:100] + ("…" if len(msg) > 100 else "")))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"public checks for {exercise_id} (hidden checks run only when graded)"]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row[:3], widths)) + "  " + row[3])
    passed = sum(r.status == "pass" for r in results)
    lines.append(f"{passed}/{len(results)} public checks pass")
    return "\n".join(lines)


def check_namespace(exercise_id: str, namespace: dict[str, Any], root: Path) -> list[CheckResult]:
    results = run_public(exercise_id, namespace, root)
    print(format_table(exercise_id, results))
    return results
