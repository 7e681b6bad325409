"""The contract ledger (reference_solutions/<id>/contract.toml): every exercise has one that
proves each clause (an existing owning check, rejected solutions that fail it), and the
audit names each way a ledger can fail to prove a clause."""

from __future__ import annotations

import shutil
import textwrap

import pytest
from conftest import ROOT

from proctor.calibrate import contract
from proctor.calibrate.contract import print_ledgers as _ledgers
from proctor.library import scaffold
from proctor.library.spec import Library, SpecError

LIBRARY = Library(ROOT)


@pytest.mark.parametrize("ex_id", LIBRARY.ids())
def test_every_exercise_has_a_ledger_that_proves_every_clause(ex_id):
    clauses, problems, points = contract.review(LIBRARY.get(ex_id))
    assert problems == []
    assert clauses, f"{ex_id}: an empty ledger"
    assert all(c.check in points for c in clauses if c.check or not c.foundational)


@pytest.fixture
def lib(tmp_path) -> Library:
    (tmp_path / "exercises").mkdir()
    lib = Library(tmp_path)
    scaffold.create(lib, "prefix_max")
    return lib


def write(lib: Library, body: str) -> None:
    (lib.root / "reference_solutions/prefix_max/contract.toml").write_text(
        textwrap.dedent(body))


def problems(lib: Library) -> list[str]:
    return contract.review(lib.get("prefix_max"))[1]


def test_the_scaffold_ledger_proves_its_clauses(lib):
    clauses, found, points = contract.review(lib.get("prefix_max"))
    assert found == [] and [c.check for c in clauses] == ["random_values",
                                                          "running_max_latency"]
    lines = contract.table(clauses, points)
    assert "random_values" in lines[0] and "3 pt" in lines[0] and "starts_at_zero" in lines[0]


def test_a_missing_ledger_is_a_problem(lib):
    (lib.root / "reference_solutions/prefix_max/contract.toml").unlink()
    assert "no contract ledger" in problems(lib)[0]


@pytest.mark.parametrize("clause,expect", [
    ('check = ""\nrejected = ["starts_at_zero"]', "has no owning check"),
    ('check = "random_valuez"\nrejected = ["starts_at_zero"]', "does not exist"),
    ('check = "random_values"\nrejected = []', "has no rejected solution"),
    ('check = "random_values"', "has no rejected solution"),
    ('check = "random_values"\nrejected = ["no_such_solution"]',
     "rejected solution 'no_such_solution', which does not exist"),
    # python_loop's expect.toml fails only the latency check
    ('check = "random_values"\nrejected = ["python_loop"]', "does not list 'random_values'"),
])
def test_unproven_clauses_are_named(lib, clause, expect):
    write(lib, f'[[clause]]\nid = "c"\ntext = "the sentence"\n{clause}\n')
    found = problems(lib)
    assert len(found) == 1 and expect in found[0] and "'c'" in found[0]


@pytest.mark.parametrize("body,expect", [
    ("", "at least one"),
    ('[[clause]]\nid = "Bad Id"\ntext = "t"\ncheck = "random_values"\n', "snake_case"),
    ('[[clause]]\nid = "a"\ncheck = "random_values"\n', "text"),
    ('[[clause]]\nid = "a"\ntext = "t"\ncheck = ["x", "y"]\n', "one check id"),
    ('[[clause]]\nid = "a"\ntext = "t"\ncheck = "x"\nrejected = "r"\n', "list"),
    ('[[clause]]\nid = "a"\ntext = "t"\ncheck = "x"\npoints = 3\n', "unknown keys"),
    ('[[clause]]\nid = "a"\ntext = "t"\ncheck = "x"\n[[clause]]\nid = "a"\ntext = "u"\n'
     'check = "x"\n', "used twice"),
    ("[clause\n", "cannot read"),
])
def test_malformed_ledgers_are_refused_with_the_file_named(lib, body, expect):
    write(lib, body)
    with pytest.raises(SpecError, match=expect) as info:
        contract.load(lib.get("prefix_max"))
    assert "contract.toml" in str(info.value)
    assert expect in problems(lib)[0]  # review reports it as a problem, not a crash


def test_calibrate_strict_counts_ledger_problems(lib, capsys):
    assert _ledgers(lib, ["prefix_max"], strict=True) == 0
    write(lib, '[[clause]]\nid = "c"\ntext = "t"\ncheck = "nope"\nrejected = ["python_loop"]\n')
    assert _ledgers(lib, ["prefix_max"], strict=True) == 1
    out = capsys.readouterr().out
    assert "CONTRACT prefix_max: clause 'c' names check 'nope'" in out
    assert "(a warning" not in out
    _ledgers(lib, ["prefix_max"], strict=False)
    assert "(a warning; --strict makes it an error)" in capsys.readouterr().out


def test_mutants_count_as_rejected_solutions(lib, tmp_path):
    """A ledger may name a mutant (expect.toml only, no solution.py)."""
    d = lib.root / "reference_solutions/prefix_max/rejected/zero_start_mutant"
    d.mkdir()
    shutil.copy(lib.root / "reference_solutions/prefix_max/rejected/starts_at_zero/expect.toml",
                d / "expect.toml")
    with (d / "expect.toml").open("a") as f:
        f.write('mutates = "accepted/reference.py"\n[[replace]]\nold = "np"\nnew = "np"\n')
    write(lib, '[[clause]]\nid = "c"\ntext = "t"\ncheck = "random_values"\n'
               'rejected = ["zero_start_mutant"]\n')
    assert problems(lib) == []
