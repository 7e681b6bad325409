"""Calibration ranges: where an exercise's reference solutions fell on each budget check.

``reference_solutions/<id>/calibration.toml`` (hidden material, never in a bundle) holds,
per budget check, the range of the measured value over the accepted solutions and over the
rejected solutions that must fail that check, in the budget's unit, with when and on
which CPU it was measured. ``proctor calibrate ID --record-ranges`` writes it (an author's
explicit act, committed like any other file); grading reads it and report pages draw the
ranges faintly on the check's budget bar.

    schema = "proctor.calibration/1"
    exercise = "box_ops"
    recorded = "2030-03-17T17:46:40+00:00"
    cpu = "AMD EPYC 7B13"
    proctor = "0.1.0"
    repeat = 1

    [checks.nms_latency]
    kind = "latency"
    unit = "x reference"
    max = 3.0
    accepted = [0.97, 1.04]                  # min and max over the accepted solutions' runs
    accepted_solutions = ["accepted/reference"]
    rejected = [11.8, 12.6]                  # ... over the rejected ones that must fail it
    rejected_solutions = ["rejected/python_loop"]
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any

from proctor.library.spec import SpecError

RANGES_FILE = "calibration.toml"
SCHEMA = "proctor.calibration/1"
GROUPS = ("accepted", "rejected")
#: what a report's check carries of its entry (``CheckResult.calibration``)
REPORTED = ("accepted", "rejected", "unit", "recorded", "cpu")
HEADER = """\
# Where calibration's solutions fell on each budget check of {id}: the range (min, max) of the
# measured value over the accepted solutions, and over the rejected solutions that must fail
# that check, in the budget's unit. Report pages draw them faintly on the budget bars.
# Written by `proctor calibrate {id} --record-ranges`; read when grading. Hidden material:
# never in a candidate bundle. Values depend on the machine: see cpu and recorded.
"""


def ranges_path(solutions_dir: Path) -> Path:
    return Path(solutions_dir) / RANGES_FILE


def _toml(value: Any) -> str:
    """A TOML value: strings as JSON strings (valid TOML basic strings), numbers to five
    significant digits, lists of either."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if isinstance(value, int):
            return str(value)
        return repr(float(f"{value:.5g}")) if math.isfinite(value) else \
            ("nan" if value != value else "inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def dumps(exercise_id: str, meta: dict[str, Any], checks: dict[str, dict[str, Any]]) -> str:
    """The file's text: ``meta`` (recorded, cpu, proctor, repeat, ...) and per check its
    kind, unit, bound, ``accepted``/``rejected`` ranges and the solutions behind them."""
    lines = [HEADER.format(id=exercise_id).rstrip("\n"), f"schema = {_toml(SCHEMA)}",
             f"exercise = {_toml(exercise_id)}"]
    lines += [f"{k} = {_toml(v)}" for k, v in meta.items() if v is not None]
    for cid in sorted(checks):
        lines += ["", f"[checks.{cid}]"]
        lines += [f"{k} = {_toml(v)}" for k, v in checks[cid].items() if v is not None]
    return "\n".join(lines) + "\n"


def write(solutions_dir: Path, exercise_id: str, meta: dict[str, Any],
          checks: dict[str, dict[str, Any]]) -> Path:
    path = ranges_path(solutions_dir)
    text = dumps(exercise_id, meta, checks)
    read_text(text, path)  # never write what this module would refuse to read
    path.write_text(text)
    return path


def _low_high(v: Any) -> list[float] | None:
    ok = (isinstance(v, list) and len(v) == 2
          and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
                  for x in v) and v[0] <= v[1])
    return [float(v[0]), float(v[1])] if ok else None


def read_text(text: str, path: Path) -> dict[str, dict[str, Any]]:
    """Check id -> its entry: ``accepted``/``rejected`` as ``[lo, hi]`` (absent when not
    measured), ``kind``, ``unit``, and the file's ``recorded`` and ``cpu``. SpecError naming
    the file and the field when it is malformed."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: {exc}") from None
    if raw.get("schema") != SCHEMA:
        raise SpecError(f"{path}: field 'schema': expected {SCHEMA!r}")
    checks = raw.get("checks", {})
    if not isinstance(checks, dict):
        raise SpecError(f"{path}: field 'checks': expected a table per check")
    out: dict[str, dict[str, Any]] = {}
    for cid, entry in checks.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("unit", ""), str) \
                or not isinstance(entry.get("kind"), str):
            raise SpecError(f"{path}: field 'checks.{cid}': needs kind and unit (strings)")
        item: dict[str, Any] = {"kind": entry["kind"], "unit": entry.get("unit", ""),
                                "recorded": str(raw.get("recorded", "")),
                                "cpu": str(raw.get("cpu", ""))}
        for group in GROUPS:
            if group in entry:
                pair = _low_high(entry[group])
                if pair is None:
                    raise SpecError(f"{path}: field 'checks.{cid}.{group}': expected "
                                    "[low, high], two finite numbers, low <= high")
                item[group] = pair
        out[str(cid)] = item
    return out


def read(solutions_dir: Path) -> dict[str, dict[str, Any]]:
    """The exercise's recorded ranges; empty when it has no file."""
    path = ranges_path(solutions_dir)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read: {exc}") from None
    return read_text(text, path)


def for_check(ranges: dict[str, dict[str, Any]], check_id: str, kind: str,
              budget: dict[str, Any]) -> dict[str, Any]:
    """What a report's check carries: its entry, when one was recorded for this check, of
    its kind, in its budget's unit (a range in another unit would be drawn wrongly)."""
    entry = ranges.get(check_id)
    if not entry or entry["kind"] != kind or entry["unit"] != str(budget.get("unit", "")):
        return {}
    if not any(g in entry for g in GROUPS):
        return {}
    return {k: entry[k] for k in REPORTED if k in entry}
