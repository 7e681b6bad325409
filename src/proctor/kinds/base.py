"""The check-kind interface and its registry: one small class per kind of check.

A kind says how the engine treats the checks of that kind: whether an exercise may declare a
budget of it (``budgeted``), what ``ctx.<name>(...)`` does inside a check (``measure``; the
checks of a kind without one compute their ``Outcome`` themselves), how the report labels
what it measured (``labels``), which measured value a budget in bytes judges
(``bytes_measured``), which values calibration prints as margins (``margin_keys``) and
whether a byte budget of it limits the submitted files (``limits_files``).

A new kind is one module in this package (a ``Kind`` subclass) and one ``register`` line in
its ``__init__``: the spec, ``@check``, ``Context``, the report, calibration and the submit
tool read the registry. tests/test_check_kinds.py is the suite every kind passes.

This package sits below library/ (the spec validates budget kinds against it), so at module
level it imports leaves only; a kind's ``measure`` imports what it drives (proctor.measure)
when a check calls it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from proctor.verdicts import Outcome

if TYPE_CHECKING:
    from proctor.checks.context import Context

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class NoReference(RuntimeError):
    """A measurement beside the reference solution was asked for where there is none
    (public checks, and ``proctor check`` on the candidate's side)."""


class Kind:
    """One kind of check. Subclasses set the class attributes and override what differs."""

    #: what ``@check(kind=...)``, ``[budgets.X] kind = ...`` and report.json call it
    name: ClassVar[str] = ""
    #: an exercise may declare budgets of this kind (correctness is the one that may not)
    budgeted: ClassVar[bool] = True
    #: ``measure`` compares with the reference solution (hidden checks only)
    needs_reference: ClassVar[bool] = False
    #: measured keys this kind writes -> (label, unit) as the report shows them
    labels: ClassVar[Mapping[str, tuple[str, str]]] = {}
    #: measured keys calibration prints as the margin to the budget (the first key any run
    #: has wins); empty: calibration prints no margins for checks of this kind
    margin_keys: ClassVar[tuple[str, ...]] = ()
    #: a budget of this kind in bytes limits each submitted artifact file (``proctor submit``
    #: warns before a candidate hands in a bigger one)
    limits_files: ClassVar[bool] = False

    def measure(self, ctx: Context, *args: Any, **kwargs: Any) -> Outcome:
        """What ``ctx.<name>(...)`` does in a check; ``Context`` raises ``NoReference``
        first when ``needs_reference`` and there is no reference."""
        raise NotImplementedError(f"checks of kind {self.name!r} compute their own Outcome")

    @property
    def measures(self) -> bool:
        return type(self).measure is not Kind.measure

    def bytes_measured(self, measured: Mapping[str, Any]) -> float | None:
        """The measured quantity in bytes, for a budget whose unit is a byte unit."""
        return _number(measured.get("bytes"))

    def __repr__(self) -> str:
        return f"<check kind {self.name!r}>"


_REGISTRY: dict[str, Kind] = {}
_UNKNOWN = Kind()  # how a report from another engine's kind is read: no special case


def register(kind: Kind) -> Kind:
    """Add a kind; a name is taken once (re-registering the same object is a no-op)."""
    if not _NAME.match(kind.name or ""):
        raise ValueError(f"a check kind needs a lower-case identifier as its name, "
                         f"not {kind.name!r}")
    held = _REGISTRY.get(kind.name)
    if held is not None and held is not kind:
        raise ValueError(f"check kind {kind.name!r} is already registered ({held!r})")
    _REGISTRY[kind.name] = kind
    return kind


def get_kind(name: str) -> Kind:
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown check kind {name!r}; use one of {kind_names()}") from None


def lookup(name: str) -> Kind:
    """The registered kind, or a plain ``Kind`` for a name this engine does not know (a
    report.json written by another version, read by the gradebook)."""
    return _REGISTRY.get(name, _UNKNOWN)


def kind_names() -> tuple[str, ...]:
    """Every registered kind, in registration order."""
    return tuple(_REGISTRY)


def budget_kind_names() -> tuple[str, ...]:
    """The kinds an exercise may declare budgets of."""
    return tuple(n for n, k in _REGISTRY.items() if k.budgeted)


def measured_labels() -> dict[str, tuple[str, str]]:
    """Every kind's measured-key labels, merged (the first kind to label a key wins)."""
    out: dict[str, tuple[str, str]] = {}
    for kind in _REGISTRY.values():
        for key, label in kind.labels.items():
            out.setdefault(key, label)
    return out


def _number(v: Any) -> float | None:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    return float(v) if ok else None
