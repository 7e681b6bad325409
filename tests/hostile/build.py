"""Build the hostile-submission corpus: one submission folder per attack.

Each ``tests/hostile/<item>/cell.py`` is one hostile notebook cell.  This script
writes ``tests/hostile/<item>/notebooks/box_ops.ipynb``: the box_ops starter notebook
(``notebooks/box_ops.ipynb``) with a solution pasted into the starter cell (the
accepted reference, or the solution named by a ``# base: <rejected reason>`` line in
the cell) and the hostile cell inserted just before the final ``check()`` cell.

Cells contain placeholders such as ``@@PORT@@`` that tests/test_hostile.py replaces
when it copies the corpus for a run (listener ports, marker dirs, the planted
secret, ...); unreplaced, they are harmless strings.

    python tests/hostile/build.py        # rewrite every notebook
    python tests/hostile/build.py --check  # exit 1 if a notebook is stale
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
EXERCISE = "box_ops"


def items() -> list[str]:
    return sorted(p.name for p in HERE.iterdir() if (p / "cell.py").is_file())


def solution_source(cell: str) -> str:
    m = re.search(r"^# base: (\S+)$", cell, re.MULTILINE)
    base = ROOT / "reference_solutions" / EXERCISE
    if m is None:
        return (base / "accepted" / "reference.py").read_text()
    return (base / "rejected" / m.group(1) / "solution.py").read_text()


def render(item: str) -> str:
    cell = (HERE / item / "cell.py").read_text()
    nb = nbformat.reads((ROOT / "notebooks" / f"{EXERCISE}.ipynb").read_text(), as_version=4)
    starter = [c for c in nb.cells if c.cell_type == "code" and "def box_iou" in c.source]
    assert len(starter) == 1, "cannot find the starter cell of notebooks/box_ops.ipynb"
    starter[0].source = solution_source(cell).rstrip()
    hostile = new_code_cell(cell.rstrip())
    hostile["id"] = f"hostile-{item}"
    last = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"][-1]
    nb.cells.insert(last, hostile)
    nb.metadata["proctor"] = {"exercise": EXERCISE, "hostile": item}
    return nbformat.writes(nb) + "\n"


def target(item: str) -> Path:
    return HERE / item / "notebooks" / f"{EXERCISE}.ipynb"


def stale() -> list[str]:
    return [i for i in items() if not target(i).is_file() or target(i).read_text() != render(i)]


def main(argv: list[str]) -> int:
    if "--check" in argv:
        bad = stale()
        for i in bad:
            print(f"tests/hostile/{i}: notebook is stale; run python tests/hostile/build.py")
        return 1 if bad else 0
    for i in items():
        path = target(i)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(i))
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
