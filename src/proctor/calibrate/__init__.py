"""Calibration: grade every reference solution and assert its expected verdicts.

``discover`` finds an exercise's accepted and rejected solutions (mutants included),
``calibrate`` grades them and ``judge`` compares with ``expect.toml``; ``table``
prints the verdict matrix, budget margins and uncovered checks.
"""

from proctor.calibrate.run import (
    FAILING,
    Solution,
    Verdict,
    build_artifact,
    calibrate,
    code_artifacts,
    discover,
    judge,
    source_for,
)

__all__ = [
    "calibrate", "discover", "judge", "Solution", "Verdict", "FAILING",
    "build_artifact", "code_artifacts", "source_for",
]
