"""What the gradebook page shows: a heat map of submissions × exercises grouped by track,
per-track subtotals, a score distribution per exercise, the similarity flags and the
item analysis. Decided here from ``(name, Report)`` pairs; the template only draws it.

Links are relative to the gradebook folder (``<name>/report.html#<exercise>``), so the
folder can be moved, zipped or served as is.
"""

from __future__ import annotations

import json
import statistics
from typing import Any
from urllib.parse import quote

from proctor.report.model import Report
from proctor.report.numbers import number
from proctor.report.profile import TRACK_ORDER, share, share_colour, track_name

BINS = 10


def report_href(name: str, exercise: str | None = None) -> str:
    """``<name>/report.html[#exercise]`` with the name percent-encoded (it is the
    candidate's folder name: ``#`` or ``?`` in it must not break the link)."""
    return f"{quote(name, safe='')}/report.html" + (f"#{exercise}" if exercise else "")


def columns(graded: list[tuple[str, Report]]) -> list[dict[str, Any]]:
    """Exercises grouped by track, tracks in the role's order, exercises by first sight."""
    seen: dict[str, dict[str, Any]] = {}
    for _, r in graded:
        for e in r.exercises:
            col = seen.setdefault(e.id, {"id": e.id, "title": e.title, "track": e.track or "",
                                         "max_score": e.max_score})
            col["max_score"] = max(col["max_score"], e.max_score)
    groups: dict[str, list[dict[str, Any]]] = {}
    for col in seen.values():
        groups.setdefault(col["track"], []).append(col)
    order = sorted(groups, key=lambda t: (TRACK_ORDER.index(t) if t in TRACK_ORDER else 99, t))
    return [{"track": t, "name": track_name(t), "exercises": groups[t],
             "max_score": sum(c["max_score"] for c in groups[t])} for t in order]


def _flags(e: Any) -> list[str]:
    if e.status != "graded":
        return [e.status]
    out = []
    for status, word in (("inconclusive", "inconclusive"), ("error", "error"),
                         ("timeout", "timeout")):
        n = sum(c.status == status for c in e.checks)
        if n:
            out.append(f"{n} {word}")
    return out


def time_box(minutes: Any) -> str:
    """``60 min``, ``2 h``, ``48 h``: a plan's time box as its README says it."""
    if not isinstance(minutes, (int, float)):
        return "—"
    return f"{number(minutes / 60)} h" if minutes >= 120 and minutes % 60 == 0 \
        else f"{number(minutes)} min"


