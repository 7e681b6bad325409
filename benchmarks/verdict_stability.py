"""How stable are latency verdicts?  Repeated verdicts at 0.67x and 1.5x of a budget.

For a candidate whose true ratio is 0.67x the budget and one at 1.5x, take N
verdicts each (fresh inputs every time), first as the machine is, then with a CPU
hog this script starts on another core (and stops itself).  The candidates do
1.34x and 3x the reference's work; each one's true ratio (per-call overheads
included) is first pinned down by one long measurement, and its budget is set
from it so that it sits at exactly 0.67x / 1.5x.  Prints, per case: the
verdicts, the flip count (verdicts other than the right one), the median and
worst decision time, the interval widths and the median ratio.

    python benchmarks/verdict_stability.py [--repeats 20] [--clock auto|cgroup|proc|wall]

Workers are the real sandbox when available (unsafe subprocesses otherwise), pinned
to the timing core exactly as grading pins them.  Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from proctor import sandbox
from proctor.library.spec import Budget, Exercise
from proctor.measure import Plan, latency_ratio
from proctor.worker.client import WorkerClient
from proctor.worker.config import config_for, timing_cpu

BUDGET = 2.0
REFERENCE_REPS = 20
LIMITS = sandbox.Limits(wall_s=3600, cpu_s=3600)   # module-long workers
SPEC = Exercise(id="timing", title="timing", track="algorithms", kind="code", points=1,
                suggested_minutes=1)

HOG = """
import numpy as np, os, sys
os.sched_setaffinity(0, {int(sys.argv[1])})
a = np.random.random((600, 600))
while True:                        # cache- and memory-hungry, like a busy neighbour
    a = (a @ a) / 600.0
    np.sort(np.random.random(1 << 20))
"""


def source(reps: int) -> str:
    return f"""
import numpy as np

def work(x):
    out = None
    for _ in range({reps}):
        out = np.sort(x)
    return out[::97].copy()
"""


def start(src: str, label: str) -> WorkerClient:
    unsafe = not sandbox.isolation().get("available")
    config, _ = config_for(SPEC, None, unsafe)     # exactly as grading configures workers
    client = WorkerClient(dataclasses.replace(config, limits=LIMITS), label)
    client.start()
    client.send({"op": "load", "cells": [src]})
    while not client.receive(60).get("done"):
        pass
    return client


def start_hog() -> subprocess.Popen | None:
    others = sorted(os.sched_getaffinity(0) - {timing_cpu()})
    if not others:
        print("(one core only: no hog possible)")
        return None
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    hog = subprocess.Popen([sys.executable, "-c", HOG, str(others[0])], env=env)
    atexit.register(stop_hog, hog)
    time.sleep(1.0)
    return hog


def stop_hog(hog: subprocess.Popen | None) -> None:
    if hog is not None and hog.poll() is None:
        hog.kill()
        hog.wait()


def true_ratio(cand: WorkerClient, ref: WorkerClient) -> float:
    long = Plan(min_blocks=81, max_blocks=81, max_seconds=600, drift=0.0)
    out = latency_ratio(cand, ref, "work", lambda rng: (rng.random(3000),),
                        np.random.default_rng(99), Budget(kind="latency", max=1e9), plan=long)
    return out.measured["ratio"]


def run_case(cand: WorkerClient, ref: WorkerClient, expect: str, repeats: int,
             plan: Plan, seed0: int, budget: float) -> dict:
    outs = []
    for i in range(repeats):
        outs.append(latency_ratio(cand, ref, "work", lambda rng: (rng.random(3000),),
                                  np.random.default_rng(seed0 + i),
                                  Budget(kind="latency", max=budget), plan=plan))
    statuses = [o.status for o in outs]
    widths = [(o.measured["interval"][1] - o.measured["interval"][0]) / o.measured["ratio"]
              for o in outs]
    secs = [o.measured["seconds"] for o in outs]
    return {
        "verdicts": {s: statuses.count(s) for s in sorted(set(statuses))},
        "flips": sum(s != expect for s in statuses),
        "pass_and_fail": "pass" in statuses and "fail" in statuses,
        "median_s": statistics.median(secs), "max_s": max(secs),
        "width_median": statistics.median(widths), "width_max": max(widths),
        "ratio_median": statistics.median(o.measured["ratio"] for o in outs),
        "ratio_range": (min(o.measured["ratio"] for o in outs),
                        max(o.measured["ratio"] for o in outs)),
        "blocks_median": statistics.median(o.measured["blocks"] for o in outs),
        "clock": outs[0].measured["clock"],
        "wall_ratio_median": statistics.median(o.measured["wall_ratio"] for o in outs),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--clock", default="auto", choices=["auto", "cgroup", "proc", "wall"])
    ap.add_argument("--conditions", default="as-is,hog")
    args = ap.parse_args()
    plan = Plan(clock=args.clock)
    iso = sandbox.isolation()
    print(f"sandbox: {'yes' if iso.get('available') else 'no (unsafe workers)'}, "
          f"cgroup {iso.get('cgroup')}; cores {sorted(os.sched_getaffinity(0))}, timing core "
          f"{timing_cpu()}; {args.repeats} verdicts per case; "
          f"plan {plan}")
    ref = start(source(REFERENCE_REPS), "reference")
    cases = [("0.67x budget", round(REFERENCE_REPS * BUDGET * 0.67), "pass", 0.67),
             ("1.5x budget", round(REFERENCE_REPS * BUDGET * 1.5), "fail", 1.5)]
    cands = {name: start(source(reps), "candidate") for name, reps, _, _ in cases}
    budgets = {}
    try:
        for name, reps, _, at in cases:
            r = true_ratio(cands[name], ref)
            budgets[name] = r / at
            print(f"{name}: {reps} vs {REFERENCE_REPS} sorts per call; true ratio {r:.3f} "
                  f"(81 blocks, as-is); budget set to {budgets[name]:.3f}x")
        for cond in args.conditions.split(","):
            hog = start_hog() if cond == "hog" else None
            try:
                load = os.getloadavg()[0]
                print(f"\n== {cond} (load average {load:.1f} at start) ==")
                for j, (name, _, expect, _) in enumerate(cases):
                    r = run_case(cands[name], ref, expect, args.repeats, plan, 100 * j,
                                 budgets[name])
                    print(f"{name:<13} expect {expect:<5} verdicts {r['verdicts']}  flips "
                          f"{r['flips']}{' (PASS AND FAIL SEEN)' if r['pass_and_fail'] else ''}")
                    print(f"{'':13} decision median {r['median_s']:.2f} s, max {r['max_s']:.2f} s;"
                          f" blocks median {r['blocks_median']:g}; clock {r['clock']}")
                    print(f"{'':13} ratio median {r['ratio_median']:.3f} (range "
                          f"{r['ratio_range'][0]:.3f}–{r['ratio_range'][1]:.3f}), wall-clock "
                          f"ratio median {r['wall_ratio_median']:.3f}")
                    print(f"{'':13} interval width / ratio: median {r['width_median']:.3f}, "
                          f"max {r['width_max']:.3f}")
                print(f"(load average {os.getloadavg()[0]:.1f} at end)")
            finally:
                stop_hog(hog)
    finally:
        ref.close()
        for c in cands.values():
            c.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
