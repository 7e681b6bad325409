"""Which interface functions are still the starter's stubs, and notes for the candidate.

A stub reads "not implemented yet" in ``check()``'s table instead of a traceback.
"""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
from typing import Any

from proctor.library.spec import ExerciseDir
from proctor.report.model import CheckResult

NOT_IMPLEMENTED = "not implemented yet"


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


