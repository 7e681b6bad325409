"""``proctor check PATH``: the candidate's public checks from a shell.

Runs each notebook the way grading will (all code cells in order, in a separate
worker process with ``is_grading()`` true, so guarded training cells are
skipped), but on the candidate's own machine (no sandbox needed) and with the
public checks only.  Prints the same table as ``check()`` in the notebook.
Exit status: 0 when every public check passes, 1 otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path

from proctor.candidate.local import missing_artifacts, run_public
from proctor.candidate.stubs import NOT_IMPLEMENTED, friendly, stubs_in_source
from proctor.candidate.table import format_table
from proctor.grading.exercise import grade_exercise, safe_source
from proctor.library.spec import Library, SpecError
from proctor.submission.notebook import NotebookError, cells_from_file


def exercise_of(notebook: Path) -> str:
    try:
        meta = json.loads(notebook.read_text()).get("metadata", {})
        return str(meta.get("proctor", {}).get("exercise") or notebook.stem)
    except (OSError, ValueError, AttributeError):
        return notebook.stem


def _notebooks(path: Path) -> list[Path]:
    if path.is_dir():
        nbdir = path / "notebooks" if (path / "notebooks").is_dir() else path
        return sorted(p for p in nbdir.glob("*.ipynb") if not p.name.startswith("."))
    return [path] if path.is_file() else []


def check_path(path: Path, library: Library) -> int:
    path = Path(path).resolve()
    notebooks = _notebooks(path)
    if not notebooks:
        print(f"{path}: no notebooks found")
        return 1
    failed = 0
    for nb in notebooks:
        try:
            ok = check_notebook(nb, library)
        except Exception as exc:  # the harness, not the candidate: one line, no traceback
            first = (str(exc).splitlines() or [""])[0]
            print(f"{nb.name}: could not run the public checks: {type(exc).__name__}: {first}\n")
            ok = False
        failed += not ok
    return 1 if failed else 0


def check_notebook(nb: Path, library: Library) -> bool:
    """Print the public-check table of one notebook; True when all checks pass."""
    ex_id = exercise_of(nb)
    try:
        ex = library.get(ex_id)
    except SpecError:
        print(f"{nb.name}: not an exercise notebook (no exercise {ex_id!r}); skipped\n")
        return True
    root = nb.parent.parent
    art = root / "artifacts" / ex_id
    if ex.spec.kind == "artifact":
        # Grading runs no candidate code for these: the public runner serves the saved
        # file. That is exactly what check() does in the notebook, so do the same here.
        notes = ([] if not missing_artifacts(ex, art)
                 else ["run the notebook's export cell to save your artifact"])
        checks = run_public(ex_id, {}, root)
        print(format_table(ex_id, checks, notes, kind="artifact"))
        print()
        return all(c.status == "pass" for c in checks)
    source = safe_source(ex, nb, art if art.is_dir() else None)
    if isinstance(source, str):
        print(f"{ex_id}: {source}\n")
        return False
    result = grade_exercise(ex, source, None, hidden=False, unsafe=True)
    if result.status != "graded":
        print(f"{ex_id}: {result.status}: {result.message}\n")
        return False
    notes = []
    stubs: list[str] = []
    if ex.spec.kind == "code":
        try:
            stubs = stubs_in_source(cells_from_file(nb), list(ex.spec.interface))
        except (NotebookError, OSError, UnicodeDecodeError):
            stubs = []
        if stubs:
            notes.append(f"{NOT_IMPLEMENTED}: {', '.join(stubs)} (replace the "
                         "`raise NotImplementedError` in the starter cell)")
    for ce in result.cell_errors:
        first = (ce["message"].splitlines() or [""])[0]
        notes.append(f"code cell {ce['cell']} raised {ce['type']}: {first}")
    if result.message:
        notes.append(result.message)
    checks = friendly(result.checks, stubs)
    print(format_table(ex_id, checks, notes))
    print()
    return all(c.status == "pass" for c in checks)
