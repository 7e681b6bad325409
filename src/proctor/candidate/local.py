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

import ast
import contextlib
import inspect
import io
import os
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from proctor.checks.context import Context
from proctor.checks.registry import load_checks, run_check
from proctor.grading.exercise import PUBLIC_SEED, runner_source
from proctor.library.spec import ExerciseDir, Library
from proctor.report.model import CheckResult, points_for
from proctor.worker import codec
from proctor.worker.client import CandidateError
from proctor.worker.proxy import Proxy
from proctor.worker.server import Worker, _describe

MESSAGE_WIDTH = 110
NOT_IMPLEMENTED = "not implemented yet"


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


# -- what is still a stub --------------------------------------------------------------

def _is_stub(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A body of (docstring), ``...``/``pass`` and ``raise NotImplementedError[(...)]``."""
    body = list(fn.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    raises = False
    for stmt in body:
        if isinstance(stmt, ast.Raise) and stmt.exc is not None:
            exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                raises = True
                continue
        if isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr)
                                          and isinstance(stmt.value, ast.Constant)):
            continue
        return False
    return raises


def stubs_in_source(sources: list[str], names: list[str]) -> list[str]:
    """Interface functions whose last definition in ``sources`` is still a stub."""
    last: dict[str, bool] = {}
    for src in sources:
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
                last[node.name] = _is_stub(node)
            elif isinstance(node, ast.ClassDef) and node.name in names:
                last[node.name] = any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                                      and _is_stub(n) for n in node.body)
    return [n for n in names if last.get(n)]


def _stub_methods(source: str) -> dict[str, set[str]]:
    """Per top-level name in ``source``: {""} for a stub function, the names of the stub
    methods for a class."""
    out: dict[str, set[str]] = {}
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return out
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _is_stub(node):
            out[node.name] = {""}
        elif isinstance(node, ast.ClassDef):
            out[node.name] = {n.name for n in node.body
                              if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                              and _is_stub(n)}
    return out


def _codes(obj: Any, members: set[str]) -> set[bytes]:
    if "" in members:
        code = getattr(obj, "__code__", None)
        return {code.co_code} if code is not None else set()
    found = set()
    for m in members:
        code = getattr(vars(obj).get(m) if isinstance(obj, type) else None, "__code__", None)
        if code is not None:
            found.add(code.co_code)
    return found


def stubs_in_namespace(namespace: dict[str, Any], names: list[str],
                       starter: str | None = None) -> list[str]:
    """Interface functions (or classes with a stub method) of a live namespace.

    Reads each object's source (IPython keeps cell sources, so this works in a
    notebook); where there is none, an object whose code is the starter stub's code
    is a stub too."""
    stubs: dict[str, set[bytes]] = {}
    members = _stub_methods(starter) if starter else {}
    if members:
        try:
            ns: dict[str, Any] = {"__name__": "__starter__"}
            exec(compile(starter, "<starter>", "exec"), ns)
            stubs = {n: _codes(ns.get(n), m) for n, m in members.items() if m and n in names}
        except Exception:
            stubs = {}
    out = []
    for name in names:
        obj = namespace.get(name)
        if obj is None:
            continue
        try:
            src = textwrap.dedent(inspect.getsource(obj))
        except (OSError, TypeError):
            if stubs.get(name) and _codes(obj, members[name]) & stubs[name]:
                out.append(name)
            continue
        if stubs_in_source([src], [name]):
            out.append(name)
    return out


def friendly(results: list[CheckResult], stubs: list[str]) -> list[CheckResult]:
    """Say "not implemented yet" wherever a check tripped over a stub."""
    for r in results:
        if r.status != "pass" and "NotImplementedError" in r.message:
            r.message = (f"{', '.join(stubs)}: {NOT_IMPLEMENTED}" if stubs
                         else f"{NOT_IMPLEMENTED} (NotImplementedError was raised)")
    return results


def notes_for(ex: ExerciseDir, namespace: dict[str, Any]) -> list[str]:
    """One-line hints above the table: stubs and names not defined yet."""
    if ex.spec.kind != "code":
        return []
    names = list(ex.spec.interface)
    notes = []
    undefined = [n for n in names if n not in namespace]
    if undefined:
        notes.append(f"not defined yet: {', '.join(undefined)} (run the cells above first)")
    used = sorted(n for n in ex.spec.forbidden_imports if n in sys.modules)
    if used:
        notes.append(f"not allowed in this exercise: {', '.join(used)} (imported in this "
                     "kernel; grading refuses the import)")
    stubs = stubs_in_namespace(namespace, names, ex.starter)
    if stubs:
        notes.append(f"{NOT_IMPLEMENTED}: {', '.join(stubs)} (replace the "
                     "`raise NotImplementedError` in the starter cell)")
    return notes


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
    return [CheckResult(d.id, d.kind, status, points_for(status, d.points), d.points, False,
                        message) for d in defs]


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
        proxy = Proxy(LocalClient(namespace))  # type: ignore[arg-type]
        results = []
        for d in defs:
            t0 = time.monotonic()
            ctx = Context(ex, proxy, None, d.id, PUBLIC_SEED, False, artifact_dir=art)
            o = run_check(d, ctx)
            results.append(CheckResult(d.id, d.kind, o.status, points_for(o.status, d.points),
                                       d.points, False, o.message, o.measured, o.budget,
                                       round(time.monotonic() - t0, 3)))
    stubs = (stubs_in_namespace(namespace, list(ex.spec.interface), ex.starter)
             if ex.spec.kind == "code" else [])
    return friendly(results, stubs)


# -- the table -------------------------------------------------------------------------

def _num(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, float) for x in v):
        return f"[{v[0]:.3g}, {v[1]:.3g}]"
    return str(v)


def measured_vs_budget(measured: dict, budget: dict) -> str:
    """``measured ratio=1.8 vs budget max 3 x reference`` (public checks only)."""
    if not measured and not budget:
        return ""
    m = ", ".join(f"{k}={_num(v)}" for k, v in measured.items())
    bound = ""
    if budget:
        op = "max" if "max" in budget else "min" if "min" in budget else ""
        bound = f"{op} {_num(budget.get(op, ''))} {budget.get('unit', '')}".strip()
    return f"measured {m or '?'} vs budget {bound or '?'}"


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(exercise_id: str, results: list[CheckResult], notes: list[str] = ()) -> str:
    rows = [("check", "status", "points", "message")]
    for r in results:
        first = (r.message.strip().splitlines() or [""])[0]
        extra = measured_vs_budget(r.measured, r.budget)
        msg = f"{first} [{extra}]" if first and extra else (first or extra)
        rows.append((r.id, r.status.upper(), f"{r.points:g}/{r.max_points:g}",
                     _clip(msg, MESSAGE_WIDTH)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"public checks for {exercise_id} (hidden checks run only when graded)"]
    lines += [f"  note: {n}" for n in notes]
    for row in rows:
        lines.append(("  ".join(c.ljust(w) for c, w in zip(row[:3], widths, strict=True)) + "  "
                      + row[3]).rstrip())
    passed = sum(r.status == "pass" for r in results)
    if not results:
        lines.append("(this exercise has no public checks)")
    else:
        lines.append(f"{passed}/{len(results)} public checks pass")
    return "\n".join(lines)


def check_namespace(exercise_id: str, namespace: dict[str, Any], root: Path) -> list[CheckResult]:
    """Run the public checks and print the table (what ``check()`` shows)."""
    results = run_public(exercise_id, namespace, root)
    notes = notes_for(Library.find(Path(root).resolve()).get(exercise_id), namespace)
    print(format_table(exercise_id, results, notes))
    return results
