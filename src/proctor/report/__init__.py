"""The outcome of grading: the ``proctor.report/1`` model and its renderings.

``Report``/``ExerciseResult``/``CheckResult`` are the contract in docs (report.json);
``html`` renders a report page, ``gradebook`` the pages over many reports.
"""

from proctor.report.gradebook import write_gradebook
from proctor.report.html import render, write_html
from proctor.report.model import (
    SCHEMA,
    SCORING,
    CheckResult,
    ExerciseResult,
    Report,
    points_for,
)

__all__ = [
    "Report", "ExerciseResult", "CheckResult", "points_for", "SCHEMA", "SCORING",
    "render", "write_html", "write_gradebook",
]
