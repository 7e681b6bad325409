"""A budget check drawn as a bar: the measured value and its interval against the
budget line, in the budget's unit, with calibration's accepted/rejected ranges shown
faintly when the check carries them.

``gauge`` returns positions in percent of the bar's width (plain HTML, no script);
``None`` when the check has no single bound or no value that the budget judges.
"""

from __future__ import annotations

import math
import re
from typing import Any

from proctor.kinds import lookup
from proctor.report.numbers import _is_number, number, with_unit
from proctor.units import BYTE_UNITS

LOG_SPAN = 8.0  # a ratio-like range wider than this is drawn on a log scale
#: calibration's ranges: who they are, and how each is drawn (named, so that the page reads
#: without colour)
RANGES = {"accepted": ("calibration's accepted solutions", "plain band"),
          "rejected": ("calibration's rejected solutions that must fail this check",
                       "hatched band")}


def judged_value(kind: str, measured: dict[str, Any],
                 budget: dict[str, Any]) -> tuple[float | None, list[float] | None]:
    """The measured quantity the budget judges, and its interval if measured, in the
    budget's unit: ``value`` (any grader may name it so), else a latency/memory
    ``ratio`` for a ratio budget, else what the check's kind measured in bytes (peak
    memory, an artifact's bytes) for a byte budget."""
    unit = str(budget.get("unit", "")).strip().lower()
    interval = measured.get("interval")
    interval = ([float(x) for x in interval] if isinstance(interval, (list, tuple))
                and len(interval) == 2 and all(_is_number(x) for x in interval) else None)
    if _is_number(measured.get("value")):
        return float(measured["value"]), interval
    if _is_ratio(unit) and _is_number(measured.get("ratio")):
        return float(measured["ratio"]), interval
    if unit in BYTE_UNITS:
        in_bytes = lookup(kind).bytes_measured(measured)
        if in_bytes is not None:
            return in_bytes / BYTE_UNITS[unit], None
    key = _key_for_unit(unit, measured)
    if key is None:
        return None, None
    value = float(measured[key])
    if interval is None:  # e.g. drop_points with drop_interval_95
        interval = next(([float(x) for x in v] for k, v in measured.items()
                         if "interval" in k and isinstance(v, (list, tuple)) and len(v) == 2
                         and all(_is_number(x) for x in v) and min(v) <= value <= max(v)),
                        None)
    return value, interval


def _key_for_unit(unit: str, measured: dict[str, Any]) -> str | None:
    """The measured key named after the budget's unit: ``id_switches_per_sequence`` for
    "ID switches per sequence", ``mota_gap`` for "MOTA below the ceiling", ``drop_points``
    for "points below fp32", ``accuracy_px`` for "px" (the shortest such key)."""
    words = re.findall(r"[a-z0-9]+", unit)
    if not words:
        return None
    numeric = [k for k, v in measured.items() if _is_number(v)]
    names = ["_".join(words)]
    if "below" in words:
        names += [f"{words[0]}_gap", f"drop_{words[0]}", f"{words[0]}_drop"]
    for name in names:
        if name in numeric:
            return name
    ends = sorted((k for k in numeric if k.endswith("_" + "_".join(words))), key=len)
    return ends[0] if ends and len(words) == 1 else None


