"""`proctor calibrate`: the command that authors and CI run (exit 1 on any mismatch)."""

from __future__ import annotations

import argparse
import sys

from proctor import sandbox
from proctor.calibrate import builds
from proctor.calibrate import table as verdict_table
from proctor.calibrate.contract import print_ledgers
from proctor.calibrate.run import calibrate
from proctor.cli_args import _unknown_exercises, _usage_error
from proctor.library.spec import Library


def cmd_calibrate(args: argparse.Namespace, lib: Library) -> int:
    """`proctor calibrate`: grade, print the verdict matrix, margins, ledgers and gaps."""
    bad = _unknown_exercises(lib, args.ids + (args.store_builds or []), "calibrate ID")
    if bad:
        return _usage_error(bad)
    ids = args.ids or args.store_builds or lib.ids()
    ids += [i for i in args.store_builds or () if i not in ids]
    iso = sandbox.isolation()
    unsafe = args.unsafe_no_sandbox or not iso.get("available")
    if unsafe and not args.unsafe_no_sandbox:
        print(f"note: no sandbox ({iso.get('reason')}); calibrating trusted reference "
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
                                   jobs=args.jobs)
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
    print(f"\n{len(verdicts) - len(bad)}/{len(verdicts)} solution runs got their expected verdicts")
    if gaps:
        print(f"{len(gaps)} check(s) failed by no rejected solution"
              + ("" if args.strict else " (a warning; --strict makes it an error)"))
    return 1 if bad or flips or (args.strict and (gaps or ledger_problems)) else 0
