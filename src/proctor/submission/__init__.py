"""Submissions as data: opened safely, read as plain cells, packed by the candidate.

``open_submission`` accepts a directory, zip or single file and refuses hostile shapes;
``notebook`` turns a notebook into code cells without running anything; ``submit``
packs a candidate's bundle into a verified zip.
"""

from proctor.submission.intake import IntakeError, Submission, open_submission
from proctor.submission.notebook import NotebookError, cells_from_file, code_cells, read_notebook

__all__ = [
    "open_submission", "Submission", "IntakeError",
    "cells_from_file", "code_cells", "read_notebook", "NotebookError",
]
