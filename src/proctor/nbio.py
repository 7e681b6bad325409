"""``nbformat``, imported without the second that an unused grammar costs.

jsonschema's format checker imports ``rfc3987_syntax`` when it is installed (jupyter's
``jsonschema[format-nongpl]`` pulls it in), and that package compiles a lark grammar at
import: 1.1 s of every ``proctor grade`` on a 2-core machine, more than the harness's whole
cost per exercise.  Notebook schemas use no IRI formats, so while ``nbformat`` (and with it
jsonschema) is first imported here the package is hidden; anything importing it later gets
it as usual.
"""

from __future__ import annotations

import sys

_GRAMMAR = "rfc3987_syntax"

if "jsonschema" not in sys.modules and _GRAMMAR not in sys.modules:
    sys.modules[_GRAMMAR] = None  # type: ignore[assignment]  # import fails: skipped
    try:
        import nbformat
    finally:
        del sys.modules[_GRAMMAR]
else:
    import nbformat

__all__ = ["nbformat"]