def _n(v: Any) -> str:
    return number(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else "—"


def _identity(plan: dict[str, Any]) -> str:
    """What makes two reports' plans the same plan: its name, time box and weights."""
    keep = ("name", "title", "stage", "minutes", "points", "exercises")
    return json.dumps({k: plan.get(k) for k in keep}, sort_keys=True, default=str)


def plans(graded: list[tuple[str, Report]]) -> dict[str, Any]:
    """The interview plan(s) the reports were graded as: ``one`` when every report was
    graded as the same plan (named at the top of the page), else ``mixed`` with each plan
    (or "no plan") and the submissions it covers, since their totals do not compare."""
    found: dict[str, dict[str, Any]] = {}
    for name, r in graded:
        p = r.plan if isinstance(r.plan, dict) else None
        key = _identity(p) if p else ""
        entry = found.setdefault(key, {
            "name": str(p.get("name", "")) if p else "", "plan": p is not None,
            "title": str(p.get("title", "")) if p else "", "stage": str(p.get("stage", ""))
            if p else "", "time_box": time_box(p.get("minutes")) if p else "",
            "points": _n(p.get("points")) if p else "",
            "exercises": [f"{x.get('id')} ({_n(x.get('points'))} points"
                          + (f", {_n(x['minutes'])} min)" if x.get("minutes") else ")")
                          for x in p.get("exercises", []) if isinstance(x, dict)] if p else [],
            "names": []})
        entry["names"].append(name)
    entries = list(found.values())
    names = [e["name"] for e in entries if e["plan"]]
    for e in entries:
        e["label"] = e["name"] if e["plan"] else "no plan"
        if e["plan"] and names.count(e["name"]) > 1:  # one name, two definitions
            same = [x for x in entries if x["name"] == e["name"]]
            e["label"] += f" (version {same.index(e) + 1})"
        e["n"] = len(e["names"])
    one = entries[0] if len(entries) == 1 and entries[0]["plan"] else None
    return {"one": one, "mixed": len(entries) > 1, "plans": entries,
            "edited": sorted({n for n in names if names.count(n) > 1}),
            "column": any(e["plan"] for e in entries)}


def rows(graded: list[tuple[str, Report]], groups: list[dict[str, Any]],
         flagged: dict[str, int], by_plan: bool = False) -> list[dict[str, Any]]:
    """One row per submission, best first: by the plan's weighted score when ``by_plan``
    (every report graded as one plan), else by exercise points."""
    out = []
    for name, r in graded:
        by_id = {e.id: e for e in r.exercises}
        cells, tracks = [], []
        for g in groups:
            t_score = t_max = 0.0
            for col in g["exercises"]:
                e = by_id.get(col["id"])
                if e is None:
                    cells.append({"absent": True, "track": g["track"]})
                    continue
                t_score += e.score
                t_max += e.max_score
                s = share(e.score, e.max_score) if e.status == "graded" else None
                cells.append({"absent": False, "score": number(e.score), "sort": e.score,
                              "status": e.status, "flags": _flags(e),
                              "colour": share_colour(s if e.status == "graded" else 0.0)
                              if e.status != "missing" else "#ffffff",
                              "href": report_href(name, e.id), "title": e.title,
                              "track": g["track"]})
            ts = share(t_score, t_max)
            tracks.append({"score": number(round(t_score, 4)), "sort": t_score,
                           "colour": share_colour(ts), "name": g["name"]})
        total_share = share(r.score, r.max_score)
        p = r.plan if isinstance(r.plan, dict) else None
        p_score = p.get("score") if p and isinstance(p.get("score"), (int, float)) else None
        p_max = p.get("max_score") if p and isinstance(p.get("max_score"), (int, float)) \
            else None
        out.append({
            "plan": str(p.get("name", "")) if p else "",
            "plan_score": number(p_score) if p_score is not None else "—",
            "plan_max": number(p_max) if p_max is not None else "",
            "plan_sort": p_score if p_score is not None else -1,
            "plan_colour": share_colour(share(p_score, p_max)) if p_score is not None
            and p_max else "#ffffff",
            "name": name, "href": report_href(name), "score": number(r.score),
            "max_score": number(r.max_score), "sort": r.score,
            "percent": round(100 * total_share) if total_share is not None else 0,
            "colour": share_colour(total_share), "cells": cells, "tracks": tracks,
            "problems": list(r.problems), "flags": flagged.get(name, 0),
            "unsafe": bool(r.environment.get("unsafe_no_sandbox")),
            "harness_error": bool(r.environment.get("harness_error")),
        })
    out.sort(key=lambda row: (-row["plan_sort"] if by_plan else 0, -row["sort"], row["name"]))
    for i, row in enumerate(out, 1):
        row["rank"] = i
    return out


def distribution(graded: list[tuple[str, Report]], col: dict[str, Any]) -> dict[str, Any]:
    """One exercise's score shares as a small histogram (inline SVG data)."""
    shares, missing = [], 0
    for _, r in graded:
        e = next((e for e in r.exercises if e.id == col["id"]), None)
        if e is None:
            continue
        if e.status == "missing":
            missing += 1
            continue
        shares.append(share(e.score, e.max_score) or 0.0)
    counts = [0] * BINS
    for s in shares:
        counts[min(BINS - 1, int(s * BINS))] += 1
    top = max(counts) or 1
    bars = [{"x": i * 12, "h": round(26 * c / top, 1), "y": round(28 - 26 * c / top, 1),
             "n": c, "range": f"{10 * i}–{10 * (i + 1)} %"} for i, c in enumerate(counts)]
    med = statistics.median(shares) if shares else None
    text = (f"{len(shares)} graded, {missing} missing; median {number(100 * med)} %, "
            f"range {number(100 * min(shares))}–{number(100 * max(shares))} %"
            if shares else f"none graded, {missing} missing")
    return {"id": col["id"], "title": col["title"], "track": track_name(col["track"]),
            "bars": bars, "n": len(shares), "missing": missing, "text": text,
            "median": f"{number(100 * med)} %" if med is not None else "—",
            "mean": f"{number(100 * sum(shares) / len(shares))} %" if shares else "—"}


def book_view(graded: list[tuple[str, Report]], pairs: list[Any], items: list[Any],
              threshold: float) -> dict[str, Any]:
    groups = columns(graded)
    flagged: dict[str, int] = {}
    for p in pairs:
        flagged[p.a] = flagged.get(p.a, 0) + 1
        flagged[p.b] = flagged.get(p.b, 0) + 1
    plan = plans(graded)
    return {
        "plan": plan,
        "groups": groups, "rows": rows(graded, groups, flagged, by_plan=plan["one"] is not None),
        "n_exercises": sum(len(g["exercises"]) for g in groups),
        "max_total": number(max((r.max_score for _, r in graded), default=0)),
        "distributions": [distribution(graded, c) for g in groups for c in g["exercises"]],
        "pairs": [pair_view(i, p) for i, p in enumerate(pairs, 1)],
        "threshold": round(100 * threshold),
        "analysis": [item_view(x) for x in items],
        "analysed": [x for x in items if x.items],
    }


def pair_view(i: int, p: Any) -> dict[str, Any]:
    return {"anchor": f"pair-{i}", "exercise": p.exercise, "a": p.a, "b": p.b,
            "share_a": round(100 * p.share_a), "share_b": round(100 * p.share_b),
            "percent": round(100 * p.share), "href_a": report_href(p.a, p.exercise),
            "href_b": report_href(p.b, p.exercise)}


def item_view(x: Any) -> dict[str, Any]:
    return {"exercise": x.exercise, "title": x.title, "n": x.n, "note": x.note,
            "everyone": sum(i.difficulty >= 1 - 1e-9 for i in x.items),
            "alarming": sum(any(not w.startswith("everyone") for w in i.warnings)
                            for i in x.items),
            "checks": [{"check": i.check, "kind": i.kind, "points": number(i.max_points),
                       "difficulty": f"{round(100 * i.difficulty)} %",
                       "discrimination": "—" if i.discrimination is None
                       else f"{i.discrimination:+.2f}",
                       "warnings": i.warnings} for i in x.items]}
