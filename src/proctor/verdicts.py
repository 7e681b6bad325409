"""The vocabulary of verdicts: kinds of check and budget, the statuses a check ends in,
and the ``Outcome`` a check (or a measurement) concludes with.

A leaf module (it imports nothing of proctor), read by the spec, the checks, measure/,
the report and calibration alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

#: What a budget limits; a new kind of check is added here and nowhere else in the engine.
BudgetKind = Literal["latency", "memory", "size", "accuracy"]
Kind = Literal["correctness", BudgetKind]
Status = Literal["pass", "fail", "error", "timeout", "inconclusive"]
STATUSES: tuple[str, ...] = get_args(Status)
KINDS: tuple[str, ...] = get_args(Kind)
MAX_MESSAGE = 3000


@dataclass
class Outcome:
    status: Status
    message: str = ""
    measured: dict[str, Any] = field(default_factory=dict)
    budget: dict[str, Any] = field(default_factory=dict)


