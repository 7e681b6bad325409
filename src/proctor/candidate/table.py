"""The table ``check()`` and ``proctor check`` print: one line per public check."""

from __future__ import annotations

import textwrap
from typing import Any

from proctor.report.model import CheckResult


def _num(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, float) for x in v):
        return f"[{v[0]:.3g}, {v[1]:.3g}]"
    return str(v)


def measured_vs_budget(measured: dict, budget: dict) -> str:
    """``measured ratio=1.8 vs budget max 3 x reference`` (public checks only)."""
    if not measured and not budget:
        return ""
    m = ", ".join(f"{k}={_num(v)}" for k, v in measured.items())
    bound = ""
    if budget:
        op = "max" if "max" in budget else "min" if "min" in budget else ""
        bound = f"{op} {_num(budget.get(op, ''))} {budget.get('unit', '')}".strip()
    return f"measured {m or '?'} vs budget {bound or '?'}"


def format_table(exercise_id: str, results: list[CheckResult], notes: list[str] = (),
                 kind: str = "code") -> str:
    """One line per check, then every failing check's whole message (never cut: it is
    what the candidate debugs from), then the next step."""
    rows = [("check", "status", "points", "message")]
    for r in results:
        first = (r.message.strip().splitlines() or [""])[0]
        extra = measured_vs_budget(r.measured, r.budget)
        msg = f"{first} [{extra}]" if first and extra else (first or extra)
        rows.append((r.id, r.status.upper(), f"{r.points:g}/{r.max_points:g}", msg))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"public checks for {exercise_id} (hidden checks run only when graded)"]
    lines += [f"  note: {n}" for n in notes]
    for row in rows:
        lines.append(("  ".join(c.ljust(w) for c, w in zip(row[:3], widths, strict=True)) + "  "
                      + row[3]).rstrip())
    passed = sum(r.status == "pass" for r in results)
    if not results:
        lines.append("(this exercise has no public checks)")
    else:
        lines.append(f"{passed}/{len(results)} public checks pass")
    long = [r for r in results if r.status != "pass" and len(r.message.strip().splitlines()) > 1]
    for r in long:
        lines.append(f"\n{r.id} ({r.status}), in full:")
        lines += [f"    {ln}" for ln in r.message.strip().splitlines()]
    lines.append(next_step(exercise_id, kind, bool(results) and passed == len(results)))
    return "\n".join(lines)


def next_step(exercise_id: str, kind: str, all_pass: bool) -> str:
    """What to do after reading the table: save, what grading also judges, how to submit."""
    fix = "" if all_pass else "fix what failed above and run check() again; then "
    save = ("save your artifact with the export cell and the notebook (Ctrl+S)"
            if kind == "artifact" else "save the notebook (Ctrl+S)")
    text = (f"next: {fix}{save}. When graded, hidden checks also judge more and larger "
            "inputs, edge cases, and the speed, memory and size budgets stated in the "
            "prompt. To hand in, run `proctor submit` in the bundle folder and send the "
            "submission.zip it writes (README.md).")
    return textwrap.fill(text, 100, subsequent_indent="      ")
