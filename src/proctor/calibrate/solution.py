"""What calibration knows about one reference solution, and what grading it gave."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from proctor.calibrate import mutants as _mutants
from proctor.report.model import ExerciseResult


@dataclass
class Solution:
    name: str
    path: Path
    must_fail: frozenset[str] = frozenset()
    why: str = ""
    weights_from: str | None = None  # another solution whose artifacts/<id>/ this one uses
    # checks whose verdict is not asserted: the solution sits too near their budget by
    # construction (e.g. an fp32 model against an "int8 must be faster" budget of 0.9x)
    unjudged: frozenset[str] = frozenset()
    mutation: _mutants.Mutation | None = None


@dataclass
class Verdict:
    solution: Solution
    result: ExerciseResult
    mismatches: list[str] = field(default_factory=list)
