"""What a candidate's notebook imports: ``check``, ``is_grading``, ``artifact_dir``,
``bundle_dir``.

This module is public and light: in the grader's worker it only answers
``is_grading()`` and ``artifact_dir()`` (nothing else is imported); in the
candidate's own kernel ``check()`` runs the exercise's public checks against the
notebook's namespace (see proctor.candidate.local) and prints a compact table.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def is_grading() -> bool:
    """True inside the grader's worker: guard training cells with ``if not is_grading():``."""
    return os.environ.get("PROCTOR_GRADING") == "1"


def artifact_dir(exercise_id: str) -> Path:
    """Where an exercise's saved files live: the submission's while grading, else
    ``<bundle>/artifacts/<exercise_id>`` (created on first use)."""
    if is_grading() and os.environ.get("PROCTOR_EXERCISE") == exercise_id:
        return Path(os.environ.get("PROCTOR_ARTIFACT_DIR", "/nonexistent"))
    path = bundle_dir() / "artifacts" / exercise_id
    if not is_grading():
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass
    return path


def check(exercise_id: str | None = None, namespace: dict | None = None) -> None:
    """Run the public checks for this notebook's exercise and print a table.

    Checks the functions the notebook has defined so far (run the cells above
    first) or, for artifact exercises, the file saved under ``artifact_dir()``.
    Hidden checks run only when your submission is graded.  In a timed session, the
    time left is printed last.  Does nothing while grading.
    """
    if is_grading():
        return
    if namespace is None:
        namespace = _caller_namespace()
    try:
        from proctor.candidate.local import check_namespace

        exercise_id = exercise_id or _guess_exercise()
        root = bundle_dir()
        if not (root / "exercises" / exercise_id / "exercise.toml").is_file():
            print(f"check(): cannot find exercises/{exercise_id}/ under {root}. Open the "
                  "notebook from the bundle's notebooks/ folder, or set PROCTOR_BUNDLE to "
                  "the bundle folder.")
            return
        check_namespace(exercise_id, namespace, root=root)
    except Exception as exc:  # a harness problem: one line, never a traceback wall
        first = (str(exc).splitlines() or [""])[0]
        print(f"check(): could not run the public checks: {type(exc).__name__}: {first}")
    _time_left()


def _time_left() -> None:
    """The session clock's line (time left, or that time is up), in a container session."""
    try:
        from proctor import clock
        from proctor.candidate.session import status_line
        from proctor.submission.submit import read_session

        state = read_session(bundle_dir())
        if state is not None:
            print(status_line(state, clock.now()))
    except Exception:  # the clock is a courtesy: never in the way of the checks
        pass


def _caller_namespace() -> dict:
    """The notebook's globals: the frame that called ``check()``."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
    if frame is not None:
        return frame.f_globals
    import __main__

    return vars(__main__)


def bundle_dir() -> Path:
    """The candidate's bundle folder: ``PROCTOR_BUNDLE`` if set (the container sets it),
    else the parent of notebooks/ when a bundled notebook runs, else the cwd."""
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
