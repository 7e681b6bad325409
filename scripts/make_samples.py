"""Regenerate samples/: candidate-shaped submissions for the demo, built from the
starter notebooks with a reference solution pasted into the starter cell.

    .venv/bin/python scripts/make_samples.py
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat

from proctor import nbgen
from proctor.spec import Library

SAMPLES = {
    # a strong candidate: accepted solutions everywhere
    "strong": {
        "box_ops": "accepted/reference.py",
        "connected_components": "accepted/reference.py",
    },
    # a flawed one: a tie-order bug, a slow-but-correct labeller, the rest not attempted
    "flawed": {
        "box_ops": "rejected/tie_order/solution.py",
        "connected_components": "rejected/python_union_find/solution.py",
    },
}


def notebook_with(library: Library, exercise_id: str, solution: Path) -> str:
    ex = library.get(exercise_id)
    nb = nbformat.reads(nbgen.render(ex), as_version=4)
    starter = next(c for c in nb.cells if c.cell_type == "code" and c.source == ex.starter.rstrip())
    starter.source = solution.read_text().rstrip()
    return nbformat.writes(nb) + "\n"


def main() -> int:
    library = Library.find(Path(__file__).resolve().parents[1])
    out = library.root / "samples"
    for name, picks in SAMPLES.items():
        dest = out / name
        shutil.rmtree(dest, ignore_errors=True)
        (dest / "notebooks").mkdir(parents=True)
        for ex_id, rel in picks.items():
            sol = library.root / "reference_solutions" / ex_id / rel
            (dest / "notebooks" / f"{ex_id}.ipynb").write_text(notebook_with(library, ex_id, sol))
        print(f"wrote {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
