"""Grading at three sizes, named so: one exercise, one submission, many submissions.

``grade_exercise`` runs a notebook in a worker and each check against it;
``grade_submission`` opens a submission and grades each exercise into a ``Report``;
``grade_many`` grades several submissions into an output folder with a gradebook.
"""

from proctor.grading.exercise import (
    PUBLIC_SEED,
    Source,
    candidate_source,
    check_result,
    collect_checks,
    grade_exercise,
    hidden_seed,
    runner_source,
    safe_source,
)
from proctor.grading.many import grade_many
from proctor.grading.submission import environment, grade_submission, reference_source

__all__ = [
    "grade_exercise", "grade_submission", "grade_many", "Source", "safe_source",
    "candidate_source", "runner_source", "reference_source", "collect_checks",
    "hidden_seed", "environment", "PUBLIC_SEED", "check_result",
]
