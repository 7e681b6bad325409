"""Are latency ratios true to the work?  reported / true for k-times-the-work solutions.

For every latency check in the library (or those named), this script builds, from the
exercise's reference solution, a submission whose timed function (or method) does the
reference's work ``k`` times over (k = 2, 4, 8 by default), grades it against the
reference through the real sandbox exactly as ``proctor grade`` does (only the latency
checks run), and compares the reported ratio with the *true* one: the in-process CPU-time
ratio (``time.thread_time``) of the same two functions on the same inputs (the check's own
``make_args`` replayed from the same generator state), measured here, outside the sandbox,
on the timing core, with the workers' memory mode while timing (``staging.allocator``;
without it, a reference ``multi_head_attention`` ran here at 4.3 or 8.4 ms a call, and
its "true" ratio for k = 2 read 1.83).  Prints one row per check and k; nothing is asserted.

    python benchmarks/ratio_fidelity.py [--k 2,4,8] [--exercises box_ops,seg_masks]
                                        [--load quiet|hogs] [--true-seconds 1.5]

``--load hogs`` starts one CPU- and cache-hungry process per core for the whole run
(stopped by the script), i.e. both cores busy.

How the k-times solutions are built: a cell appended to the reference's cells wraps each
timed function ``f`` as ``f_k(*a) = f(*a) k-1 times, then f(*a)`` (re-entrant calls, e.g.
``batched_nms`` calling ``nms``, run once, so every timed function does exactly k times
its work); a timed method ``C.m`` gets a subclass holding k-1 shadow instances that are
updated alongside (a tracker doing k trackers' work).  Objects of a timed method are
built with no arguments, as the library's checks build them.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = "1"   # the in-process side runs single-threaded, like the workers

import argparse  # noqa: E402
import atexit  # noqa: E402
import copy  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from proctor import sandbox  # noqa: E402
from proctor.grading import exercise as grading_exercise  # noqa: E402
from proctor.grading.exercise import Source, grade_exercise  # noqa: E402
from proctor.grading.submission import reference_source  # noqa: E402
from proctor.library.spec import ExerciseDir, Library  # noqa: E402
from proctor.measure import latency as ctx_module  # noqa: E402  (read per call)
from proctor.verdicts import Outcome  # noqa: E402
from proctor.worker import staging  # noqa: E402
from proctor.worker.config import timing_cpu  # noqa: E402

WRAP_FUNCTIONS = '''
import functools as _pf_functools
_pf_depth = [0]

def _pf_k_times(_f, _k):
    @_pf_functools.wraps(_f)
    def _g(*a, **kw):
        if _pf_depth[0]:                 # called from another timed function: once
            return _f(*a, **kw)
        _pf_depth[0] += 1
        try:
            for _ in range(_k - 1):
                _f(*a, **kw)
            return _f(*a, **kw)
        finally:
            _pf_depth[0] -= 1
    return _g
'''

WRAP_METHOD = '''
class {cls}({cls}):
    """{k} instances' work per call of {method}: k-1 shadows are updated alongside."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self._pf_shadows = [{cls}.__mro__[1](*a, **kw) for _ in range({k} - 1)]

    def {method}(self, *a, **kw):
        for s in self._pf_shadows:
            s.{method}(*a, **kw)
        return super().{method}(*a, **kw)
