"""Start-up overhead of the worker sandbox (proctor.sandbox), and the harness's cost per
exercise.

Default: runs each command N times bare (plain subprocess) and sandboxed (spawn + wait),
interleaved A B A B so that machine load drifts affect both alike, and prints
median / p10 / p90 wall times and the median overhead.

``--exercises [ID,...]``: grades each exercise's reference solution against itself through
the real sandbox, as ``proctor grade`` does, and prints per exercise the wall time of the
whole exercise, of its checks, and *outside the checks* (the difference: starting both
workers, imports, running the notebook cells), the median of ``-n`` runs.

``--sample DIR``: times ``proctor grade DIR`` (e.g. samples/strong) end to end.

Prints figures only; nothing is asserted.

    python benchmarks/sandbox_overhead.py [-n 20] [--no-torch] [--unsafe]
    python benchmarks/sandbox_overhead.py --exercises [box_ops,detection] [-n 3]
    python benchmarks/sandbox_overhead.py --sample samples/strong
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time

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


def per_exercise(ids: list[str], n: int) -> None:
    """Wall seconds of each exercise, of its checks, and outside them (median of n)."""
    from proctor.grading.exercise import grade_exercise
    from proctor.grading.submission import reference_source
    from proctor.library.spec import Library

    lib = Library.find()
    print(f"load avg     {os.getloadavg()[0]:.2f} at start; median of {n} run(s), seconds")
    print(f"{'exercise':22s} {'total':>7s} {'checks':>7s} {'outside':>8s}  slowest check")
    rows = []
    for ex_id in ids or lib.ids():
        ex = lib.get(ex_id)
        ref = reference_source(ex)
        runs = []
        for _ in range(n):
            r = grade_exercise(ex, ref, ref, hidden=True, unsafe=False)
            checks = sum(c.seconds for c in r.checks)
            slow = max(r.checks, key=lambda c: c.seconds, default=None)
            runs.append((r.seconds, checks, r.seconds - checks,
                         f"{slow.id} {slow.seconds:.2f}" if slow else ""))
        total, checks, outside = (statistics.median(x[i] for x in runs) for i in range(3))
        rows.append(outside)
        print(f"{ex_id:22s} {total:7.2f} {checks:7.2f} {outside:8.2f}  {runs[-1][3]}", flush=True)
    print(f"outside the checks: max {max(rows):.2f} s, sum {sum(rows):.2f} s; load avg "
          f"{os.getloadavg()[0]:.2f} at end")


def sample(path: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        proc = subprocess.run([PY, "-m", "proctor", "grade", path, "--out", out],
                              capture_output=True, text=True)
        dt = time.perf_counter() - t
    print(proc.stdout.strip().splitlines()[0] if proc.stdout.strip() else proc.stderr[-500:])
    print(f"proctor grade {path}: {dt:.1f} s wall (exit {proc.returncode}); load avg "
          f"{os.getloadavg()[0]:.2f} at end")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=20, help="runs per case (default 20)")
    ap.add_argument("--no-torch", action="store_true", help="skip the torch import case")
    ap.add_argument("--unsafe", action="store_true", help="also time unsafe (no bwrap) mode")
    ap.add_argument("--exercises", nargs="?", const="", default=None,
                    help="harness cost per exercise (comma-separated ids; default all)")
    ap.add_argument("--sample", default=None, help="time proctor grade on this submission")
    args = ap.parse_args()
    if args.exercises is not None:
        per_exercise([e for e in args.exercises.split(",") if e],
                     args.n if args.n != 20 else 1)
        return
    if args.sample:
        sample(args.sample)
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
