"""Numbers as an interviewer reads them: meaningful digits, units, labels.

``0.1 + 0.2`` prints as ``0.3``; ``2097152`` as ``2,097,152``; a measured dict becomes
labelled rows with units (``candidate per call: 1.25 ms``), never ``key: value`` dumps.
Keys this module does not know are shown with their name made readable and a unit
guessed from a suffix (``_ms``, ``_s``, ``_mib``, ``_bytes``, ``_px``).
"""

from __future__ import annotations

import math
from typing import Any

from proctor.kinds import measured_labels

#: Measured keys any measurement may write: (label, unit); each check kind adds its own
#: (proctor.kinds, ``Kind.labels``). A unit of "%" shows a 0..1 share as a percentage.
LABELS: dict[str, tuple[str, str]] = {
    "ratio": ("ratio to the reference", "×"),
    "interval": ("confidence interval", "×"),
    "confidence": ("confidence", "%"),
    "seconds": ("time spent measuring", "s"),
}

_SUFFIX_UNITS = (("_ms", "ms"), ("_s", "s"), ("_mib", "MiB"), ("_bytes", "bytes"),
                 ("_px", "px"), ("_pct", "%"))
MAX_LIST = 8


def fmt(value: Any, unit: str = "") -> str:
    """One value, formatted to meaningful digits, with its unit."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        if unit == "%":
            return f"{number(100 * value)} %"
        if unit == "bytes":
            return size(value)
        text = number(value)
        if not unit:
            return text
        return f"{text}{unit}" if unit == "×" else f"{text} {unit}"
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and all(_is_number(v) for v in value):
            return f"{fmt(value[0], unit)} – {fmt(value[1], unit)}"
        shown = ", ".join(fmt(v, unit) for v in value[:MAX_LIST])
        return shown + (f", … ({len(value)} in all)" if len(value) > MAX_LIST else "")
    if isinstance(value, dict):
        return "; ".join(f"{readable(k)} {fmt(v)}" for k, v in value.items())
    return str(value)


def number(v: float | int) -> str:
    """3 significant digits (``0.30000000000000004`` -> ``0.3``), thousands separated
    (``2,097,152``), scientific only for magnitudes under 0.001."""
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) < 1e-3:
        return f"{v:.2g}"
    digits = max(0, 2 - math.floor(math.log10(abs(v))))
    text = f"{round(v, digits):.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def size(n: float) -> str:
    """Bytes as read by a person: ``2,097,152 bytes (2 MiB)``."""
    n = float(n)
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(n) >= scale:
            return f"{number(int(n)) if n.is_integer() else number(n)} bytes " \
                   f"({number(n / scale)} {unit})"
    return f"{number(int(n)) if n.is_integer() else number(n)} bytes"


def readable(key: str) -> str:
    return key.replace("_", " ").strip()


def label_and_unit(key: str) -> tuple[str, str]:
    if key in LABELS:
        return LABELS[key]
    by_kind = measured_labels()
    if key in by_kind:
        return by_kind[key]
    low = key.lower()
    for suffix, unit in _SUFFIX_UNITS:
        if low.endswith(suffix):
            return readable(key[: -len(suffix)]), unit
    return readable(key), ""


def measured_rows(measured: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Labelled rows of a check's measured details; nested dicts are flattened
    (``case 1 · ratio``), so no raw dict ever reaches the page."""
    rows: list[tuple[str, str]] = []
    for key, value in measured.items():
        label, unit = label_and_unit(str(key))
        if key == "interval" and "confidence" in measured:
            label = f"{number(100 * measured['confidence'])} % interval"
        if isinstance(value, dict):
            rows += measured_rows(value, f"{prefix}{readable(str(key))} · ")
            continue
        rows.append((prefix + label, fmt(value, unit)))
    return rows


def budget_text(budget: dict[str, Any]) -> str:
    """``≤ 3× the reference`` / ``≥ 0.85 AP@0.5`` / ``max px 1.5, min recall 0.9``."""
    if not budget:
        return ""
    unit = str(budget.get("unit", ""))
    for bound, sign in (("max", "≤"), ("min", "≥")):
        if _is_number(budget.get(bound)):
            return f"{sign} {with_unit(budget[bound], unit)}"
    parts = [f"{readable(k)} {fmt(v)}" for k, v in budget.items()
             if k not in ("kind", "unit", "description")]
    return ", ".join(parts)


def with_unit(value: float, unit: str) -> str:
    """A budget-unit value: ``3× the reference`` for "x reference", else ``0.85 AP@0.5``."""
    unit = unit.strip()
    if unit.lower().startswith("x "):
        return f"{number(value)}× {unit[2:].strip()}".replace("× reference", "× the reference")
    if unit.lower() == "bytes":
        return size(value)
    return f"{number(value)} {unit}".strip()


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
