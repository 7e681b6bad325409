"""Shared fixtures: a tiny exercise library built in tmp_path, notebook writers, workers
and a report.json validator.

The tiny library ("adder" and "scale") has no latency budgets, so grading it takes a
fraction of a second per exercise; only tests whose subject is the real exercise
library (test_cli.py, test_nbgen.py) touch exercises/ at the repo root.  Workers run
with ``unsafe=True`` (no bubblewrap): the sandbox has its own tests; the one e2e test
that grades inside the real sandbox is in test_cli.py.
"""

from __future__ import annotations

import ast
import hashlib
import os
import subprocess
import sys
import textwrap
import tomllib
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from proctor.calibrate import mutants as _mutants
from proctor.library.spec import Library
from proctor.worker.client import WorkerClient, WorkerConfig

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "reference_solutions"

# ---------------------------------------------------------------------------- tiny library

ADDER_TOML = """\
id = "adder"
title = "Add two things"
track = "algorithms"
kind = "code"
points = 4
suggested_minutes = 5

[interface]
add = "add(a, b) -> a + b"

[limits]
time_limit_s = 20
call_timeout_s = 10
memory_mb = 1024
"""

ADDER_PUBLIC_CHECKS = '''\
"""Public checks for adder."""

from proctor.checks import check


@check(points=1)
def add_basic(ctx):
    """2 + 3."""
    assert ctx.candidate.add(2, 3) == 5
'''

ADDER_HIDDEN_CHECKS = '''\
"""Hidden checks for adder."""

import numpy as np

from proctor.checks import check
from proctor.checks.asserts import assert_equal


@check(points=2)
def add_arrays(ctx):
    """Random non-negative integer arrays, against the reference."""
    rng = ctx.rng()
    a, b = rng.integers(0, 100, 10), rng.integers(0, 100, 10)
    assert_equal(ctx.candidate.add(a, b), ctx.reference.add(a, b), "add(a, b)")


@check(points=1)
def add_negative(ctx):
    """Negative numbers."""
    assert ctx.candidate.add(-2, -3) == -5
'''

ADDER_REFERENCE = "def add(a, b):\n    return a + b\n"

SCALE_TOML = """\
id = "scale"
title = "Scale an array"
track = "ml"
kind = "code"
points = 2
suggested_minutes = 5

[limits]
time_limit_s = 20
call_timeout_s = 10
"""

SCALE_PUBLIC_CHECKS = '''\
import numpy as np

from proctor.checks import check
from proctor.checks.asserts import assert_close


@check(points=1)
def scale_basic(ctx):
    assert_close(ctx.candidate.scale(np.array([1.0, 2.0]), 3.0), np.array([3.0, 6.0]), "scale")
'''

SCALE_HIDDEN_CHECKS = '''\
import numpy as np

from proctor.checks import check
from proctor.checks.asserts import assert_close


@check(points=1)
def scale_random(ctx):
    x = ctx.rng().normal(size=(4, 5))
    assert_close(ctx.candidate.scale(x, -2.0), ctx.reference.scale(x, -2.0), "scale")
'''

SCALE_REFERENCE = "def scale(x, k):\n    return x * k\n"

# Rejected adder solutions and the checks each must fail.
ADDER_REJECTED = {
    "abs_values": ("def add(a, b):\n    return abs(a) + abs(b)\n", ["add_negative"]),
    "off_by_one": ("def add(a, b):\n    return a + b + 1\n",
                   ["add_basic", "add_arrays", "add_negative"]),
}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def expect_toml(fail: list[str], why: str = "test") -> str:
    return f"fail = {fail!r}\nwhy = {why!r}\n".replace("'", '"')


