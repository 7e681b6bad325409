"""Start-up overhead of the worker sandbox, and the harness's cost per exercise.

Default: runs each command N times bare (plain subprocess) and sandboxed (spawn + wait),
interleaved A B A B so that machine load drifts affect both alike, and prints
median / p10 / p90 wall times and the median overhead.

``--exercises [ID,...]``: grades each exercise's reference solution against itself through
the real sandbox, the exercises in turn as ``proctor grade`` grades a submission, and
prints per exercise the wall time of the whole exercise, of its checks, and *outside the
checks* (the difference: waiting for both workers to start, import and run the notebook
cells, and closing them), the median of ``-n`` runs (default 1) -- "before" with the
workers started one by one on the timing core, "after" side by side and the next
exercise's ahead (``PROCTOR_WORKER_OVERLAP``, proctor.grading.startup), "side" with two
exercises graded side by side as well (``PROCTOR_EXERCISES_AT_ONCE``), interleaved.

``--sample DIR``: times ``proctor grade DIR`` (e.g. samples/strong) end to end, before and
after and side by side, and prints each exercise's time outside its checks from
report.json.

Prints figures only; nothing is asserted.

    python benchmarks/sandbox_overhead.py [-n 20] [--no-torch] [--unsafe]
    python benchmarks/sandbox_overhead.py --exercises [box_ops,detection] [-n 3] [--mode after]
    python benchmarks/sandbox_overhead.py --sample samples/strong [-n 3] [--mode after]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from proctor import sandbox
from proctor.sandbox import Limits, SandboxSpec

PY = sys.executable
ENV = {"PATH": "/usr/bin:/bin", "HOME": "/scratch", "LC_ALL": "C.UTF-8",
       "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def timed_bare(argv) -> float:
    t = time.perf_counter()
    subprocess.run(argv, env=ENV, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   check=True)
    return time.perf_counter() - t


def timed_box(argv, spec, unsafe=False) -> float:
    with open(os.devnull, "wb") as null:
        t = time.perf_counter()
        p = sandbox.spawn(argv, spec, stdout=null.fileno(), unsafe=unsafe)
        rc = p.wait()
        dt = time.perf_counter() - t
    if rc != 0:
        raise SystemExit(f"sandboxed {argv} exited {rc}")
    return dt


# the environment of each mode: workers started one by one; overlapped and ahead, one
# exercise at a time; and that with two exercises graded side by side (the default)
MODES = {"before": {"PROCTOR_WORKER_OVERLAP": "0", "PROCTOR_EXERCISES_AT_ONCE": "1"},
         "after": {"PROCTOR_WORKER_OVERLAP": "1", "PROCTOR_EXERCISES_AT_ONCE": "1"},
         "side": {"PROCTOR_WORKER_OVERLAP": "1", "PROCTOR_EXERCISES_AT_ONCE": "2"}}


def _outside(seconds: float, checks) -> float:
    return seconds - sum(c.seconds for c in checks)


def per_exercise(ids: list[str], n: int, modes: list[str]) -> None:
    """Wall seconds of each exercise, of its checks, and outside them (median of n), with
    the workers started one by one ("before") and overlapped ("after"); the exercises are
    graded in turn, as ``proctor grade`` grades a submission, the modes interleaved."""
    from proctor.grading.submission import _in_turn, _Job, reference_source
    from proctor.library.spec import Library

    lib = Library.find()
    ids = ids or lib.ids()
    jobs = []
    for ex_id in ids:
        ex = lib.get(ex_id)
        ref = reference_source(ex)
        jobs.append(_Job(ex, ref, ref))
    runs: dict[str, list[list]] = {m: [] for m in modes}
    print(f"load avg     {os.getloadavg()[0]:.2f} at start; median of {n} run(s), seconds; "
          f"{', '.join(modes)}: workers {' / '.join(DESCRIBE[m] for m in modes)}", flush=True)
    for _ in range(n):
        for m in modes:
            os.environ.update(MODES[m])
            t = time.perf_counter()
            results = _in_turn(jobs, False, True, None, lambda _id: None)
            runs[m].append([(r.seconds, _outside(r.seconds, r.checks), r) for r in results])
            print(f"  {m}: {time.perf_counter() - t:.1f} s for {len(ids)} exercise(s)",
                  flush=True)
    for name in MODES[modes[0]]:
        os.environ.pop(name, None)
    head = "".join(f" | {m + ': total':>14s} {'checks':>7s} {'outside':>8s}" for m in modes)
    print(f"{'exercise':22s}{head}  slowest check")
    outside: dict[str, list[float]] = {m: [] for m in modes}
    for i, ex_id in enumerate(ids):
        row = f"{ex_id:22s}"
        for m in modes:
            total = statistics.median(run[i][0] for run in runs[m])
            out = statistics.median(run[i][1] for run in runs[m])
            outside[m].append(out)
            row += f" | {total:14.2f} {total - out:7.2f} {out:8.2f}"
        last = runs[modes[-1]][-1][i][2]
        slow = max(last.checks, key=lambda c: c.seconds, default=None)
        print(row + (f"  {slow.id} {slow.seconds:.2f}" if slow else ""), flush=True)
    for m in modes:
        print(f"outside the checks, {m}: max {max(outside[m]):.2f} s, "
              f"sum {sum(outside[m]):.2f} s")
    print(f"load avg {os.getloadavg()[0]:.2f} at end")


DESCRIBE = {"before": "one by one on the timing core",
            "after": "side by side, the next exercise's ahead",
            "side": "that, and two exercises graded side by side"}


def sample(path: str, n: int, modes: list[str]) -> None:
    """``proctor grade path`` end to end (median of n, modes interleaved), and per
    exercise the time outside its checks, from report.json."""
    import json
    import tempfile

    walls: dict[str, list[float]] = {m: [] for m in modes}
    outside: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
    for _ in range(n):
        for m in modes:
            with tempfile.TemporaryDirectory() as out:
                env = dict(os.environ, **MODES[m])
                t = time.perf_counter()
                proc = subprocess.run([PY, "-m", "proctor", "grade", path, "--out", out],
                                      capture_output=True, text=True, env=env)
                walls[m].append(time.perf_counter() - t)
                reports = sorted(Path(out).glob("*/report.json"))
                report = json.loads(reports[0].read_text()) if reports else {"exercises": []}
            outside[m].append({e["id"]: e.get("seconds", 0.0) - sum(
                c.get("seconds", 0.0) for c in e["checks"])
                for e in report["exercises"] if e["status"] == "graded"})
            line = proc.stdout.strip().splitlines()[0] if proc.stdout.strip() else \
                proc.stderr[-500:]
            print(f"  {m}: {walls[m][-1]:.1f} s wall (exit {proc.returncode}): {line}",
                  flush=True)
    ids = list(outside[modes[0]][0])
    print(f"{'outside the checks':22s}" + "".join(f" {m:>8s}" for m in modes))
    for ex_id in ids:
        print(f"{ex_id:22s}" + "".join(
            f" {statistics.median(o.get(ex_id, 0.0) for o in outside[m]):8.2f}"
            for m in modes))
    for m in modes:
        print(f"proctor grade {path}, {m}: {statistics.median(walls[m]):.1f} s wall "
              f"(median of {n}); outside the checks: sum "
              f"{statistics.median(sum(o.values()) for o in outside[m]):.2f} s")
    print(f"load avg {os.getloadavg()[0]:.2f} at end")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=20, help="runs per case (default 20)")
    ap.add_argument("--no-torch", action="store_true", help="skip the torch import case")
    ap.add_argument("--unsafe", action="store_true", help="also time unsafe (no bwrap) mode")
    ap.add_argument("--exercises", nargs="?", const="", default=None,
                    help="harness cost per exercise (comma-separated ids; default all)")
    ap.add_argument("--sample", default=None, help="time proctor grade on this submission")
    ap.add_argument("--mode", choices=["all", *MODES], default="all",
                    help="--exercises/--sample: workers one by one (before), overlapped "
                         "(after), and two exercises side by side (side), or all three "
                         "interleaved (default)")
    args = ap.parse_args()
    modes = list(MODES) if args.mode == "all" else [args.mode]
    if args.exercises is not None:
        per_exercise([e for e in args.exercises.split(",") if e],
                     args.n if args.n != 20 else 1, modes)
        return
    if args.sample:
        sample(args.sample, args.n if args.n != 20 else 1, modes)
        return

    iso = sandbox.isolation()
    print(f"python       {PY}")
    print(f"isolation    available={iso['available']} ({iso['reason']}), bwrap "
          f"{iso['bwrap_version']}, cgroup={iso['cgroup']}, seccomp={iso['seccomp']}")
    print(f"limits       {', '.join(iso['limits'])}")
    try:
        print(f"load avg     {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    except OSError:
        pass
    if not iso["available"] and not args.unsafe:
        raise SystemExit("sandbox unavailable here; rerun with --unsafe to time unsafe mode")

    spec = SandboxSpec(ro_binds=sandbox.runtime_binds(), env=ENV, limits=Limits(), cpu=None)
    cases = [("/usr/bin/true", ["/usr/bin/true"]),
             ("python -c pass", [PY, "-c", "pass"]),
             ("python -c 'import numpy'", [PY, "-c", "import numpy"])]
    if not args.no_torch and importlib.util.find_spec("torch"):
        cases.append(("python -c 'import torch'", [PY, "-c", "import torch"]))

    modes = ["sandboxed"] if iso["available"] else []
    if args.unsafe:
        modes.append("unsafe")
    print(f"\n{args.n} runs each, interleaved; seconds (median [p10-p90])")
    print(f"{'command':28s} {'bare':>22s} " + " ".join(f"{m:>22s}" for m in modes)
          + "  overhead (median)")
    for name, argv in cases:
        # warm-up: page cache, sandbox probe, slot files
        timed_bare(argv)
        for m in modes:
            timed_box(argv, spec, unsafe=(m == "unsafe"))
        res: dict[str, list[float]] = {"bare": [], **{m: [] for m in modes}}
        for _ in range(args.n):
            res["bare"].append(timed_bare(argv))
            for m in modes:
                res[m].append(timed_box(argv, spec, unsafe=(m == "unsafe")))

        def fmt(xs):
            return f"{statistics.median(xs):.4f} [{pct(xs, .1):.3f}-{pct(xs, .9):.3f}]"

        over = "  ".join(
            f"{m}: +{(statistics.median(res[m]) - statistics.median(res['bare'])) * 1e3:.1f} ms"
            for m in modes)
        print(f"{name:28s} {fmt(res['bare']):>22s} "
              + " ".join(f"{fmt(res[m]):>22s}" for m in modes) + f"  {over}")


if __name__ == "__main__":
    main()