def gauge(kind: str, status: str, measured: dict[str, Any], budget: dict[str, Any],
          calibration: dict[str, Any] | None = None) -> dict[str, Any] | None:
    bound = next((b for b in ("max", "min") if _is_number(budget.get(b))), None)
    if bound is None:
        return None
    limit = float(budget[bound])
    value, interval = judged_value(kind, measured, budget)
    if value is None or not math.isfinite(value):
        return None
    unit = str(budget.get("unit", ""))
    calibration = calibration or {}
    if str(calibration.get("unit", unit)) != unit:  # recorded in another unit: not drawn
        calibration = {}
    ranges = {k: [float(x) for x in v] for k, v in calibration.items()
              if k in RANGES and isinstance(v, (list, tuple))
              and len(v) == 2 and all(_is_number(x) for x in v)}
    points = [limit, value, *(interval or []), *(x for r in ranges.values() for x in r)]
    scale = _Scale(points, log=_is_ratio(unit.lower()))
    out: dict[str, Any] = {
        "limit": scale.at(limit), "value": scale.at(value), "log": scale.log,
        "interval": None, "ranges": [],
        "over": value > limit if bound == "max" else value < limit,
        "ticks": [(scale.at(t), _tick(t, unit)) for t in scale.ticks()],
    }
    if interval:
        lo, hi = scale.at(min(interval)), scale.at(max(interval))
        out["interval"] = (lo, round(max(hi - lo, 0.6), 2))
    for name, (a, b) in ranges.items():
        lo, hi = scale.at(min(a, b)), scale.at(max(a, b))
        who, look = RANGES[name]
        out["ranges"].append({"kind": name, "left": lo, "width": round(max(hi - lo, 0.8), 2),
                              "look": look,
                              "text": f"{who} measured {_span(min(a, b), max(a, b), unit)}"})
    if ranges:
        when = str(calibration.get("recorded", ""))[:10]
        cpu = str(calibration.get("cpu", ""))
        out["calibration_note"] = ("ranges recorded by proctor calibrate"
                                   + (f" on {when}" if when else "")
                                   + (f", CPU {cpu}" if cpu else ""))
    sign = "≤" if bound == "max" else "≥"
    iv = (f" (interval {number(interval[0])}–{number(interval[1])})" if interval else "")
    margin = value / limit if limit else math.inf
    verdict = ""
    if bound == "max" and limit > 0 and value > limit:
        verdict = f": {number(margin)}× the budget"
    elif bound == "max" and limit > 0:
        verdict = f": {number(100 * margin)} % of the budget"
    out["text"] = (f"measured {with_unit(value, unit)}{iv} against a budget of {sign} "
                   f"{with_unit(limit, unit)}{verdict}")
    out["short"] = f"{_tick(value, unit)} vs {sign} {_tick(limit, unit)}"
    return out


class _Scale:
    """Linear from 0, or logarithmic when a ratio spans more than ``LOG_SPAN``."""

    def __init__(self, points: list[float], log: bool) -> None:
        pos = [p for p in points if p > 0]
        self.log = bool(log and pos and max(pos) / min(pos) > LOG_SPAN)
        if self.log:
            self.lo, self.hi = math.log10(min(pos) / 1.4), math.log10(max(pos) * 1.4)
        else:
            self.lo = min(0.0, *points)
            self.hi = max(points) * 1.15 if max(points) > 0 else 1.0
        if self.hi <= self.lo:
            self.hi = self.lo + 1.0

    def at(self, x: float) -> float:
        if self.log:
            x = math.log10(x) if x > 0 else self.lo
        return round(min(100.0, max(0.0, 100 * (x - self.lo) / (self.hi - self.lo))), 2)

    def ticks(self) -> list[float]:
        if self.log:
            out = [10.0 ** e * m for e in range(math.floor(self.lo), math.ceil(self.hi) + 1)
                   for m in (1, 3)]
            return [t for t in out if self.lo <= math.log10(t) <= self.hi]
        step = _nice((self.hi - self.lo) / 4)
        first = math.ceil(self.lo / step) * step
        return [round(first + i * step, 10) for i in range(6) if first + i * step <= self.hi]


def _span(lo: float, hi: float, unit: str) -> str:
    """``0.97–1.04× the reference``, ``1 MiB – 1.2 MiB``, or one value when lo == hi."""
    if number(lo) == number(hi):
        return with_unit(lo, unit)
    if unit.strip().lower() == "bytes":
        return f"{with_unit(lo, unit)} – {with_unit(hi, unit)}"
    return f"{number(lo)}–{with_unit(hi, unit)}"


def _nice(x: float) -> float:
    exp = math.floor(math.log10(x))
    for m in (1, 2, 2.5, 5, 10):
        if m * 10 ** exp >= x:
            return m * 10 ** exp
    return 10 ** (exp + 1)


def _tick(v: float, unit: str) -> str:
    unit = unit.strip()
    if _is_ratio(unit.lower()):
        return f"{number(v)}×"
    short = unit if len(unit) <= 6 else ""
    return f"{number(v)} {short}".strip()


def _is_ratio(unit: str) -> bool:
    return unit.startswith("x ") or unit in ("x", "×")