def build_library(root: Path) -> Library:
    """Write the tiny two-exercise library under ``root`` and return it."""
    for ex_id, toml, public, hidden, ref in (
        ("adder", ADDER_TOML, ADDER_PUBLIC_CHECKS, ADDER_HIDDEN_CHECKS, ADDER_REFERENCE),
        ("scale", SCALE_TOML, SCALE_PUBLIC_CHECKS, SCALE_HIDDEN_CHECKS, SCALE_REFERENCE),
    ):
        ex = root / "exercises" / ex_id
        write(ex / "exercise.toml", toml)
        write(ex / "prompt.md", f"# {ex_id}\n\nImplement it.\n")
        starter = ref.split("\n")[0] + "\n    raise NotImplementedError\n"
        write(ex / "starter.py", starter)
        write(ex / "checks.py", public)
        write(root / "graders" / ex_id / "checks.py", hidden)
        write(root / "graders" / ex_id / "seed.txt", "1234\n")
        write(root / "reference_solutions" / ex_id / "accepted" / "reference.py", ref)
    for name, (code, fail) in ADDER_REJECTED.items():
        d = root / "reference_solutions" / "adder" / "rejected" / name
        write(d / "solution.py", code)
        write(d / "expect.toml", expect_toml(fail))
    write(root / "reference_solutions" / "adder" / "contract.toml", ADDER_LEDGER)
    return Library(root)


# The adder's contract ledger (calibrate --strict needs one): each clause, its check and the
# rejected solution that breaks it.
ADDER_LEDGER = """\
[[clause]]
id = "sum"
text = "add(a, b) returns a + b"
check = "add_basic"
rejected = ["off_by_one"]

[[clause]]
id = "negative"
text = "negative numbers are added as they are"
check = "add_negative"
rejected = ["abs_values"]
"""


@pytest.fixture
def tiny_lib(tmp_path: Path) -> Library:
    return build_library(tmp_path / "lib")


# ---------------------------------------------------------------------------- notebooks


def notebook_json(cells: list[str], markdown: str | None = "# solution") -> str:
    nb_cells = [new_markdown_cell(markdown)] if markdown else []
    nb_cells += [new_code_cell(c) for c in cells]
    return nbformat.writes(new_notebook(cells=nb_cells))


def write_notebook(path: Path, cells: list[str]) -> Path:
    return write(path, notebook_json(cells))


def submission_dir(root: Path, notebooks: dict[str, list[str] | str]) -> Path:
    """A submission folder: ``notebooks/<id>.ipynb`` from cells (or raw text)."""
    for ex_id, cells in notebooks.items():
        path = root / "notebooks" / f"{ex_id}.ipynb"
        write(path, cells if isinstance(cells, str) else notebook_json(cells))
    return root


def tree_digest(root: Path) -> dict[str, tuple[str, int]]:
    """Every entry under root (not following symlinks): kind/hash and mode."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            if p.is_symlink():
                what = "link:" + os.readlink(p)
            elif p.is_file():
                what = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                what = "dir" if p.is_dir() else "other"
            out[str(p.relative_to(root))] = (what, st.st_mode, st.st_mtime_ns)
    return out


# ---------------------------------------------------------------------- reference solutions


def _solution_place(exercise: str, name: str) -> tuple[Path, _mutants.Mutation | None]:
    """``name``: a rejected reason (``"tie_order"``) or a path under the exercise's
    solutions (``"accepted/reference.py"``, ``"rejected/tie_order"``). Returns the
    solution file, or for a mutant its would-be solution.py and the mutation."""
    base = SOLUTIONS / exercise / (name if "/" in name else f"rejected/{name}")
    if base.is_file():
        return base, None
    if (base / "solution.py").is_file():
        return base / "solution.py", None
    expect = base / "expect.toml"
    mutation = _mutants.parse(expect, tomllib.loads(expect.read_text()),
                              unchanged_ok=(base / "build.py").is_file())
    if mutation is None:
        raise FileNotFoundError(f"{base}: no solution.py and no mutation in expect.toml")
    return base / "solution.py", mutation


def solution_source(exercise: str, name: str) -> str:
    """A reference solution's code: its solution.py, or a mutant's source built from its
    ``expect.toml`` (as ``proctor calibrate`` builds it)."""
    path, mutation = _solution_place(exercise, name)
    if mutation is None:
        return path.read_text()
    return _mutants.apply(mutation, SOLUTIONS / exercise)


def load_solution(exercise: str, name: str) -> types.ModuleType:
    """A reference solution's code (see :func:`solution_source`) run in a fresh module,
    without writing bytecode next to it."""
    path, mutation = _solution_place(exercise, name)
    parts = path.relative_to(SOLUTIONS).with_suffix("").parts
    module = types.ModuleType("_solution_" + "_".join(parts))
    module.__file__ = str(path)
    filename = str(path) if mutation is None else f"{path.parent / 'expect.toml'} (mutant)"
    exec(compile(solution_source(exercise, name), filename, "exec"), module.__dict__)
    return module


def namespace_of(source: str) -> dict:
    """A solution's source run as a notebook cell would run it: its global names."""
    ns: dict = {"__name__": "__main__"}
    exec(compile(source, "<cell>", "exec"), ns)
    return ns


