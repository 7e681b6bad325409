"""The contract ledger: every normative sentence of a prompt, the one check that owns it,
and the rejected solutions that break it.

``reference_solutions/<id>/contract.toml`` lists the prompt's clauses (types, dtypes,
shapes, ordering, error behaviour, "do not modify", precision, id rules, budgets...):

    [[clause]]
    id = "labels_dtype"                       # short, unique in the exercise
    text = "labels: an int32 array"           # the prompt's sentence, verbatim or nearly
    check = "label_dtype"                     # the ONE check that judges it
    rejected = ["labels_int64"]               # rejected/<name>/ solutions that break it

A clause is proven when its check exists and each solution named in ``rejected`` is a
rejected solution whose ``expect.toml`` ``fail`` list holds that check (calibration then
asserts that it really fails it, and only what its ``fail`` says). ``audit`` finds the
clauses that are not proven; ``proctor calibrate --strict`` makes them errors, and an
exercise without a ledger too. The ledger is what makes "one defect, one deduction"
reviewable: the rejected solution of a type clause fails its one check and nothing else.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from proctor.library.spec import ExerciseDir, Library, SpecError

LEDGER = "contract.toml"
_ID = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Clause:
    id: str
    text: str
    check: str
    rejected: tuple[str, ...]
    #: why no single check or rejected solution can prove it: every check depends on it
    foundational: str = ""


def ledger_path(ex: ExerciseDir) -> Path:
    return ex.solutions_dir / LEDGER


def load(ex: ExerciseDir) -> list[Clause] | None:
    """The exercise's clauses, or None when it has no ledger; SpecError when malformed
    (a field missing or of the wrong type, a clause id used twice)."""
    path = ledger_path(ex)
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SpecError(f"{path}: cannot read: {exc}") from None
    unknown = set(data) - {"clause"}
    if unknown:
        raise SpecError(f"{path}: unknown top-level keys {sorted(unknown)} (only [[clause]])")
    raw = data.get("clause", [])
    if not isinstance(raw, list) or not raw:
        raise SpecError(f"{path}: needs at least one [[clause]]")
    clauses: list[Clause] = []
    seen: set[str] = set()
    for i, c in enumerate(raw, 1):
        where = f"{path}: [[clause]] #{i}"
        if not isinstance(c, dict):
            raise SpecError(f"{where}: must be a table")
        extra = set(c) - {"id", "text", "check", "rejected", "note", "foundational"}
        if extra:
            raise SpecError(f"{where}: unknown keys {sorted(extra)}")
        cid = c.get("id")
        if not isinstance(cid, str) or not _ID.fullmatch(cid):
            raise SpecError(f"{where}: id must be a short snake_case string, got {cid!r}")
        if cid in seen:
            raise SpecError(f"{where}: clause id {cid!r} is used twice")
        seen.add(cid)
        text = c.get("text")
        if not isinstance(text, str) or not text.strip():
            raise SpecError(f"{where} ({cid}): text (the prompt's sentence) is required")
        check = c.get("check", "")
        rejected = c.get("rejected", [])
        if not isinstance(check, str):
            raise SpecError(f"{where} ({cid}): check must be one check id (a string)")
        if not (isinstance(rejected, list) and all(isinstance(r, str) for r in rejected)):
            raise SpecError(f"{where} ({cid}): rejected must be a list of rejected solution "
                            "names")
        basis = c.get("foundational", "")
        if not isinstance(basis, str) or not isinstance(c.get("note", ""), str):
            raise SpecError(f"{where} ({cid}): note and foundational are sentences (strings)")
        clauses.append(Clause(cid, " ".join(text.split()), check, tuple(rejected), basis))
    return clauses


def audit(ex: ExerciseDir, clauses: list[Clause] | None, check_ids: list[str],
          fails: dict[str, frozenset[str]]) -> list[str]:
    """Why the ledger does not prove the prompt's clauses (empty when it does).

    ``check_ids``: the exercise's checks (public and hidden); ``fails``: each rejected
    solution's name (``rejected/<name>`` without the prefix) -> its expect.toml ``fail``."""
    if clauses is None:
        return [f"no contract ledger ({ledger_path(ex)}): list every normative sentence of "
                "the prompt with its owning check and a rejected solution (docs/authoring.md)"]
    problems = []
    for c in clauses:
        if not c.check and not c.foundational:
            problems.append(f"clause {c.id!r} has no owning check")
        elif c.check and c.check not in check_ids:
            problems.append(f"clause {c.id!r} names check {c.check!r}, which does not exist "
                            f"(checks: {', '.join(check_ids)})")
        if not c.rejected and not c.foundational:
            problems.append(f"clause {c.id!r} has no rejected solution (add one that breaks "
                            "only this clause, usually a mutant)")
        for name in c.rejected:
            if name not in fails:
                problems.append(f"clause {c.id!r} names rejected solution {name!r}, which "
                                "does not exist")
            elif c.check in check_ids and c.check not in fails[name]:
                problems.append(f"clause {c.id!r}: rejected/{name}/expect.toml does not list "
                                f"{c.check!r} in fail (it must fail the clause's check)")
    return problems


def table(clauses: list[Clause], points: dict[str, float]) -> list[str]:
    """The ledger as lines: clause, owning check and its points, rejected solutions."""
    if not clauses:
        return []
    width = max(len(c.id) for c in clauses)
    cwidth = max(len(c.check or "-") for c in clauses)
    lines = []
    for c in clauses:
        pts = points.get(c.check)
        p = f"{pts:g} pt" if pts is not None else "? pt"
        lines.append(f"    {c.id:<{width}}  {c.check or '-':<{cwidth}}  {p:>6}  "
                     f"{', '.join(c.rejected) or '-'}")
    return lines


def review(ex: ExerciseDir) -> tuple[list[Clause], list[str], dict[str, float]]:
    """Load and audit one exercise's ledger against its checks and rejected solutions:
    (clauses, problems, points of each check). Needs no grading: it reads the files."""
    from proctor.calibrate.run import discover
    from proctor.grading.exercise import collect_checks

    defs = collect_checks(ex, hidden=True)
    points = {d.id: d.points for d in defs}
    fails = {s.name.removeprefix("rejected/"): s.must_fail for s in discover(ex)
             if s.name.startswith("rejected/")}
    try:
        clauses = load(ex)
    except SpecError as exc:
        return [], [str(exc)], points
    return clauses or [], audit(ex, clauses, list(points), fails), points


def print_ledgers(lib: Library, ids: list[str], strict: bool) -> int:
    """Print each exercise's contract ledger (clause, owning check, points, rejected) and
    what it fails to prove; return the number of problems."""
    count = 0
    for ex_id in ids:
        clauses, problems, points = review(lib.get(ex_id))
        print(f"\ncontract {ex_id}: {len(clauses)} clause(s)")
        print("\n".join(table(clauses, points)))
        for p in problems:
            print(f"CONTRACT {ex_id}: {p}" + ("" if strict else " (a warning; --strict "
                                                                "makes it an error)"))
        count += len(problems)
    return count
