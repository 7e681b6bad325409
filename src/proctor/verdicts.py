"""The vocabulary of verdicts: the statuses a check ends in, and the ``Outcome`` a check
(or a measurement) concludes with.

A leaf module (it imports nothing of proctor), read by the spec, the checks, measure/,
the report and calibration alike. Kinds of check (correctness, latency, ...) are a
registry: proctor.kinds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

Status = Literal["pass", "fail", "error", "timeout", "inconclusive"]
STATUSES: tuple[str, ...] = get_args(Status)
MAX_MESSAGE = 3000


@dataclass
class Outcome:
    status: Status
    message: str = ""
    measured: dict[str, Any] = field(default_factory=dict)
    budget: dict[str, Any] = field(default_factory=dict)
