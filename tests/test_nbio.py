"""proctor.nbio: nbformat without jsonschema's IRI grammar, and nothing else lost."""

import subprocess
import sys

import pytest

PROBE = """
import sys
from proctor.nbio import nbformat
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
nbformat.validate(nbformat.reads(nbformat.writes(nb), as_version=4))
print("grammar" if "rfc3987_syntax" in sys.modules else "no grammar")
"""


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_notebooks_read_and_validate_without_the_grammar():
    assert _run(PROBE) == "no grammar"


def test_the_grammar_stays_importable_afterwards():
    pytest.importorskip("rfc3987_syntax")
    out = _run("from proctor.nbio import nbformat\nimport rfc3987_syntax\n"
               "print(rfc3987_syntax.is_valid_syntax('iri', 'http://example.com/a'))")
    assert out == "True"


def test_an_earlier_jsonschema_import_is_left_as_it_was():
    out = _run("import jsonschema\nfrom proctor.nbio import nbformat\nimport sys\n"
               "print(sys.modules.get('jsonschema') is not None, nbformat.__name__)")
    assert out == "True nbformat"
