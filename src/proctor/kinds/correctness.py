"""correctness: pass/fail assertions on the candidate's results; no budget, nothing measured."""

from __future__ import annotations

from proctor.kinds.base import Kind


class Correctness(Kind):
    name = "correctness"
    budgeted = False
