"""The table ``check()`` and ``proctor check`` print: one line per public check."""

from __future__ import annotations

from typing import Any

from proctor.report.model import CheckResult

MESSAGE_WIDTH = 110


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


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(exercise_id: str, results: list[CheckResult], notes: list[str] = ()) -> str:
    """One line per check (its message's first line, clipped to the table's width), then
    the whole message of every check that did not pass, never cut: the candidate must be
    able to read why a public check failed."""
    rows = [("check", "status", "points", "message")]
    details: list[str] = []
    for r in results:
        text = r.message.strip()
        first = (text.splitlines() or [""])[0]
        extra = measured_vs_budget(r.measured, r.budget)
        msg = f"{first} [{extra}]" if first and extra else (first or extra)
        row = _clip(msg, MESSAGE_WIDTH)
        rows.append((r.id, r.status.upper(), f"{r.points:g}/{r.max_points:g}", row))
        if r.status != "pass" and text and (row != msg or "\n" in text):
            details.append(f"  {r.id} ({r.status}):")
            details += [f"    {line}".rstrip() for line in text.splitlines()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"public checks for {exercise_id} (hidden checks run only when graded)"]
    lines += [f"  note: {n}" for n in notes]
    for row in rows:
        lines.append(("  ".join(c.ljust(w) for c, w in zip(row[:3], widths, strict=True)) + "  "
                      + row[3]).rstrip())
    if details:
        lines += ["", "why (the whole message of each check that did not pass):", *details]
    passed = sum(r.status == "pass" for r in results)
    if not results:
        lines.append("(this exercise has no public checks)")
    else:
        lines.append(f"{passed}/{len(results)} public checks pass")
    return "\n".join(lines)


