"""Reading candidate notebooks as data: validated, size-capped, reduced to code.

IPython syntax (``%magic``, ``!shell``, ``x = !cmd``, ``%%cell``) is rewritten on
the trusted side into calls on a stub ``get_ipython()`` that the worker provides,
so the worker only ever executes plain Python.
"""

from __future__ import annotations

import json
from pathlib import Path

from IPython.core.inputtransformer2 import TransformerManager

from proctor.nbio import nbformat

MAX_NOTEBOOK_BYTES = 20 << 20
MAX_CELLS = 2000


class NotebookError(ValueError):
    """A notebook that cannot be read as a notebook."""


def read_notebook(path: Path, max_bytes: int = MAX_NOTEBOOK_BYTES) -> nbformat.NotebookNode:
    size = path.stat().st_size
    if size > max_bytes:
        raise NotebookError(f"{path.name}: {size} bytes exceeds the {max_bytes}-byte cap")
    try:
        nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        nbformat.validate(nb)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotebookError(f"{path.name}: not a JSON notebook ({exc})") from None
    except Exception as exc:  # nbformat raises several unrelated types
        raise NotebookError(f"{path.name}: invalid notebook ({str(exc).splitlines()[0]})") from None
    if len(nb.cells) > MAX_CELLS:
        raise NotebookError(f"{path.name}: {len(nb.cells)} cells exceeds the cap of {MAX_CELLS}")
    return nb


def code_cells(nb: nbformat.NotebookNode) -> list[str]:
    """The notebook's code cells, in order, as plain Python source."""
    return [to_python(c.source) for c in nb.cells if c.cell_type == "code"]


def to_python(source: str) -> str:
    """Rewrite IPython-only syntax; leave invalid Python for the worker to report."""
    try:
        return TransformerManager().transform_cell(source)
    except Exception:
        return source


def cells_from_file(path: Path) -> list[str]:
    """A solution file as cells: a notebook's code cells, or a .py file as one cell."""
    if path.suffix == ".ipynb":
        return code_cells(read_notebook(path))
    return [path.read_text(encoding="utf-8")]
