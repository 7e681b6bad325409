"""Candidate notebooks as data: IPython syntax does nothing, failing cells are recorded,
broken notebooks are a NotebookError naming the file."""

from __future__ import annotations

import json

import nbformat
import pytest
from conftest import notebook_json, write, write_notebook
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

from proctor.submission import notebook
from proctor.submission.notebook import (
    NotebookError,
    cells_from_file,
    code_cells,
    read_notebook,
    to_python,
)

PEEK = "def peek(expr):\n    return eval(expr)"  # appended helper cell: inspect the namespace


def test_magics_do_nothing_and_the_rest_of_the_cell_runs(tmp_path, worker):
    marker = tmp_path / "marker"
    cells = [
        "%matplotlib inline\nx = 1",
        f"!touch {marker}\ny = 2",
        f"files = !touch {marker}; ls /\nz = 3",
        "%%time\nw = 4",
        "%%capture\nv = 5",
        f"%%bash\ntouch {marker}\n",
        f"%%sh\ntouch {marker}\n",
        "a = 1\n%time b = 2\n%pip install requests\nc = 3",
        "%load_ext autoreload\n%autoreload 2\nd = x + y + z + w + v + a + c",
    ]
    path = write_notebook(tmp_path / "nb.ipynb", cells)
    client = worker(code_cells(read_notebook(path)) + [PEEK])
    assert [r["error"] for r in client.load_replies] == [None] * (len(cells) + 1)

    def value(expr):
        return client.request({"op": "call", "target": "peek", "args": [expr]}, 10)

    assert value("d") == 1 + 2 + 3 + 4 + 5 + 1 + 3
    assert value("files") == []
    assert value("'b' in dir()") is False  # %time's statement is a magic: it does nothing
    assert not marker.exists(), "a shell line or %%bash body ran"


def test_a_failing_cell_is_recorded_and_later_cells_run(tmp_path, worker):
    cells = [
        "import math\nfirst = 1",
        "raise ValueError('boom in cell 2')",
        "def broken(:\n    pass",            # a syntax error is a failing cell too
        "import sys\nsys.exit(3)",           # so is exit()
        "last = first + 1",
    ]
    path = write_notebook(tmp_path / "nb.ipynb", cells)
    client = worker(code_cells(read_notebook(path)) + [PEEK])
    errors = {r["cell"]: r["error"] for r in client.load_replies}
    assert sorted(errors) == [0, 1, 2, 3, 4, 5]
    assert errors[0] is None and errors[4] is None
    assert errors[1]["type"] == "ValueError" and "boom in cell 2" in errors[1]["message"]
    assert "Exception" in errors[1]["mro"] and "<cell 2>" in errors[1]["traceback"]
    assert errors[2]["type"] == "SyntaxError"
    assert errors[3]["type"] == "SystemExit"
    assert client.request({"op": "call", "target": "peek", "args": ["last"]}, 10) == 2


def test_to_python_rewrites_ipython_syntax_only():
    assert to_python("x = 1\n") == "x = 1\n"
    assert "get_ipython()" in to_python("%time x = 1")
    assert "get_ipython()" in to_python("!ls")
    assert "get_ipython()" in to_python("%%bash\nls\n")
    # invalid Python is left for the worker to report
    assert "def broken(" in to_python("def broken(:\n")


def test_code_cells_skip_markdown_and_raw_cells():
    nb = new_notebook(cells=[new_markdown_cell("# hi\n%not code"), new_code_cell("a = 1"),
                             new_raw_cell("raw"), new_code_cell("b = 2")])
    assert code_cells(nb) == ["a = 1\n", "b = 2\n"]


def test_cells_from_file_py_and_ipynb(tmp_path):
    py = write(tmp_path / "s.py", "def f():\n    return 1\n")
    assert cells_from_file(py) == ["def f():\n    return 1\n"]
    nb = write_notebook(tmp_path / "s.ipynb", ["a = 1", "b = 2"])
    assert cells_from_file(nb) == ["a = 1\n", "b = 2\n"]


# ------------------------------------------------------------------ broken notebooks


def _raises_naming_file(path, **kw):
    with pytest.raises(NotebookError) as info:
        read_notebook(path, **kw)
    assert path.name in str(info.value)
    return str(info.value)


def test_invalid_json(tmp_path):
    path = write(tmp_path / "broken_json.ipynb", '{"cells": [')
    _raises_naming_file(path)


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.ipynb"
    path.write_bytes(b'{"cells": "\xff\xfe"}')
    _raises_naming_file(path)


@pytest.mark.parametrize("doc", [
    {"cells": "nope", "metadata": {}, "nbformat": 4, "nbformat_minor": 5},
    {"cells": [{"cell_type": "code", "source": 1}], "metadata": {}, "nbformat": 4,
     "nbformat_minor": 5},
    {"hello": "world"},
    [1, 2, 3],
    {"cells": [], "metadata": {}, "nbformat": 99, "nbformat_minor": 0},
])
def test_invalid_nbformat(tmp_path, doc):
    path = write(tmp_path / "bad_format.ipynb", json.dumps(doc))
    _raises_naming_file(path)


def test_oversize_notebook(tmp_path):
    path = write(tmp_path / "huge.ipynb", notebook_json(["x = '" + "a" * 5000 + "'"]))
    msg = _raises_naming_file(path, max_bytes=1000)
    assert "exceeds" in msg
    assert read_notebook(path)  # under the default cap it is fine


def test_default_size_cap_is_enforced_without_parsing(tmp_path, monkeypatch):
    path = tmp_path / "big.ipynb"
    with open(path, "wb") as f:  # sparse: large on paper, cheap on disk
        f.truncate(notebook.MAX_NOTEBOOK_BYTES + 1)
    monkeypatch.setattr(nbformat, "reads", lambda *a, **k: pytest.fail("parsed anyway"))
    assert "exceeds" in _raises_naming_file(path)


def test_too_many_cells(tmp_path, monkeypatch):
    monkeypatch.setattr(notebook, "MAX_CELLS", 3)
    path = write_notebook(tmp_path / "many.ipynb", ["a = 1"] * 4)
    assert "cells" in _raises_naming_file(path)
