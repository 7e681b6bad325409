"""``proctor calibrate``: grade the reference solutions, print the verdict table, the
margins and the gaps; with ``--store-builds`` keep slow builds, with ``--record-ranges``
write each exercise's ``calibration.toml`` (the ranges report pages draw)."""

from __future__ import annotations

import argparse
import os
import sys
import time

import proctor
from proctor import sandbox
from proctor.calibrate import builds
from proctor.calibrate import table as verdict_table
from proctor.calibrate.contract import print_ledgers
from proctor.calibrate.run import Verdict, calibrate, decide_only
from proctor.cli_args import _unknown_exercises, _usage_error
from proctor.clock import iso
from proctor.library import ranges
from proctor.library.spec import Library


def run(args: argparse.Namespace) -> int:
    lib = Library.find(args.root)
    bad = _unknown_exercises(lib, args.ids + (args.store_builds or []), "calibrate ID")
    if bad:
        return _usage_error(bad)
    if args.decide_only and args.record_ranges:
        return _usage_error("--record-ranges needs the full measurements: drop --decide-only")
    ids = args.ids or args.store_builds or lib.ids()
    ids += [i for i in args.store_builds or () if i not in ids]
    iso_ = sandbox.isolation()
    unsafe = args.unsafe_no_sandbox or not iso_.get("available")
    if unsafe and not args.unsafe_no_sandbox:
        print(f"note: no sandbox ({iso_.get('reason')}); calibrating trusted reference "
              "solutions without one", file=sys.stderr)
    times: list[str] = []

    def done(ex, seconds: float, built: dict) -> None:
        times.append(f"    {ex.id:<22} {seconds:7.0f} s")
        print(f"  {ex.id}: {seconds:.0f} s", file=sys.stderr)
        lines = builds.store(ex, built) if ex.id in stores else builds.stale(ex, set(built))
        for line in lines:
            print(f"  {line}" if ex.id in stores else
                  f"  note: {line} is stale (rebuilt; `proctor calibrate --store-builds "
                  f"{ex.id}` refreshes the store)", file=sys.stderr)

    stores = set(args.store_builds or ())
    verdicts = calibrate(lib, ids, unsafe, repeat=args.repeat,
                         log=lambda m: print(m, file=sys.stderr), on_exercise=done,
                         jobs=args.jobs, plan=decide_only() if args.decide_only else None)
    print("calibration time per exercise (builds + gradings, summed):\n" + "\n".join(times))
    print(verdict_table.matrix(verdicts))
    bad = [v for v in verdicts if v.mismatches]
    for v in bad:
        for m in v.mismatches:
            print(f"MISMATCH {v.result.id} {v.solution.name}: {m}")
    flips = verdict_table.flips(verdicts)
    for f in flips:
        print(f"UNSTABLE {f}")
    if args.repeat > 1:
        pairs = {(v.result.id, v.solution.name, c.id) for v in verdicts for c in v.result.checks}
        print(f"\nstability over {args.repeat} repeats: {len(pairs) - len(flips)}/{len(pairs)} "
              "(solution, check) pairs kept one verdict; budget margins are listed under "
              "each exercise above")
    ledger_problems = print_ledgers(lib, ids, args.strict)
    gaps = verdict_table.uncovered(verdicts)
    for ex_id, cid in gaps:
        print(f"UNCOVERED {ex_id} {cid}: no rejected solution fails it, so nothing shows it "
              "can fail (add one: docs/authoring.md)")
    if args.record_ranges:
        record_ranges(lib, ids, verdicts, args.repeat)
    print(f"\n{len(verdicts) - len(bad)}/{len(verdicts)} solution runs got their expected verdicts")
    if gaps:
        print(f"{len(gaps)} check(s) failed by no rejected solution"
              + ("" if args.strict else " (a warning; --strict makes it an error)"))
    return 1 if bad or flips or (args.strict and (gaps or ledger_problems)) else 0


def record_ranges(lib: Library, ids: list[str], verdicts: list[Verdict], repeat: int) -> None:
    """Write ``reference_solutions/<id>/calibration.toml`` for each exercise whose solutions
    all got their expected verdicts, always over the same verdicts across repeats (a
    calibration with a mismatch or a flip describes nothing worth drawing)."""
    from proctor.grading.environment import cpu_info

    found = verdict_table.budget_ranges(verdicts)
    meta = {"recorded": iso(time.time()), "cpu": cpu_info().get("model") or "unknown",
            "cpus": len(os.sched_getaffinity(0)), "proctor": proctor.__version__,
            "repeat": repeat}
    print("\nrecorded ranges (--record-ranges):")
    for ex_id in ids:
        mine = [v for v in verdicts if v.result.id == ex_id]
        unstable = verdict_table.flips(mine)
        if any(v.mismatches for v in mine) or unstable:
            print(f"  {ex_id}: not recorded: its calibration has mismatches or unstable "
                  "verdicts (fix those first)")
            continue
        checks = found.get(ex_id)
        if not checks:
            print(f"  {ex_id}: no budget check measured a value; nothing recorded")
            continue
        ex = lib.get(ex_id)
        path = ranges.write(ex.solutions_dir, ex_id, meta, checks)
        print(f"  {ex_id}: {path.relative_to(lib.root)}")
        print("\n".join(verdict_table.ranges_text(checks)))
