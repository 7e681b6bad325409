"""The train_debug exercise: its starter, its calibration set and its contract ledger.

* the starter is the reference with exactly the six planted bugs (the six mutants' own
  replacements, applied together), so what the candidate debugs is what calibration proves;
* in-process (no sandbox, cached crops), every solution fails exactly the checks its
  expect.toml declares; the end-to-end check (seconds each) runs only for the reference and
  for the solution that must fail it: ``proctor calibrate`` runs it for every solution;
* the starter fails the six planted bugs' checks and passes the others (its end-to-end
  accuracy, ~0.3-0.45, is in reference_solutions/train_debug/NOTES.md);
* the checks' copy of ``shape_crops`` (exercises/train_debug/data.py) is the starter's, and
  the graders' normalisation is the reference's prepare_data;
* the ledger names real checks and rejected solutions, each rejected solution fails its
  clauses' checks, and every rejected solution owns a clause;
* the graders never import torch, and the starter trains only outside grading.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import check_defs, declared_failures, imports_of, namespace_of, solution_source

from proctor.library.spec import Library

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]
EX_ID = "train_debug"
EX = Library(ROOT).get(EX_ID)
SOLUTIONS = ROOT / "reference_solutions" / EX_ID
REJECTED = sorted(p.parent.name for p in (SOLUTIONS / "rejected").glob("*/expect.toml"))
PLANTED = ("eval_in_train_mode", "no_zero_grad", "softmax_before_loss", "validation_statistics",
           "mixup_targets_not_mixed", "scheduler_per_batch")
E2E = "fit_accuracy"
STARTER = (EX.public_dir / "starter.py").read_text()


@pytest.fixture(scope="module", autouse=True)
def grading_env() -> Iterator[None]:
    """Solutions run as when graded: no training at load time, one torch thread."""
    threads = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PROCTOR_GRADING", "1")
        torch.set_num_threads(1)
        yield
    torch.set_num_threads(threads)


def _without_docstring(source: str) -> str:
    doc = ast.get_docstring(ast.parse(source), clean=False)
    assert doc is not None
    head = f'"""{doc}"""'
    assert source.startswith(head)
    return source[len(head):]


def test_starter_is_the_reference_with_the_six_planted_bugs():
    text = solution_source(EX_ID, "accepted/reference.py")
    for reason in PLANTED:
        meta = tomllib.loads((SOLUTIONS / "rejected" / reason / "expect.toml").read_text())
        assert meta["mutates"] == "accepted/reference.py"
        for r in meta["replace"]:
            assert text.count(r["old"]) == 1, (reason, r["old"])
            text = text.replace(r["old"], r["new"])
    assert _without_docstring(text) == _without_docstring(STARTER)
    assert set(PLANTED) < set(REJECTED)


def _failures(source: str, skip: set[str]) -> set[str]:
    """Checks (public and hidden) that ``source`` fails, in-process, against the reference."""
    try:
        from proctor.worker.local import LocalClient
    except ImportError:  # the engine before LocalClient moved to proctor.worker
        from proctor.candidate.local import LocalClient
    from proctor.checks import run_check
    from proctor.checks.context import Context
    from proctor.grading import PUBLIC_SEED, hidden_seed
    from proctor.worker.proxy import Proxy

    candidate = Proxy(LocalClient(namespace_of(source)), 60)  # type: ignore[arg-type]
    reference = Proxy(LocalClient(namespace_of(  # type: ignore[arg-type]
        solution_source(EX_ID, "accepted/reference.py"))), 60)
    failed = set()
    for d in check_defs(EX):
        if d.id in skip:
            continue
        ctx = Context(EX, candidate, reference if d.hidden else None, d.id,
                      hidden_seed(EX) if d.hidden else PUBLIC_SEED, d.hidden)
        outcome = run_check(d, ctx)
        assert outcome.status in ("pass", "fail"), (d.id, outcome.message)
        if outcome.status == "fail":
            failed.add(d.id)
    return failed


@pytest.mark.parametrize("solution", ["accepted/reference", *(f"rejected/{r}" for r in REJECTED)])
def test_solution_fails_exactly_its_declared_checks(solution):
    declared = declared_failures(EX, solution)
    name = f"{solution}.py" if solution.startswith("accepted") else solution
    skip = set() if solution.startswith("accepted") or E2E in declared else {E2E}
    assert _failures(solution_source(EX_ID, name), skip) == declared


def test_starter_fails_the_six_bug_checks_and_nothing_else():
    """The starter fails each planted bug's check; the checks no planted bug concerns
    (train_epoch's batching, augment's randomness, fit's history, the public interface)
    pass: the bugs are the exercise, the rest of the pipeline is right."""
    bugs = set().union(*(declared_failures(EX, f"rejected/{r}") for r in PLANTED))
    assert len(bugs) == len(PLANTED)
    assert _failures(STARTER, skip={E2E}) == bugs


def test_checks_crop_as_the_starter_and_normalise_as_the_reference():
    ns = namespace_of(STARTER)
    spec = {}
    exec(compile((EX.public_dir / "data.py").read_text(), "data.py", "exec"), spec)
    for n, seed in ((3, 5), (25, 2024)):
        got, got_labels = spec["shape_crops"](n, seed)
        want, want_labels = ns["shape_crops"](n, seed)
        assert got.dtype == want.dtype == np.uint8 and got.shape == want.shape
        assert np.array_equal(got, want) and np.array_equal(got_labels, want_labels)
    x = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
    ref = namespace_of(solution_source(EX_ID, "accepted/reference.py"))
    d = ref["prepare_data"](x, np.zeros(2), x[:1], np.zeros(1))
    grader = next(d for d in check_defs(EX) if d.hidden).fn.__globals__
    train, val = grader["_normalised"](x, x[:1])
    assert np.array_equal(d["train_x"], train) and np.array_equal(d["val_x"], val)


def test_contract_ledger():
    ledger = tomllib.loads((SOLUTIONS / "contract.toml").read_text())["clause"]
    checks = {d.id for d in check_defs(EX)}
    owned = set()
    for clause in ledger:
        assert set(clause) >= {"id", "text", "check", "rejected"}, clause
        assert clause["check"] in checks, clause["id"]
        for reason in clause["rejected"]:
            assert reason in REJECTED, (clause["id"], reason)
            assert clause["check"] in declared_failures(EX, f"rejected/{reason}"), (
                clause["id"], reason)
            owned.add(reason)
    assert owned == set(REJECTED)
    assert {c["check"] for c in ledger} == checks
    for reason in REJECTED:  # one defect, one deduction
        assert len(declared_failures(EX, f"rejected/{reason}")) == 1, reason


def test_graders_do_not_import_torch_and_the_starter_trains_only_outside_grading():
    for path in (EX.grader_dir / "checks.py", EX.public_dir / "checks.py",
                 EX.public_dir / "data.py"):
        assert "torch" not in imports_of(path.read_text()), path
    tree = ast.parse(STARTER)
    guarded = [n for n in tree.body if isinstance(n, ast.If)]
    assert len(guarded) == 1 and "is_grading" in ast.unparse(guarded[0].test)
    assert "result" not in namespace_of(STARTER)  # PROCTOR_GRADING=1: nothing trained
