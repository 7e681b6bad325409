"""Grading throughput: submissions per hour with ``--jobs 1..N`` and with two shards side
by side (``--shard 0/2`` and ``1/2``, then ``proctor gradebook``), where the time goes (from
the reports' own timings), and a projection for a campaign on a cluster. Prints figures;
asserts nothing (timings on a shared machine are noisy).

    python benchmarks/throughput.py [--copies 3] [--exercise box_ops ...] [--max-jobs N]
        [--unsafe] [--campaign 500 --nodes 10 --node-cores 8 --pod-cores 2]

Submissions are copies of samples/strong and samples/flawed (named apart), graded through
the real command line, as the grading pods run it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def proctor(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PROCTOR_ROOT": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "proctor", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen) -> None:
    _, err = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"proctor exited {proc.returncode}:\n{err[-2000:]}")


def submissions(tmp: Path, copies: int) -> list[Path]:
    subs = []
    for i in range(copies):
        for sample in ("strong", "flawed"):
            dest = tmp / "subs" / f"{sample}-{i}"
            shutil.copytree(ROOT / "samples" / sample, dest)
            subs.append(dest)
    return subs


def run(label: str, runs: list[list[str]]) -> float:
    """Start every command line at once, wait for all; return the wall time."""
    t0 = time.perf_counter()
    procs = [proctor(*argv) for argv in runs]
    for p in procs:
        finish(p)
    wall = time.perf_counter() - t0
    print(f"  {label:<34} {wall:7.1f} s", flush=True)
    return wall


def breakdown(out_dirs: list[Path]) -> dict[str, float]:
    """Seconds by where they went, summed over the reports in ``out_dirs``."""
    spent: dict[str, float] = defaultdict(float)
    for d in out_dirs:
        for path in d.glob("*/report.json"):
            r = json.loads(path.read_text())
            spent["submissions"] += 1
            spent["grading (report)"] += r["environment"].get("grading_seconds", 0.0)
            for e in r["exercises"]:
                checks = 0.0
                for c in e["checks"]:
                    spent[f"checks: {c['kind']}"] += c.get("seconds", 0.0)
                    checks += c.get("seconds", 0.0)
                spent["workers + notebook + reference"] += max(0.0, e.get("seconds", 0.0)
                                                               - checks)
    return spent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=3,
                    help="copies of each sample (default 3: 6 submissions)")
    ap.add_argument("--exercise", action="append",
                    help="exercises to grade (default: box_ops; 'all' for the library)")
    ap.add_argument("--max-jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--unsafe", action="store_true", help="grade without the sandbox")
    ap.add_argument("--campaign", type=int, default=500, help="submissions to project for")
    ap.add_argument("--nodes", type=int, default=10)
    ap.add_argument("--node-cores", type=int, default=8, help="allocatable cores per node")
    ap.add_argument("--pod-cores", type=int, default=2,
                    help="cores per grading pod (deploy/k8s/40-grade-job.yaml)")
    args = ap.parse_args()
    exercises = args.exercise or ["box_ops"]
    only = [] if exercises == ["all"] else [a for e in exercises for a in ("--exercise", e)]
    common = [*only, *(["--unsafe-no-sandbox"] if args.unsafe else [])]

    from proctor import sandbox

    iso = sandbox.isolation()
    print(f"machine: {os.cpu_count()} cpus, sandbox: "
          f"{'off (--unsafe)' if args.unsafe else iso.get('reason')}, exercises: "
          f"{', '.join(exercises)}")
    with tempfile.TemporaryDirectory(prefix="proctor-throughput-") as tmpname:
        tmp = Path(tmpname)
        subs = [str(p) for p in submissions(tmp, args.copies)]
        n = len(subs)
        print(f"{n} submissions; wall time of each configuration:")
        rates = {}
        outs: dict[str, list[Path]] = {}
        for jobs in range(1, args.max_jobs + 1):
            out = tmp / f"jobs{jobs}"
            wall = run(f"one run, --jobs {jobs}", [["grade", *subs, "--out", str(out),
                                                    "--jobs", str(jobs), *common]])
            rates[f"--jobs {jobs}"] = n / wall * 3600
            outs[f"--jobs {jobs}"] = [out]
        shards = [tmp / "shard0", tmp / "shard1"]
        wall = run("2 shards side by side, --jobs 1", [
            ["grade", *subs, "--out", str(s), "--shard", f"{i}/2", *common]
            for i, s in enumerate(shards)])
        merge = run("merge (proctor gradebook)", [["gradebook", *map(str, shards), "--out",
                                                   str(tmp / "merged")]])
        rates["2 shards + merge"] = n / (wall + merge) * 3600
        outs["2 shards + merge"] = shards

        print("\nsubmissions per hour:")
        for label, rate in rates.items():
            print(f"  {label:<34} {rate:7.0f} /h")

        print("\nwhere the time goes (--jobs 1, summed over the reports):")
        spent = breakdown(outs["--jobs 1"])
        wall1 = n / rates["--jobs 1"] * 3600
        parts = sorted(k for k in spent if k not in ("submissions", "grading (report)"))
        overhead = wall1 - spent["grading (report)"]
        for key, value in [*((k, spent[k]) for k in parts),
                           ("process start, intake, gradebook", overhead)]:
            print(f"  {key:<34} {value:7.1f} s  ({value / wall1:5.1%} of the wall)")
        print(f"  {'(wall, one run --jobs 1)':<34} {wall1:7.1f} s")

        # A grading pod owns pod_cores whole cores and runs --jobs 1: what one run with
        # --jobs 1 does here when this machine has that many cores (the timing core and the
        # grader's). Shards share nothing but the merge, so pods add up.
        per_pod = rates["--jobs 1"] * min(1.0, (os.cpu_count() or 1) / args.pod_cores)
        pods = args.nodes * (args.node_cores // args.pod_cores)
        minutes = args.campaign / (per_pod * pods) * 60 if per_pod else float("inf")
        print(f"\nprojection: one grading pod ({args.pod_cores} whole cores, --jobs 1) grades "
              f"~{per_pod:.0f} submissions/h of these exercises (this machine, --jobs 1); "
              f"{args.nodes} nodes x {args.node_cores // args.pod_cores} pods = {pods} shards "
              f"grade {args.campaign} submissions in ~{minutes:.1f} min, plus the merge "
              f"({merge:.1f} s here for {n}) and image pulls, at this machine's per-core "
              "speed; shard sizes differ by at most one submission.")


if __name__ == "__main__":
    main()
