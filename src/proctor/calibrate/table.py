"""What ``proctor calibrate`` prints: the verdict matrix, each budget's margins, the
checks whose verdict changed across repeats, and the checks no rejected solution fails;
and the ranges ``--record-ranges`` writes (where the solutions fell on each budget).

Kept apart from ``calibrate`` (which grades) so that the grading loop stays small; it
only reads ``Verdict`` objects.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from proctor.calibrate.run import FAILING, Verdict
from proctor.kinds import lookup
from proctor.report.gauge import judged_value
from proctor.report.numbers import number


def matrix(verdicts: list[Verdict]) -> str:
    """Solutions x checks: '+' pass, '-' fail (as expected), '!' a mismatch; an unjudged
    check shows its verdict in lower case: 'p' pass, 'f' fail, 'i' inconclusive."""
    lines: list[str] = []
    by_ex: dict[str, list[Verdict]] = {}
    for v in verdicts:
        by_ex.setdefault(v.result.id, []).append(v)
    for ex_id, vs in by_ex.items():
        checks = [c.id for c in vs[0].result.checks]
        width = max(len(v.solution.name) for v in vs) + 2
        lines.append(f"\n{ex_id}")
        for i, cid in enumerate(checks):
            lines.append(" " * width + "| " * i + f"{cid}")
        for v in vs:
            cells = []
            for c in v.result.checks:
                expect_fail = c.id in v.solution.must_fail
                mark = "+" if c.status == "pass" else ("-" if c.status in FAILING else "?")
                wrong = (c.status in FAILING) != expect_fail or c.status == "inconclusive"
                if c.id in v.solution.unjudged:
                    cells.append({"pass": "p", "inconclusive": "i"}.get(c.status, "f"))
                else:
                    cells.append("!" if wrong else mark)
            status = "OK " if not v.mismatches else "MISMATCH"
            lines.append(v.solution.name.ljust(width) + " ".join(cells) + f"   {status}")
        lines.extend(_margins(vs))
    return "\n".join(lines)


def _margins(vs: list[Verdict]) -> list[str]:
    """Per budget check: each solution's ratios and intervals over repeats, the margin
    between the budget and the solutions that must pass / must fail it, and flips."""
    out: list[str] = []
    checks: dict[str, list[tuple[Verdict, object]]] = {}
    for v in vs:
        for c in v.result.checks:
            if lookup(c.kind).margin_keys and c.measured:
                checks.setdefault(c.id, []).append((v, c))
    for cid, rows in checks.items():
        budget = rows[0][1].budget.get("max")
        unit = rows[0][1].budget.get("unit", "")
        out.append(f"    {cid}: budget {budget} {unit}".rstrip())
        by_sol: dict[str, list] = {}
        for v, c in rows:
            by_sol.setdefault(v.solution.name, []).append((v, c))
        must_pass_hi: list[float] = []
        must_fail_lo: list[float] = []
        for name, runs in by_sol.items():
            must_fail = cid in runs[0][0].solution.must_fail
            statuses = [c.status for _, c in runs]
            ratios = _margin_values(runs)
            ivs = [c.measured.get("interval") for _, c in runs]
            ivs = [iv for iv in ivs if isinstance(iv, list) and len(iv) == 2]
            secs = [c.measured.get("seconds") for _, c in runs]
            secs = [x for x in secs if isinstance(x, (int, float))]
            counts = ", ".join(f"{s} x{statuses.count(s)}" for s in sorted(set(statuses)))
            ratio = (f"ratio {min(ratios):.3g}" + (f"–{max(ratios):.3g}" if len(ratios) > 1
                                                 and max(ratios) != min(ratios) else "")
                     if ratios else "ratio ?")
            iv = (f"interval [{min(i[0] for i in ivs):.3g}, {max(i[1] for i in ivs):.3g}]"
                  if ivs else "interval ?")
            sec = f"{statistics.median(secs):.1f} s" if secs else "? s"
            flag = "  UNSTABLE" if len(set(statuses)) > 1 else ""
            unjudged = cid in runs[0][0].solution.unjudged
            want = "unjudged" if unjudged else "must fail" if must_fail else "must pass"
            out.append(f"      {name:<36} {ratio:<16} {iv:<24} {counts} ({want}, "
                       f"median {sec}){flag}")
            if ivs and not unjudged:
                if must_fail:
                    must_fail_lo.append(min(i[0] for i in ivs))
                else:
                    must_pass_hi.append(max(i[1] for i in ivs))
        if isinstance(budget, (int, float)) and budget > 0:
            parts = []
            if must_pass_hi:
                worst = max(must_pass_hi)
                parts.append(f"slowest passing upper bound {worst:.3g} = "
                             f"{worst / budget:.2f}x the budget")
            if must_fail_lo:
                best = min(must_fail_lo)
                parts.append(f"fastest failing lower bound {best:.3g} = "
                             f"{best / budget:.2f}x the budget")
            if parts:
                out.append("      margin: " + "; ".join(parts))
    return out


def flips(verdicts: list[Verdict]) -> list[str]:
    """Checks whose status changed across repeats of the same solution."""
    seen: dict[tuple[str, str, str], set[str]] = {}
    for v in verdicts:
        for c in v.result.checks:
            seen.setdefault((v.result.id, v.solution.name, c.id), set()).add(c.status)
    return [f"{e} {s} {c}: verdicts {sorted(st)} across repeats"
            for (e, s, c), st in seen.items() if len(st) > 1]


def uncovered(verdicts: list[Verdict]) -> list[tuple[str, str]]:
    """(exercise, check) pairs that no rejected solution was seen failing as declared.

    Calibration proves a check only when some known-bad solution fails it: a check
    that every solution passes could be a check that cannot fail."""
    checks: dict[str, list[str]] = {}
    failed: set[tuple[str, str]] = set()
    for v in verdicts:
        ids = checks.setdefault(v.result.id, [])
        for c in v.result.checks:
            if c.id not in ids:
                ids.append(c.id)
            if c.id in v.solution.must_fail and c.status in FAILING:
                failed.add((v.result.id, c.id))
    return [(ex, cid) for ex, ids in checks.items() for cid in ids if (ex, cid) not in failed]


def budget_ranges(verdicts: list[Verdict]) -> dict[str, dict[str, dict[str, Any]]]:
    """Exercise -> budget check -> where the solutions fell on it, in the budget's unit (the
    value the report's bar draws): ``accepted`` ``[min, max]`` over every run of the
    accepted solutions, ``rejected`` over the runs of the rejected solutions that must fail
    this check (and did), each with the solutions behind it. Unjudged checks and runs with
    no measured value (a crash, a timeout) count in neither."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for v in verdicts:
        accepted = v.solution.name.startswith("accepted/")
        for c in v.result.checks:
            bound = next((b for b in ("max", "min") if isinstance(c.budget.get(b), (int, float))),
                         None)
            if bound is None or c.id in v.solution.unjudged:
                continue
            if accepted:
                group = "accepted" if c.status == "pass" else None
            else:
                group = "rejected" if c.id in v.solution.must_fail and c.status in FAILING \
                    else None
            entry = out.setdefault(v.result.id, {}).setdefault(c.id, {
                "kind": c.kind, "unit": str(c.budget.get("unit", "")),
                bound: float(c.budget[bound]), "accepted": [], "rejected": []})
            value, _ = judged_value(c.kind, c.measured, c.budget)
            if group is None or value is None or not math.isfinite(value):
                continue
            entry[group].append((value, v.solution.name))
    for checks in out.values():
        for cid in list(checks):
            entry = checks[cid]
            for group in ("accepted", "rejected"):
                runs = entry.pop(group)
                if runs:
                    values = [x for x, _ in runs]
                    entry[group] = [min(values), max(values)]
                    entry[f"{group}_solutions"] = sorted({n for _, n in runs})
            if "accepted" not in entry and "rejected" not in entry:
                del checks[cid]
    return {ex: checks for ex, checks in out.items() if checks}


def ranges_text(checks: dict[str, dict[str, Any]]) -> list[str]:
    """One line per check of ``budget_ranges``: what ``--record-ranges`` records."""
    out = []
    for cid, e in sorted(checks.items()):
        bound = f"max {number(e['max'])}" if "max" in e else f"min {number(e['min'])}"
        parts = [f"{g} {number(e[g][0])}–{number(e[g][1])} ({len(e[g + '_solutions'])} "
                 f"solution{'s' if len(e[g + '_solutions']) != 1 else ''})"
                 for g in ("accepted", "rejected") if g in e]
        out.append(f"    {cid} ({bound} {e['unit']}): {'; '.join(parts)}")
    return out


def _margin_values(runs: list) -> list[float]:
    """Each run's value of the first of its kind's ``margin_keys`` that any run has (a
    memory check's ratio, or under an absolute budget its MiB)."""
    for key in lookup(runs[0][1].kind).margin_keys:
        values = [c.measured.get(key) for _, c in runs]
        values = [v for v in values if isinstance(v, (int, float))]
        if values:
            return values
    return []
