"""The ``proctor`` command line (a contract: extend, never break)."""

from __future__ import annotations

import os

# The grader's own arithmetic (checks, oracles) is small, and it runs pinned off the cores
# that timed workers use: thread pools then spin for cores they may not run on (OpenBLAS: a
# 131k-element norm 20x slower, calibrating conv2d stalled for minutes; torch's OpenMP: a
# conv2d oracle's forward and backward 16x slower beside another job). One thread each, set
# before numpy or torch is first imported; workers set their own (worker/config.py).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

from proctor import sandbox  # noqa: E402
from proctor.cli_args import _shard, _unknown_exercises, _usage_error  # noqa: E402
from proctor.library.spec import TRACKS, Library, SpecError  # noqa: E402
from proctor.listing import cmd_list  # noqa: E402

if TYPE_CHECKING:
    from proctor.library.plans import InterviewPlan


def _library(args: argparse.Namespace) -> Library:
    return Library.find(args.root)


def _plan(lib: Library, name: str | None) -> InterviewPlan | None:
    from proctor.library.plans import get_plan

    return get_plan(lib, name) if name else None


def cmd_notebooks(args: argparse.Namespace) -> int:
    from proctor.library import notebooks as nbgen

    lib = _library(args)
    if args.check:
        stale = nbgen.stale(lib)
        for s in stale:
            print(f"notebooks/{s}.ipynb is stale: run `proctor notebooks`", file=sys.stderr)
        return 1 if stale else 0
    for p in nbgen.write_all(lib):
        print(p)
    return 0


def cmd_bundle(args: argparse.Namespace) -> int:
    from proctor.library import bundle

    lib = _library(args)
    bad = _unknown_exercises(lib, args.exercise, "bundle --exercise")
    if bad:
        return _usage_error(bad)
    plan = _plan(lib, args.plan)
    files = bundle.build(lib, Path(args.out), args.exercise, plan=plan)
    print(f"wrote {len(files)} files to {args.out}"
          + (f" (plan {plan.name}: {plan.spec.minutes} min, {', '.join(plan.ids)})"
             if plan else ""))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from proctor.candidate.cli import check_path

    return check_path(Path(args.path), _library_for_check(args))


def _library_for_check(args: argparse.Namespace) -> Library:
    if args.root:
        return Library.find(args.root)
    path = Path(args.path).resolve()
    for p in [path, *path.parents]:
        if (p / "exercises").is_dir():
            return Library(p)
    return Library.find(None)


def cmd_grade(args: argparse.Namespace) -> int:
    from proctor.grading.many import grade_many

    lib = _library(args)
    absent = [s for s in args.submission if not Path(s).exists()]
    if absent:
        return _usage_error(f"grade: SUBMISSION {', '.join(repr(a) for a in absent)}: no such "
                            "file or directory (nothing was graded)")
    bad = _unknown_exercises(lib, args.exercise, "grade --exercise")
    if bad:
        return _usage_error(bad + " (nothing was graded)")
    plan = _plan(lib, args.plan)  # a usage error before anything else
    unsafe = args.unsafe_no_sandbox
    iso = sandbox.isolation()
    if not iso.get("available") and not unsafe:
        print(f"proctor grade: no sandbox available ({iso.get('reason')}); refusing to run "
              "untrusted code. Pass --unsafe-no-sandbox to grade anyway (the report will say "
              "so).", file=sys.stderr)
        return 2
    if plan is not None and args.exercise:
        outside = [i for i in args.exercise if i not in plan.ids]
        if outside:
            print(f"proctor grade: --exercise {', '.join(outside)}: not in plan {plan.name} "
                  f"({', '.join(plan.ids)})", file=sys.stderr)
            return 2
    return grade_many([Path(s) for s in args.submission], lib, Path(args.out),
                      args.exercise, unsafe, args.jobs, args.shard, plan=plan)


