"""Calibration: grade every reference solution and assert its expected verdicts.

``discover`` finds an exercise's accepted and rejected solutions (mutants included),
``calibrate`` grades them (``decide_only()``: quicker latency verdicts) and ``judge``
compares with ``expect.toml``; ``table`` prints the verdict matrix, budget margins and
uncovered checks.
"""

from proctor.calibrate.run import (
    FAILING,
    Solution,
    Verdict,
    build_artifact,
    calibrate,
    code_artifacts,
    decide_only,
    discover,
    judge,
    source_for,
)

__all__ = [
    "calibrate", "decide_only", "discover", "judge", "Solution", "Verdict", "FAILING",
    "build_artifact", "code_artifacts", "source_for",
]
