"""What a candidate's notebook imports: ``check``, ``is_grading``, ``artifact_dir``.

This module is public and light: in the grader's worker it only answers
``is_grading()``; in the candidate's own kernel ``check()`` runs the exercise's
public checks against the notebook's namespace (see proctor.local_check).
"""

from __future__ import annotations

import os
from pathlib import Path


def is_grading() -> bool:
    """True inside the grader's worker: guard training cells with ``if not is_grading():``."""
    return os.environ.get("PROCTOR_GRADING") == "1"


def artifact_dir(exercise_id: str) -> Path:
    """Where an exercise's saved files live: the submission's while grading, else ./artifacts."""
    if is_grading() and os.environ.get("PROCTOR_EXERCISE") == exercise_id:
        return Path(os.environ.get("PROCTOR_ARTIFACT_DIR", "/nonexistent"))
    return _bundle_root() / "artifacts" / exercise_id


def check(exercise_id: str | None = None) -> None:
    """Run the public checks for this notebook's exercise and print a table."""
    if is_grading():
        return
    import __main__

    from proctor.local_check import check_namespace

    exercise_id = exercise_id or _guess_exercise()
    check_namespace(exercise_id, vars(__main__), root=_bundle_root())


def _bundle_root() -> Path:
    """The bundle folder: the parent of notebooks/ when running a bundled notebook."""
    env = os.environ.get("PROCTOR_BUNDLE")
    if env:
        return Path(env)
    cwd = Path.cwd()
    return cwd.parent if cwd.name == "notebooks" else cwd


def _guess_exercise() -> str:
    name = os.environ.get("PROCTOR_EXERCISE") or os.environ.get("JPY_SESSION_NAME", "")
    stem = Path(name).stem
    if not stem:
        raise RuntimeError("call check('<exercise id>') with the exercise id")
    return stem