def cmd_gradebook(args: argparse.Namespace) -> int:
    from proctor.report.merge import MergeError, merge

    out = Path(args.out)
    try:
        graded = merge([Path(d) for d in args.dirs], out)
    except MergeError as exc:
        print(f"proctor gradebook: refused, nothing written:\n{exc}", file=sys.stderr)
        return 2
    broken = [n for n, r in graded if r.environment.get("harness_error")]
    if broken:
        print(f"note: {len(broken)} report(s) record a harness error: {', '.join(broken)}",
              file=sys.stderr)
    print(f"gradebook of {len(graded)} submission(s): {out / 'index.html'}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from proctor.calibrate.command import run

    return run(args)


def cmd_new(args: argparse.Namespace) -> int:
    from proctor.library import scaffold

    lib = _library(args)
    written = scaffold.create(lib, args.id, args.title, args.track)
    for path in written:
        print(path.relative_to(lib.root))
    print(f"\nA working example to edit. Next: change the spec, prompt, starter and checks; keep "
          f"`proctor calibrate {args.id}` green (accepted solutions score full marks, each "
          f"rejected one fails what its expect.toml says); run `proctor notebooks` after "
          f"editing the starter or prompt.")
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    from proctor.submission.submit import pack

    return pack(Path(args.bundle), Path(args.out), _library_for_submit(args))


def _library_for_submit(args: argparse.Namespace) -> Library | None:
    try:
        return Library.find(args.root or args.bundle)
    except SpecError:
        return None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="proctor", description=__doc__)
    p.add_argument("--root", help="library root holding exercises/ (default: cwd or PROCTOR_ROOT)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("list", help="exercises with track, points and budgets")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.add_argument("--plans", action="store_true",
                   help="the interview plans (interviews/*.toml) instead of the exercises")
    s.set_defaults(fn=cmd_list)

    s = sub.add_parser("bundle", help="write the candidate bundle (public material only)")
    s.add_argument("out", help="output directory (must not exist or be empty)")
    s.add_argument("--exercise", action="append", help="only this exercise (repeatable)")
    s.add_argument("--plan", help="the bundle of one interview plan (interviews/NAME.toml)")
    s.set_defaults(fn=cmd_bundle)

    s = sub.add_parser("check",
                       help="run public checks on a notebook or bundle dir (candidate side)")
    s.add_argument("path", help="a notebook, a notebooks/ dir or a bundle dir")
    s.set_defaults(fn=cmd_check)

    s = sub.add_parser("grade", help="grade submissions; writes DIR/<name>/report.json and .html")
    s.add_argument("submission", nargs="+", help="submission dir or .zip (or, with one "
                   "--exercise, a single solution .py/.ipynb)")
    s.add_argument("--out", required=True, help="output directory for reports")
    s.add_argument("--exercise", action="append", help="grade only this exercise (repeatable)")
    s.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel")
    s.add_argument("--plan", help="grade as this interview plan: its exercises and weights")
    s.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="grade even when no sandbox is available (the report says so)")
    s.add_argument("--shard", type=_shard, metavar="I/N",
                   help="grade only shard I of N (0 <= I < N; e.g. a Kubernetes Indexed Job's "
                   "$(JOB_COMPLETION_INDEX)/<completions>): a share of the submissions fixed "
                   "by a hash of their names, whatever their order, so N runs given the same "
                   "inputs grade each exactly once; the --out folder also gets shard.json, for "
                   "the merge (`proctor gradebook`)")
    s.set_defaults(fn=cmd_grade)

    s = sub.add_parser(
        "gradebook", help="merge or rebuild gradebooks from graded report folders (no regrading)",
        description="Build one gradebook (index.html, summary.json, summary.csv) in --out from "
        "the <name>/report.json folders of each DIR (e.g. the --out folders of the shards of "
        "`proctor grade --shard`), copying the report folders into --out. Refuses, with exit "
        "2 and nothing written, reports graded by different engine or library versions, a "
        "submission present twice, and a missing or incomplete shard.")
    s.add_argument("dirs", nargs="+", metavar="DIR", help="folder of graded reports")
    s.add_argument("--out", required=True, help="gradebook folder (new, empty, one of the DIRs "
                   "to rebuild in place, or an earlier merge of the same DIRs)")
    s.set_defaults(fn=cmd_gradebook)

    s = sub.add_parser("calibrate", help="grade reference solutions, assert expected verdicts")
    s.add_argument("ids", nargs="*", help="exercise ids (default: all)")
    s.add_argument("--repeat", type=int, default=1, help="repeat each grading to test stability")
    s.add_argument("--unsafe-no-sandbox", action="store_true", help="run without the sandbox")
    s.add_argument("--strict", action="store_true",
                   help="also fail when a check is failed by no rejected solution, or when "
                   "the contract ledger (reference_solutions/<id>/contract.toml) leaves a "
                   "clause without an existing owning check or a rejected solution failing it")
    s.add_argument("--jobs", type=int, default=1,
                   help="grade N solutions at a time (latency measurements take turns)")
    s.add_argument("--store-builds", action="append", metavar="ID",
                   help="copy this exercise's built artifacts (models its build.py scripts "
                   "train) into reference_solutions/ID/builds/ to commit, so that calibration "
                   "reuses them until a script or its inputs change (repeatable)")
    s.add_argument("--decide-only", action="store_true",
                   help="stop each latency measurement at the look that decides its verdict "
                   "(the same verdict; it is not measured on to narrow the reported ratio): "
                   "quicker, for CI; ratios and margins come from fewer blocks")
    s.add_argument("--record-ranges", action="store_true",
                   help="write reference_solutions/ID/calibration.toml for each exercise "
                   "calibrated without a mismatch: where its accepted and rejected solutions "
                   "fell on each budget check, drawn faintly on report pages (commit it)")
    s.set_defaults(fn=cmd_calibrate)

    s = sub.add_parser("notebooks", help="regenerate notebooks/ from exercises/")
    s.add_argument("--check", action="store_true", help="exit 1 if a committed notebook is stale")
    s.set_defaults(fn=cmd_notebooks)

    s = sub.add_parser("new", help="scaffold a new exercise (a working example that calibrates)")
    s.add_argument("id", help="exercise id: lower case letters, digits and _")
    s.add_argument("--title", help="title shown to candidates (default: from the id)")
    s.add_argument("--track", default="algorithms", help=", ".join(TRACKS))
    s.set_defaults(fn=cmd_new)

    s = sub.add_parser("submit", help="pack notebooks and artifacts into a submission zip")
    s.add_argument("--bundle", default=".", help="the bundle folder you worked in (default: .)")
    s.add_argument("--out", default="submission.zip", help="zip to write")
    s.set_defaults(fn=cmd_submit)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args) or 0)
    except SpecError as exc:
        print(f"proctor: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
