"""Item analysis: how each check behaves across the submissions graded together.

For every check of an exercise, over the submissions where that exercise was graded:
**difficulty** is the mean share of its points earned (1 = everyone passes), and
**discrimination** the correlation of its points with the rest of each submission's total
(the corrected item-total correlation: the item's own points are taken out, so an item
does not correlate with itself). A check that no one or everyone passes separates no
one; one that discriminates negatively is passed more by weaker submissions, which
points at the check or the prompt rather than the candidates.

Reads reports only (``(name, Report)`` pairs); shown when at least ``MIN_SUBMISSIONS``
graded the exercise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

MIN_SUBMISSIONS = 5
NEGATIVE = -0.05  # a correlation below this is worth a look, not noise around 0


@dataclass
class Item:
    exercise: str
    check: str
    kind: str
    max_points: float
    n: int
    difficulty: float
    discrimination: float | None
    warnings: list[str] = field(default_factory=list)


@dataclass
class ExerciseItems:
    exercise: str
    title: str
    n: int  # submissions that graded it
    items: list[Item]
    note: str = ""  # why there is no analysis (too few submissions)


def correlation(x: list[float], y: list[float]) -> float | None:
    """Pearson's r, or None when either side does not vary."""
    n = len(x)
    if n < 2:
        return None
    mx, my = sum(x) / n, sum(y) / n
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def warnings_for(difficulty: float, discrimination: float | None) -> list[str]:
    out = []
    if difficulty >= 1 - 1e-9:
        out.append("everyone passes: it separates no one")
    elif difficulty <= 1e-9:
        out.append("no one passes: check the check, the prompt and its budget")
    if discrimination is not None and discrimination < NEGATIVE:
        out.append("negative discrimination: weaker submissions pass it more often "
                   "(a grader or prompt problem?)")
    return out


def analyse(graded: list[tuple[str, Any]],
            min_submissions: int = MIN_SUBMISSIONS) -> list[ExerciseItems]:
    """Per exercise (in first-seen order): its items, or a note saying why none."""
    totals = {name: float(r.score) for name, r in graded}
    order: list[str] = []
    per_ex: dict[str, list[tuple[str, Any]]] = {}
    titles: dict[str, str] = {}
    for name, r in graded:
        for e in r.exercises:
            if e.id not in per_ex:
                order.append(e.id)
                per_ex[e.id] = []
                titles[e.id] = e.title
            if e.status == "graded" and e.checks:
                per_ex[e.id].append((name, e))
    out = []
    for ex_id in order:
        subs = per_ex[ex_id]
        if len(subs) < min_submissions:
            out.append(ExerciseItems(ex_id, titles[ex_id], len(subs), [],
                                     f"needs {min_submissions} graded submissions, has "
                                     f"{len(subs)}"))
            continue
        check_ids: list[str] = []
        meta: dict[str, tuple[str, float]] = {}
        for _, e in subs:
            for c in e.checks:
                if c.id not in meta:
                    check_ids.append(c.id)
                    meta[c.id] = (c.kind, float(c.max_points))
        items = []
        for cid in check_ids:
            scores, rests = [], []
            for name, e in subs:
                c = next((c for c in e.checks if c.id == cid), None)
                if c is None:
                    continue
                got = float(c.points)
                scores.append(got / c.max_points if c.max_points else 0.0)
                rests.append(totals[name] - got)
            if not scores:
                continue
            difficulty = sum(scores) / len(scores)
            r = correlation(scores, rests)
            kind, max_points = meta[cid]
            items.append(Item(ex_id, cid, kind, max_points, len(scores), difficulty, r,
                              warnings_for(difficulty, r)))
        out.append(ExerciseItems(ex_id, titles[ex_id], len(subs), items))
    return out