def imports_of(source: str) -> set[str]:
    """Top-level package names a solution imports."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add((node.module or "").split(".")[0])
    return names


def check_defs(ex) -> list:
    """An exercise's public and hidden checks, in grading order."""
    from proctor.checks import load_checks

    return (load_checks(ex.public_dir / "checks.py", hidden=False)
            + load_checks(ex.grader_dir / "checks.py", hidden=True))


def correctness_failures(ex, source: str, reference_source: str) -> set[str]:
    """The correctness checks (public and hidden; no latency) that ``source`` fails, run
    in-process without the sandbox: the fast twin of calibration for one solution."""
    import numpy as np

    from proctor.checks import run_check
    from proctor.checks.context import Context
    from proctor.grading import PUBLIC_SEED, hidden_seed
    from proctor.worker.local import LocalClient
    from proctor.worker.proxy import Proxy

    candidate = Proxy(LocalClient(namespace_of(source)))
    reference = Proxy(LocalClient(namespace_of(reference_source)))
    seed = hidden_seed(ex)
    failed = set()
    for d in check_defs(ex):
        if d.kind == "latency":
            continue
        ctx = Context(ex, candidate, reference if d.hidden else None, d.id,
                      seed if d.hidden else PUBLIC_SEED, d.hidden)
        with np.errstate(all="ignore"):
            outcome = run_check(d, ctx)
        assert outcome.status in ("pass", "fail"), (d.id, outcome.message)
        if outcome.status == "fail":
            failed.add(d.id)
    return failed


def declared_failures(ex, solution: str) -> set[str]:
    """What ``solution`` ("accepted/..." or "rejected/<reason>") declares it fails."""
    if solution.startswith("accepted"):
        return set()
    expect = SOLUTIONS / ex.id / solution / "expect.toml"
    return set(tomllib.loads(expect.read_text())["fail"])


def assert_rejects_name_real_checks(ex, required: set[str]) -> None:
    """The named rejected solutions exist, and each declares failures of checks that exist
    (that every check is failed by one is ``proctor calibrate --strict``'s to assert)."""
    reasons = {p.parent.name for p in (SOLUTIONS / ex.id / "rejected").glob("*/expect.toml")}
    assert required <= reasons, required - reasons
    every = {d.id for d in check_defs(ex)}
    for reason in sorted(reasons):
        fail = declared_failures(ex, f"rejected/{reason}")
        assert fail and fail <= every, (reason, fail - every)


def assert_correctness_as_declared(ex, solution: str) -> None:
    """In-process (no sandbox, no latency checks): ``solution`` fails exactly the
    correctness checks its expect.toml declares; the accepted reference fails none."""
    name = f"{solution}.py" if solution.startswith("accepted") else solution
    failed = correctness_failures(ex, solution_source(ex.id, name),
                                  solution_source(ex.id, "accepted/reference.py"))
    latency = {d.id for d in check_defs(ex) if d.kind == "latency"}
    assert failed == declared_failures(ex, solution) - latency


