"""Checks: graded assertions that exercise authors write, run in the trusted process.

An author writes ``@check(points, kind, budget)`` functions that take a ``Context``
and assert, or return an ``Outcome`` for budget checks; ``asserts`` has the helpers
(``as_array``, ``assert_close``, ...). ``load_checks``/``run_check`` are the engine's side.
The kinds a check may have are a registry: proctor.kinds.
"""

from proctor.checks.context import Context, NoReference
from proctor.checks.registry import CheckDef, CheckLoadError, check, load_checks, run_check
from proctor.verdicts import STATUSES, Outcome, Status
from proctor.worker.client import CandidateError

__all__ = [
    "check", "Outcome", "Context", "NoReference", "CandidateError",
    "CheckDef", "CheckLoadError", "load_checks", "run_check",
    "STATUSES", "Status",
]
