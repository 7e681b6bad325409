"""Compare two grading runs' report.json files, ignoring what timing decides.

    python scripts/report_diff.py OLD_OUT NEW_OUT [--timed-kinds latency,memory]

OLD_OUT and NEW_OUT are ``proctor grade --out`` folders; every ``<name>/report.json`` in
either is compared path by path (values, key order, list lengths). Ignored, and counted:
durations (``seconds``, ``environment.grading_seconds``), the rest of ``environment``, the
timestamps ``submission.received`` (the submission's mtime) and ``submission.graded``, and
the ``measured`` values of checks of a timed kind. A timed check's ``message`` states its
measurement (and, for latency, which rule decided: an interval within the budget, or blocks
far under it early), so it is compared with its numbers masked and a difference is listed as
timing-decided wording; its ``status``, points and everything else must be equal.

Exit status 0 when nothing but timing differs, 1 otherwise. Used for the behaviour-unchanged
proof of a refactor: grade ``samples/*`` with each checkout's own venv, then compare.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

Diff = tuple[str, Any, Any]


def walk(a: Any, b: Any, path: str, out: list[Diff]) -> None:
    if type(a) is not type(b):
        out.append((path, a, b))
    elif isinstance(a, dict):
        for k in [*a, *(k for k in b if k not in a)]:
            if k not in a or k not in b:
                out.append((f"{path}.{k}", a.get(k, "<absent>"), b.get(k, "<absent>")))
            else:
                walk(a[k], b[k], f"{path}.{k}", out)
        if [k for k in a if k in b] != [k for k in b if k in a]:
            out.append((f"{path} (key order)", list(a), list(b)))
    elif isinstance(a, list):
        if len(a) != len(b):
            out.append((f"{path} (length)", len(a), len(b)))
        for i, (x, y) in enumerate(zip(a, b, strict=False)):  # lengths: reported above
            tag = x.get("id", i) if isinstance(x, dict) else i
            walk(x, y, f"{path}[{tag}]", out)
    elif a != b:
        out.append((path, a, b))


_CHECK = re.compile(r"^\.exercises\[(\w+)\]\.checks\[(\w+)\]\.(\w+)")
_NUMBER = re.compile(r"\d+(\.\d+)?(e[-+]?\d+)?")


def classify(a: dict, b: dict, timed: set[str]) -> tuple[Counter, list[Diff], list[Diff]]:
    """(ignored counts by reason, timing-decided wording, other differences)."""
    raw: list[Diff] = []
    walk(a, b, "", raw)
    kinds = {(e["id"], c["id"]): c["kind"] for e in a.get("exercises", [])
             for c in e.get("checks", [])}
    ignored: Counter = Counter()
    wording: list[Diff] = []
    other: list[Diff] = []
    for path, x, y in raw:
        m = _CHECK.match(path)
        kind = kinds.get((m[1], m[2])) if m else None
        field = m[3] if m else None
        if path.startswith(".environment"):
            ignored["environment"] += 1
        elif path in (".submission.received", ".submission.graded"):
            ignored["timestamps"] += 1  # the file's mtime, the grading time
        elif path.endswith(".seconds") and field != "measured":
            ignored["durations (seconds)"] += 1
        elif kind in timed and field == "measured":
            ignored[f"{kind} measured values"] += 1
        elif kind in timed and field == "message" and isinstance(x, str) and isinstance(y, str):
            if _NUMBER.sub("#", x) == _NUMBER.sub("#", y):
                ignored[f"{kind} message numbers"] += 1
            else:
                wording.append((path, x, y))
        else:
            other.append((path, x, y))
    return ignored, wording, other


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path)
    p.add_argument("--timed-kinds", default="latency,memory")
    args = p.parse_args(argv)
    timed = set(args.timed_kinds.split(","))
    names = sorted({q.parent.name for d in (args.old, args.new) for q in d.glob("*/report.json")})
    bad = 0
    for name in names:
        files = [d / name / "report.json" for d in (args.old, args.new)]
        if not all(f.is_file() for f in files):
            print(f"{name}: only in one run")
            bad += 1
            continue
        a, b = (json.loads(f.read_text()) for f in files)
        ignored, wording, other = classify(a, b, timed)
        checks = sum(len(e.get("checks", [])) for e in a.get("exercises", []))
        print(f"{name}: {checks} checks; ignored {dict(ignored)}; "
              f"{len(wording)} timed message(s) worded differently; {len(other)} other")
        for path, x, y in wording + other:
            print(f"  {path}\n    old: {json.dumps(x)[:240]}\n    new: {json.dumps(y)[:240]}")
        bad += len(other)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
