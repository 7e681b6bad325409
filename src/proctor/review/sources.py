"""The code a review reads: what the candidate wrote, and what they were given.

``candidate_code`` reads a submission's notebooks as data (never runs them) and joins
their code cells, so that a report can carry the code for the interviewer and for the
similarity review. ``given_code`` is what every candidate received for an exercise (the
starter notebook's code cells and the prompt's code blocks): shared by everyone, so it
must never count as similarity.
"""

from __future__ import annotations

import re
from pathlib import Path

from proctor.library.spec import ExerciseDir, Library, SpecError
from proctor.submission.intake import IntakeError, open_submission
from proctor.submission.notebook import NotebookError, read_notebook

MAX_SOURCE_CHARS = 200_000  # a report carries at most this much of one exercise's code
CELL_MARK = "# ── cell {n} ──"
_FENCE = re.compile(r"^```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)^```", re.M | re.S)


def notebook_code(path: Path) -> str:
    """A notebook's code cells as one text (each headed by its cell number), capped;
    a ``.py`` file as is."""
    if path.suffix != ".ipynb":
        return path.read_text(encoding="utf-8", errors="replace")[:MAX_SOURCE_CHARS]
    nb = read_notebook(path)
    parts = []
    n = 0
    for cell in nb.cells:
        n += 1
        if cell.cell_type == "code" and cell.source.strip():
            parts.append(CELL_MARK.format(n=n) + "\n" + cell.source.rstrip() + "\n")
    return "\n".join(parts)[:MAX_SOURCE_CHARS]


def candidate_code(path: Path, exercise_ids: list[str]) -> dict[str, str]:
    """``{exercise id: code}`` for each exercise whose notebook the submission holds;
    a submission that cannot be opened, or a notebook that cannot be read, gives none
    (its report already says why)."""
    single = exercise_ids[0] if len(exercise_ids) == 1 else None
    try:
        sub = open_submission(path, single)
    except IntakeError:
        return {}
    out: dict[str, str] = {}
    try:
        for ex_id in exercise_ids:
            nb = sub.notebook(ex_id)
            if nb is None:
                continue
            try:
                out[ex_id] = notebook_code(nb)
            except (NotebookError, OSError, UnicodeDecodeError):
                continue
    finally:
        sub.close()
    return out


def given_code(ex: ExerciseDir) -> list[str]:
    """What every candidate of ``ex`` was given: the starter notebook's code cells and
    the prompt's fenced code blocks."""
    from proctor.library import notebooks as nbgen  # nbformat: only when reviewing

    given = [ex.starter]
    try:
        from proctor.nbio import nbformat

        nb = nbformat.reads(nbgen.render(ex), as_version=4)
        given += [c.source for c in nb.cells if c.cell_type == "code"]
    except (OSError, ValueError):
        pass
    given += [m.group(1) for m in _FENCE.finditer(ex.prompt)]
    return [g for g in given if g.strip()]


def library_given_code(library: Library | None, exercise_id: str) -> list[str]:
    if library is None:
        return []
    try:
        return given_code(library.get(exercise_id))
    except (SpecError, OSError):
        return []


def annotate(report, library: Library | None, path: Path | None = None) -> None:
    """Fill what the gradebook reads but grading does not record: each exercise's track
    and skills (from the library) and, given the submission's path, its code."""
    codes = candidate_code(path, [e.id for e in report.exercises]) if path else {}
    for e in report.exercises:
        if library is not None and not e.track:
            try:
                spec = library.get(e.id).spec
            except SpecError:
                spec = None
            if spec is not None:
                e.track, e.skills = spec.track, list(spec.skills)
        if e.id in codes and not e.source:
            e.source = codes[e.id]