# ---------------------------------------------------------------------------- workers


@pytest.fixture
def worker() -> Iterator[Callable[..., WorkerClient]]:
    """Factory: start an unsandboxed worker, load ``cells``, return the client."""
    started: list[WorkerClient] = []

    def start(cells: list[str] | str, timeout: float = 20.0) -> WorkerClient:
        if isinstance(cells, str):
            cells = [cells]
        client = WorkerClient(WorkerConfig(backend="none"), "test")
        started.append(client)
        client.start()
        client.send({"op": "load", "cells": [textwrap.dedent(c) for c in cells]})
        client.load_replies = []
        while True:
            reply = client.receive(timeout)
            if reply.get("done"):
                break
            client.load_replies.append(reply)
        return client

    yield start
    for c in started:
        c.close()


# ---------------------------------------------------------------------------- CLI


def run_cli(*args: str, cwd: Path = ROOT, timeout: float = 600,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("PROCTOR_ROOT", None)
    return subprocess.run([sys.executable, "-m", "proctor", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


# ---------------------------------------------------------------------------- report.json

EXERCISE_STATUSES = {"graded", "missing", "error"}
CHECK_STATUSES = {"pass", "fail", "error", "timeout", "inconclusive"}
CHECK_KINDS = {"correctness", "latency", "memory", "size", "accuracy"}
NUMBER = (int, float)


def validate_report(d: dict) -> None:
    """Assert that ``d`` follows the report.json contract of DESIGN.md."""
    assert d["schema"] == "proctor.report/1"
    assert set(d["submission"]) >= {"name", "sha256"}
    assert isinstance(d["submission"]["name"], str) and isinstance(d["submission"]["sha256"], str)
    assert isinstance(d["score"], NUMBER) and isinstance(d["max_score"], NUMBER)
    assert isinstance(d["environment"], dict)
    assert isinstance(d["exercises"], list)
    for e in d["exercises"]:
        assert isinstance(e["id"], str)
        assert e["status"] in EXERCISE_STATUSES, e["status"]
        assert isinstance(e["score"], NUMBER) and isinstance(e["max_score"], NUMBER)
        assert 0 <= e["score"] <= e["max_score"] + 1e-9
        assert isinstance(e["checks"], list)
        for c in e["checks"]:
            assert isinstance(c["id"], str)
            assert c["kind"] in CHECK_KINDS, c["kind"]
            assert c["status"] in CHECK_STATUSES, c["status"]
            assert isinstance(c["points"], NUMBER) and isinstance(c["max_points"], NUMBER)
            assert isinstance(c["hidden"], bool)
            assert isinstance(c["message"], str)
            assert isinstance(c["measured"], dict) and isinstance(c["budget"], dict)
            cal = c.get("calibration", {})  # added field: calibration's ranges, or {}
            assert isinstance(cal, dict) and (not cal or c["budget"])
            for group in ("accepted", "rejected"):
                if group in cal:
                    lo, hi = cal[group]
                    assert isinstance(lo, NUMBER) and isinstance(hi, NUMBER) and lo <= hi
            share = {"pass": 1.0, "inconclusive": 0.5}.get(c["status"], 0.0)
            assert c["points"] == pytest.approx(share * c["max_points"])
        if e["status"] == "graded":
            assert e["score"] == pytest.approx(sum(c["points"] for c in e["checks"]))
            assert e["max_score"] == pytest.approx(sum(c["max_points"] for c in e["checks"]))
        else:
            assert e["score"] == 0
    assert d["score"] == pytest.approx(sum(e["score"] for e in d["exercises"]))
    assert d["max_score"] == pytest.approx(sum(e["max_score"] for e in d["exercises"]))
