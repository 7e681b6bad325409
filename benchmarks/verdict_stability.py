"""How stable are latency verdicts?  Repeated verdicts at 0.5x, 2x and 20x of a budget.

For candidates whose true ratio is 0.5x, 2x and 20x the budget, take N verdicts each
(fresh inputs every time) under each condition:

* ``as-is``: the machine as it is;
* ``hog``: a cache- and memory-hungry process this script starts on the other core(s);
* ``busy``: such a hog on *every* core, the timing core included ("both cores busy"),
  so that the workers share their core with it.

Hogs are started and stopped by this script.  The candidates do 1x, 4x and 40x the
reference's work against a 2x budget; each one's true ratio is first pinned down by one
long measurement (as-is), and its budget is set from it so that it sits at exactly 0.5x /
2x / 20x.  Prints, per case: the verdicts, the flip count (verdicts other than the right
one, inconclusive included), the median and worst decision time (wall and CPU), the
interval widths and the median ratio.

    python benchmarks/verdict_stability.py [--repeats 20] [--clock auto|cgroup|proc|wall]
                                           [--conditions as-is,hog,busy] [--cases 0.5,2,20]

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


def start_hogs(cores: list[int]) -> list[subprocess.Popen]:
    """One hog pinned to each of ``cores``; stopped at exit whatever happens."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    hogs = [subprocess.Popen([sys.executable, "-c", HOG, str(c)], env=env) for c in cores]
    atexit.register(stop_hogs, hogs)
    time.sleep(1.0)
    return hogs


def stop_hogs(hogs: list[subprocess.Popen]) -> None:
    for hog in hogs:
        if hog.poll() is None:
            hog.kill()
            hog.wait()


def hog_cores(condition: str) -> list[int]:
    every = sorted(os.sched_getaffinity(0))
    if condition == "busy":
        return every
    if condition == "hog":
        others = [c for c in every if c != timing_cpu()]
        if not others:
            print("(one core only: no hog possible)")
        return others
    return []


def true_ratio(cand: WorkerClient, ref: WorkerClient) -> float:
    long = Plan(min_blocks=81, max_blocks=81, max_cpu_s=600, max_wall_s=1200, drift=0.0,
                far_blocks=10 ** 6, retry_factor=1, precision=10.0)
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
              for o in outs if o.measured.get("interval")]
    secs = [o.measured["seconds"] for o in outs]
    cpu = [o.measured.get("cpu_seconds") or 0.0 for o in outs]
    return {
        "verdicts": {s: statuses.count(s) for s in sorted(set(statuses))},
        "flips": sum(s != expect for s in statuses),
        "pass_and_fail": "pass" in statuses and "fail" in statuses,
        "median_s": statistics.median(secs), "max_s": max(secs),
        "median_cpu_s": statistics.median(cpu), "max_cpu_s": max(cpu),
        "early": {e: [o.measured.get("early", "") for o in outs].count(e)
                  for e in sorted({o.measured.get("early", "") for o in outs})},
        "messages": sorted({o.message for o in outs if o.status != expect})[:3],
        "width_median": statistics.median(widths) if widths else float("nan"),
        "width_max": max(widths) if widths else float("nan"),
        "ratio_median": statistics.median(o.measured["ratio"] or 0 for o in outs),
        "ratio_range": (min(o.measured["ratio"] or 0 for o in outs),
                        max(o.measured["ratio"] or 0 for o in outs)),
        "blocks_median": statistics.median(o.measured["blocks"] for o in outs),
        "clock": outs[0].measured["clock"],
        "wall_ratio_median": statistics.median(o.measured.get("wall_ratio") or 0 for o in outs),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--clock", default="auto", choices=["auto", "cgroup", "proc", "wall"])
    ap.add_argument("--conditions", default="as-is,hog,busy")
    ap.add_argument("--cases", default="0.5,2,20", help="true ratio / budget of each case")
    args = ap.parse_args()
    plan = Plan(clock=args.clock)
    iso = sandbox.isolation()
    print(f"sandbox: {'yes' if iso.get('available') else 'no (unsafe workers)'}, "
          f"cgroup {iso.get('cgroup')}; cores {sorted(os.sched_getaffinity(0))}, timing core "
          f"{timing_cpu()}; {args.repeats} verdicts per case; "
          f"plan {plan}")
    ref = start(source(REFERENCE_REPS), "reference")
    cases = []
    for at in (float(x) for x in args.cases.split(",")):
        reps = max(1, round(REFERENCE_REPS * BUDGET * at))
        cases.append((f"{at:g}x budget", reps, "pass" if at < 1 else "fail", at))
    cands = {name: start(source(reps), "candidate") for name, reps, _, _ in cases}
    budgets = {}
    try:
        for name, reps, _, at in cases:
            r = true_ratio(cands[name], ref)
            budgets[name] = r / at
            print(f"{name}: {reps} vs {REFERENCE_REPS} sorts per call; true ratio {r:.3f} "
                  f"(81 blocks, as-is); budget set to {budgets[name]:.3f}x")
        for cond in args.conditions.split(","):
            cores = hog_cores(cond)
            hogs = start_hogs(cores) if cores else []
            try:
                load = os.getloadavg()[0]
                print(f"\n== {cond} (hogs on cores {cores}; load average {load:.1f} at start) ==")
                for j, (name, _, expect, _) in enumerate(cases):
                    r = run_case(cands[name], ref, expect, args.repeats, plan, 100 * j,
                                 budgets[name])
                    print(f"{name:<13} expect {expect:<5} verdicts {r['verdicts']}  flips "
                          f"{r['flips']}{' (PASS AND FAIL SEEN)' if r['pass_and_fail'] else ''}"
                          f"  early {r['early']}")
                    print(f"{'':13} decision median {r['median_s']:.2f} s, max {r['max_s']:.2f} s "
                          f"wall; {r['median_cpu_s']:.2f} s, max {r['max_cpu_s']:.2f} s CPU; "
                          f"blocks median {r['blocks_median']:g}; clock {r['clock']}")
                    print(f"{'':13} ratio median {r['ratio_median']:.3f} (range "
                          f"{r['ratio_range'][0]:.3f}–{r['ratio_range'][1]:.3f}), wall-clock "
                          f"ratio median {r['wall_ratio_median']:.3f}")
                    print(f"{'':13} interval width / ratio: median {r['width_median']:.3f}, "
                          f"max {r['width_max']:.3f}")
                    for m in r["messages"]:
                        print(f"{'':13} not {expect}: {m}")
                print(f"(load average {os.getloadavg()[0]:.1f} at end)")
            finally:
                stop_hogs(hogs)
    finally:
        ref.close()
        for c in cands.values():
            c.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
