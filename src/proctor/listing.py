"""``proctor list``: the exercises (with track, points, budgets) or the interview plans."""

from __future__ import annotations

import argparse
import json

from proctor.library.spec import Library


def _library(args: argparse.Namespace) -> Library:
    return Library.find(args.root)


def cmd_list(args: argparse.Namespace) -> int:
    lib = _library(args)
    if args.plans:
        return _list_plans(lib, args.json)
    rows = []
    for ex in lib.all():
        s = ex.spec
        rows.append({"id": s.id, "title": s.title, "track": s.track, "kind": s.kind,
                     "points": s.points, "suggested_minutes": s.suggested_minutes,
                     "time_limit_s": s.limits.time_limit_s,
                     "budgets": {k: b.model_dump(exclude_none=True) for k, b in s.budgets.items()},
                     "forbidden_imports": list(s.forbidden_imports)})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            budgets = ", ".join(
                f"{k} {'<=' if 'max' in b else '>='} "
                f"{_number(b.get('max', b.get('min')))} {b.get('unit', '')}".rstrip()
                for k, b in r["budgets"].items())
            print(f"{r['id']:<24} {r['track']:<11} {r['kind']:<9} {r['points']:>5g} pts  {budgets}")
    return 0


def _list_plans(lib: Library, as_json: bool) -> int:
    from proctor.library.plans import all_plans

    plans = [p.summary() for p in all_plans(lib)]
    if as_json:
        print(json.dumps(plans, indent=2))
    for p in [] if as_json else plans:
        ids = ", ".join(e["id"] + (f" ({e['points']:g} pts)" if e["weight"] != 1 else "")
                        for e in p["exercises"])
        print(f"{p['name']:<12} {p['stage']:<10} {p['minutes']:>5} min {p['points']:>5g} pts  "
              f"{p['title']}\n{'':<12} {ids}")
    return 0


def _number(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() and abs(v) >= 1000 else f"{v:g}"
