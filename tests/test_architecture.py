"""The engine's shape, pinned: no import cycles, small modules, each subpackage's public API.

The import graph is read from the source (module-level imports, not ``TYPE_CHECKING``
blocks nor imports inside functions, which run later): importing ``proctor.a.b`` also
runs ``proctor.a``'s ``__init__``, so that is an edge too.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "proctor"
MAX_LINES = 300

#: Each subpackage's public API (its ``__all__``); changing one is a decision, made here.
API = {
    "sandbox": {"Backend", "get_backend", "backend_for", "backend_names", "register",
                "Limits", "SandboxSpec", "SandboxUnavailable", "SandboxedProcess",
                "isolation", "spawn", "system_binds", "runtime_binds",
                "MAX_SLOTS", "STATE_DIR", "UID_BASE"},
    "worker": {"WorkerClient", "WorkerConfig", "WorkerError", "CandidateError", "CodecError",
               "Channel", "LocalClient", "config_for", "timing_cpu", "Proxy", "RemoteFunction",
               "RemoteObject"},
    "checks": {"check", "Outcome", "Context", "NoReference", "CandidateError", "CheckDef",
               "CheckLoadError", "load_checks", "run_check", "STATUSES", "Status"},
    "kinds": {"Kind", "NoReference", "register", "get_kind", "lookup", "kind_names",
              "budget_kind_names", "measured_labels"},
    "measure": {"latency_ratio", "memory_use", "Plan", "median_interval", "min_blocks_for"},
    "grading": {"grade_exercise", "grade_submission", "grade_many", "Source", "safe_source",
                "candidate_source", "runner_source", "reference_source", "collect_checks",
                "hidden_seed", "environment", "PUBLIC_SEED", "check_result"},
    "report": {"Report", "ExerciseResult", "CheckResult", "points_for", "SCHEMA", "SCORING",
               "render", "write_html", "write_gradebook"},
    "calibrate": {"calibrate", "decide_only", "discover", "judge", "Solution", "Verdict", "FAILING",
                  "build_artifact", "code_artifacts", "source_for"},
    "library": {"Library", "ExerciseDir", "Exercise", "Budget", "SpecError", "load_spec",
                "TRACKS"},
    "submission": {"open_submission", "Submission", "IntakeError", "cells_from_file",
                   "code_cells", "read_notebook", "NotebookError"},
    "candidate": {"check", "is_grading", "artifact_dir", "bundle_dir"},
    "review": {"analyse", "Item", "ExerciseItems", "MIN_SUBMISSIONS", "similar_pairs",
               "compare", "flagged", "segments", "Pair", "NOTE", "annotate",
               "candidate_code", "given_code"},
}

#: Old flat import paths that notebooks, exercises and graders use: kept as aliases.
ALIASES = {"datasets": "kit.datasets", "scenes": "kit.scenes", "baseline": "kit.baseline",
           "cocoeval": "kit.cocoeval", "trackmetrics": "kit.trackmetrics",
           "testing": "checks.asserts", "worker_client": "worker.client"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    pkg = _module_name(path) if path.name == "__init__.py" else _module_name(path).rsplit(".", 1)[0]
    body = list(tree.body)
    while body:
        node = body.pop(0)
        if isinstance(node, ast.If) and not _is_type_checking(node):
            body += node.body + node.orelse
        elif isinstance(node, ast.Try):
            body += node.body + node.orelse + node.finalbody
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("proctor")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                                + ([node.module] if node.module else []))
            if base.startswith("proctor"):
                found.add(base)
                found |= {f"{base}.{a.name}" for a in node.names}
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps = set()
        for imp in _imports(path):
            parts = imp.split(".")
            for i in range(2, len(parts) + 1):  # proctor.a, proctor.a.b: each __init__ runs
                target = ".".join(parts[:i])
                # a module's own packages are initialised before it: not an edge back
                if target in modules and target != name and not name.startswith(target + "."):
                    deps.add(target)
        graph[name] = deps
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    graph = _graph()
    # an alias module replaces itself with its target: it is not part of any cycle
    assert _cycles(graph) == []


def test_no_cycle_between_subpackages():
    graph = _graph()
    pkgs: dict[str, set[str]] = {}
    for mod, deps in graph.items():
        src = mod.split(".")[1] if mod.count(".") >= 1 else mod
        for d in deps:
            dst = d.split(".")[1]
            if dst != src:
                pkgs.setdefault(src, set()).add(dst)
    assert _cycles(pkgs) == []


def test_the_engine_does_not_import_the_kit():
    graph = _graph()
    users = sorted(m for m, deps in graph.items()
                   if not m.startswith("proctor.kit") and m.split(".")[-1] not in ALIASES
                   and any(d.startswith("proctor.kit") for d in deps))
    assert users == []


def test_modules_are_small():
    big = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py")
           if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert big == {}


@pytest.mark.parametrize("package", sorted(API))
def test_public_api_is_pinned(package):
    mod = importlib.import_module(f"proctor.{package}")
    assert set(mod.__all__) == API[package]
    for name in mod.__all__:
        assert hasattr(mod, name), f"proctor.{package}.{name} is listed but missing"
    init = SRC / package / "__init__.py"
    assert len(init.read_text().splitlines()) <= 60, "an API fits on one screen"


@pytest.mark.parametrize("old,new", sorted(ALIASES.items()))
def test_old_import_paths_alias_the_new_modules(old, new):
    assert importlib.import_module(f"proctor.{old}") is importlib.import_module(f"proctor.{new}")


@pytest.mark.parametrize("old,new", sorted(ALIASES.items()))
def test_an_old_path_module_object_forwards_to_the_new_module(old, new):
    """A thread importing an old path while another runs it gets the shim's own module
    object (grade --jobs 2: "cannot import name 'as_array' from 'proctor.testing'"): that
    object must answer like the new module."""
    import importlib.util
    import sys

    target = importlib.import_module(f"proctor.{new}")
    spec = importlib.util.spec_from_file_location(f"_shim_copy_{old}", SRC / f"{old}.py")
    shim = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(shim)
        public = [n for n in dir(target) if not n.startswith("_")]
        assert public and all(getattr(shim, n) is getattr(target, n) for n in public)
    finally:
        sys.modules.pop(f"_shim_copy_{old}", None)