'''

HOG = """
import numpy as np, os, sys
os.sched_setaffinity(0, {int(sys.argv[1])})
a = np.random.random((600, 600))
while True:                        # cache- and memory-hungry, like a busy neighbour
    a = (a @ a) / 600.0
    np.sort(np.random.random(1 << 20))
"""


@dataclass
class Timed:
    """One latency check's call to ``ctx.latency``, as the grader made it."""

    check: str
    function: str
    method_of: str | None           # the class name when a method of a remote object is timed
    make_args: Any                  # deep copies, taken before the measurement used them
    rng: Any
    budget: float
    outcome: Outcome | None = None
    extra: dict = field(default_factory=dict)


class Recorder:
    """Stands in for ``latency_ratio`` in proctor.measure.latency: records, then measures
    (or, when ``measure`` is False, returns a placeholder without measuring)."""

    def __init__(self, measure: bool, plan=None) -> None:
        self.measure = measure
        self.plan = plan
        self.calls: list[Timed] = []
        self.check = ""
        self.real = ctx_module.latency_ratio

    def __call__(self, candidate, reference, function, make_args, rng, budget, compare=None,
                 call_timeout=30.0, plan=None, handles=None):
        method_of = None
        if handles is not None:
            method_of = self.types.get(handles[1], "object")
        t = Timed(self.check, function, method_of, copy.deepcopy(make_args), copy.deepcopy(rng),
                  float(budget.max))
        self.calls.append(t)
        if not self.measure:
            return Outcome("pass", "recorded, not measured")
        plan = self.plan or plan
        kw = {"plan": plan} if plan is not None else {}
        t.outcome = self.real(candidate, reference, function, make_args, rng, budget, compare,
                              call_timeout=call_timeout, handles=handles, **kw)
        return t.outcome


def _run_latency_checks(ex: ExerciseDir, cand: Source, ref: Source, unsafe: bool,
                        recorder: Recorder) -> float:
    """Grade only the latency checks of ``ex``; returns the seconds it took."""
    original_collect = grading_exercise.collect_checks
    original_run = grading_exercise.run_check
    original_latency = ctx_module.latency_ratio
    from proctor.worker import proxy as proxy_module

    types: dict[int, str] = {}
    recorder.types = types
    original_wrap = proxy_module._wrap

    def wrap(client, value, timeout):      # remember the type name of every handle
        if isinstance(value, dict) and isinstance(value.get("__proctor_handle__"), int):
            types[value["__proctor_handle__"]] = str(value.get("type", "object"))
        return original_wrap(client, value, timeout)

    def collect(ex_, hidden):
        return [d for d in original_collect(ex_, hidden) if d.kind == "latency"]

    def run(d, ctx):
        recorder.check = d.id
        return original_run(d, ctx)

    grading_exercise.collect_checks = collect
    grading_exercise.run_check = run
    ctx_module.latency_ratio = recorder
    proxy_module._wrap = wrap
    t0 = time.monotonic()
    try:
        result = grade_exercise(ex, cand, ref, hidden=True, unsafe=unsafe)
    finally:
        grading_exercise.collect_checks = original_collect
        grading_exercise.run_check = original_run
        ctx_module.latency_ratio = original_latency
        proxy_module._wrap = original_wrap
    for c in result.checks:
        if c.status in ("error", "timeout"):
            print(f"  !! {ex.id} {c.id}: {c.status}: {c.message[:300]}", file=sys.stderr)
    return time.monotonic() - t0


def k_times_cell(timed: list[Timed], k: int) -> str:
    """The cell that makes every timed function (or method) do k times its work."""
    parts = [WRAP_FUNCTIONS]
    done = set()
    for t in timed:
        if (t.function, t.method_of) in done:
            continue
        done.add((t.function, t.method_of))
        if t.method_of is None:
            parts.append(f"{t.function} = _pf_k_times({t.function}, {k})\n")
        else:
            parts.append(WRAP_METHOD.format(cls=t.method_of, method=t.function, k=k))
    return "\n".join(parts)


def load_namespace(cells: list[str], artifact_dir: Path | None, ex_id: str) -> dict:
    """Exec cells here (trusted: the reference solution and a wrapper)."""
    os.environ["PROCTOR_GRADING"] = "1"
    os.environ["PROCTOR_EXERCISE"] = ex_id
    if artifact_dir is not None:
        os.environ["PROCTOR_ARTIFACT_DIR"] = str(artifact_dir)
    ns: dict[str, Any] = {"__name__": "__main__"}
    for i, cell in enumerate(cells):
        exec(compile(cell, f"<cell {i + 1}>", "exec"), ns)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)
    return ns


def true_ratio(t: Timed, ns_ref: dict, ns_k: dict, seconds: float) -> tuple[float, int, float]:
    """In-process CPU-time ratio f_k / f on the inputs the measurement drew (same generator
    state): per input, f, f_k, f_k, f (ABBA: a drift of the machine cancels), the ratio of
    the two sides' sums; the median over inputs (a burst of load on one side is an outlier,
    as in the measurement).  Returns (ratio, inputs, reference ms per call)."""
    make, rng = copy.deepcopy(t.make_args), copy.deepcopy(t.rng)
    if t.method_of is None:
        f_ref, f_k = ns_ref[t.function], ns_k[t.function]
    else:
        f_ref = getattr(ns_ref[t.method_of](), t.function)
        f_k = getattr(ns_k[t.method_of](), t.function)
    sides = {"r": f_ref, "k": f_k}
    args = make(rng)
    for f in sides.values():              # warm-up, like the measurement's first block
        f(*copy.deepcopy(args))
    ratios, ref_s, spent, n = [], 0.0, 0.0, 0
    while n < 8 or spent < seconds:
        args = make(rng)
        quad = {"r": 0.0, "k": 0.0}
        for side in ("r", "k", "k", "r") if n % 2 == 0 else ("k", "r", "r", "k"):
            a = copy.deepcopy(args)       # each run its own copy, made outside the clock
            t0 = time.thread_time()
            sides[side](*a)
            quad[side] += time.thread_time() - t0
        ratios.append(quad["k"] / quad["r"])
        ref_s += quad["r"] / 2
        spent += quad["r"] + quad["k"]
        n += 1
        if n >= 400:
            break
    return statistics.median(ratios), n, 1000 * ref_s / n


def start_hogs() -> list[subprocess.Popen]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    hogs = [subprocess.Popen([sys.executable, "-c", HOG, str(c)], env=env)
            for c in sorted(os.sched_getaffinity(0))]
    atexit.register(stop_hogs, hogs)
    time.sleep(1.0)
    return hogs


def stop_hogs(hogs: list[subprocess.Popen]) -> None:
    for h in hogs:
        if h.poll() is None:
            h.kill()
            h.wait()


def latency_exercises(lib: Library, wanted: list[str] | None) -> list[ExerciseDir]:
    out = []
    for ex_id in wanted or lib.ids():
        ex = lib.get(ex_id)
        if any(b.kind == "latency" for b in ex.spec.budgets.values()):
            out.append(ex)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", default="2,4,8")
    ap.add_argument("--exercises", default="", help="comma-separated ids (default: all with "
                    "a latency budget)")
    ap.add_argument("--load", default="quiet", choices=["quiet", "hogs"])
    ap.add_argument("--true-seconds", type=float, default=1.5,
                    help="CPU seconds of the in-process measurement per check and k")
    ap.add_argument("--unsafe", action="store_true", help="no sandbox (for a quick look)")
    ap.add_argument("--blocks", type=int, default=0,
                    help="measure exactly this many blocks (no early verdict): the ratio's "
                         "bias without the sampling noise of an 8-block verdict")
    ap.add_argument("--max-calls", type=int, default=0,
                    help="at most this many calls per block (default: the Plan's)")
    args = ap.parse_args()
    ks = [int(k) for k in args.k.split(",")]
    lib = Library.find()
    iso = sandbox.isolation()
    unsafe = args.unsafe or not iso.get("available")
    exercises = latency_exercises(lib, [e for e in args.exercises.split(",") if e] or None)
    hogs = start_hogs() if args.load == "hogs" else []
    print(f"sandbox {'no (unsafe workers)' if unsafe else 'yes'}, cgroup {iso.get('cgroup')}; "
          f"timing core {timing_cpu()}; load {args.load}; load average "
          f"{os.getloadavg()[0]:.1f} at start")
    print(f"{'check':32s} {'k':>2s} {'budget':>6s} {'reported':>9s} {'interval':>15s} "
          f"{'true':>6s} {'rep/true':>8s} {'verdict':>12s} {'ref ms':>7s} {'stg':>5s} "
          f"{'raw':>6s} {'bnd':>5s}")
    rows = []
    # the workers' memory mode while timing, here for the whole run: switching it off sets
    # glibc's thresholds for good (no dynamic mmap threshold), and a 0.09 ms patchify then
    # ran at 0.27 ms here, every 393 KB result mapped afresh
    staging.allocator(True)
    try:
        for ex in exercises:
            ref = reference_source(ex)
            probe = Recorder(measure=False)           # which functions are timed?
            _run_latency_checks(ex, ref, ref, True, probe)
            ns_ref = load_namespace(ref.cells, ref.artifact_dir, ex.id)
            for k in ks:
                cell = k_times_cell(probe.calls, k)
                cand = Source(list(ref.cells) + [cell], ref.artifact_dir)
                plan = None
                knobs: dict[str, Any] = {}
                if args.blocks:
                    knobs.update(min_blocks=args.blocks, max_blocks=args.blocks,
                                 far_blocks=10 ** 6, max_cpu_s=1e6, max_wall_s=1e6,
                                 retry_factor=1, confidence=0.999999)
                if args.max_calls:
                    knobs.update(max_calls_per_block=args.max_calls)
                if knobs:
                    from proctor.measure import Plan
                    plan = Plan(**knobs)
                rec = Recorder(measure=True, plan=plan)
                _run_latency_checks(ex, cand, ref, unsafe, rec)
                ns_k = load_namespace(list(ref.cells) + [cell], ref.artifact_dir, ex.id)
                for t in rec.calls:
                    o = t.outcome
                    m = o.measured if o is not None else {}
                    cpu = os.sched_getaffinity(0)
                    os.sched_setaffinity(0, {timing_cpu()})
                    try:
                        truth, _, ref_ms = true_ratio(t, ns_ref, ns_k, args.true_seconds)
                    finally:
                        os.sched_setaffinity(0, cpu)
                    rep = m.get("ratio")
                    iv = m.get("interval") or [float("nan")] * 2
                    fid = rep / truth if rep else float("nan")
                    rows.append((ex.id, t.check, k, rep, truth, fid, o.status if o else "?"))
                    budget = t.budget
                    stg = m.get("staging_share")
                    print(f"{ex.id + ' ' + t.check:32s} {k:2d} {budget:6.2f} "
                          f"{rep if rep is not None else float('nan'):9.3f} "
                          f"{iv[0]:7.3f}-{iv[1]:<7.3f} {truth:6.3f} {fid:8.3f} "
                          f"{o.status if o else '?':>12s} {ref_ms:7.2f} "
                          f"{stg if stg is not None else float('nan'):5.2f} "
                          f"{m.get('raw_ratio', float('nan')):6.3f} "
                          f"{m.get('boundary_share', float('nan')):5.2f}", flush=True)
    finally:
        stop_hogs(hogs)
    fids = [r[5] for r in rows if r[5] == r[5]]
    if fids:
        worst = max(rows, key=lambda r: abs(r[5] - 1) if r[5] == r[5] else -1)
        print(f"\nreported/true: {min(fids):.3f}–{max(fids):.3f} over {len(fids)} rows "
              f"(worst {worst[0]} {worst[1]} k={worst[2]}: {worst[5]:.3f}); "
              f"{sum(0.9 <= f <= 1.1 for f in fids)}/{len(fids)} within 0.9–1.1; load average "
              f"{os.getloadavg()[0]:.1f} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
