"""Check kinds: correctness, latency, memory, size, accuracy, one module each.

A ``Kind`` says how the engine treats a kind of check (its budget, what ``ctx.<kind>(...)``
measures, how the report and calibration read it). A new kind is one module here and one
``register`` line below; tests/test_check_kinds.py is the suite every kind passes.
"""

from proctor.kinds.accuracy import Accuracy
from proctor.kinds.base import (
    Kind,
    NoReference,
    budget_kind_names,
    get_kind,
    kind_names,
    lookup,
    measured_labels,
    register,
)
from proctor.kinds.correctness import Correctness
from proctor.kinds.latency import Latency
from proctor.kinds.memory import Memory
from proctor.kinds.size import Size

register(Correctness())
register(Latency())
register(Memory())
register(Size())
register(Accuracy())

__all__ = [
    "Kind", "NoReference", "register", "get_kind", "lookup", "kind_names",
    "budget_kind_names", "measured_labels",
]
