"""What a check concludes: its status, message and, for budget checks, the figures.

A leaf module: measure/ and the grading loop build Outcomes without importing checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

Kind = Literal["correctness", "latency", "memory", "size", "accuracy"]
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


