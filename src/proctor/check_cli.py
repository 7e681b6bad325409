"""``proctor check PATH``: the candidate's public checks from a shell.

Runs each notebook in a worker process (the candidate's own machine: no sandbox
needed) with the public checks only, and prints the same table as ``check()``.
"""

from __future__ import annotations

import json
from pathlib import Path

from proctor.grading import grade_exercise, safe_source
from proctor.local_check import format_table
from proctor.spec import Library, SpecError


def exercise_of(notebook: Path) -> str:
    try:
        meta = json.loads(notebook.read_text()).get("metadata", {})
        return str(meta.get("proctor", {}).get("exercise") or notebook.stem)
    except (OSError, ValueError, AttributeError):
        return notebook.stem


def check_path(path: Path, library: Library) -> int:
    if path.is_dir():
        nbdir = path / "notebooks" if (path / "notebooks").is_dir() else path
        notebooks = sorted(nbdir.glob("*.ipynb"))
    else:
        notebooks = [path]
    if not notebooks:
        print(f"{path}: no notebooks found")
        return 1
    failed = 0
    for nb in notebooks:
        ex_id = exercise_of(nb)
        try:
            ex = library.get(ex_id)
        except SpecError as exc:
            print(f"{nb}: {exc}")
            failed += 1
            continue
        root = nb.parent.parent
        art = root / "artifacts" / ex_id
        source = safe_source(ex, nb, art if art.is_dir() else None)
        result = grade_exercise(ex, source, None, hidden=False, unsafe=True)
        if result.status != "graded":
            print(f"{ex_id}: {result.status}: {result.message}")
            failed += 1
            continue
        for ce in result.cell_errors:
            print(f"{ex_id}: cell {ce['cell']} raised {ce['type']}: {ce['message'][:200]}")
        print(format_table(ex_id, result.checks))
        print()
        failed += any(c.status != "pass" for c in result.checks)
    return 1 if failed else 0
