"""The latency estimator and stopping rule (proctor.measure).

* ``median_interval``: coverage, ordering and small-n behaviour, checked exactly;
* the stopping rule on a fake pair of workers whose costs are known exactly;
* real sandboxed workers running the same function with controlled extra work:
  0.6x and 1.6x of the budget decide correctly on every repeat, 1.0x may be
  inconclusive but never flips between pass and fail.

No absolute times are asserted: only verdicts, ratios relative to the budget,
and the bookkeeping in ``measured``.
"""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np
import pytest

from proctor import sandbox
from proctor.library.spec import Budget, Exercise
from proctor.measure import Plan, latency_ratio, median_interval, min_blocks_for
from proctor.measure.compare import same_result
from proctor.worker import codec
from proctor.worker.client import WorkerClient, WorkerConfig, WorkerError
from proctor.worker.config import config_for

# --- median_interval ---------------------------------------------------------------


def _binom_cdf(k: int, n: int) -> float:
    return sum(math.comb(n, i) for i in range(k + 1)) / 2**n


@pytest.mark.parametrize("n", [1, 2, 5, 7, 8, 9, 15, 30, 41, 61])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_median_interval_is_the_narrowest_order_statistic_interval(n: int,
                                                                   confidence: float) -> None:
    # on 0..n-1 (shuffled) the bounds are the 0-based ranks of the order statistics
    lo, hi = median_interval([float(x) for x in np.random.default_rng(n).permutation(n)],
                             confidence)
    j = int(lo) + 1                              # 1-based rank of the lower bound
    assert hi == n - j                           # ranks j and n + 1 - j: symmetric
    tail = (1 - confidence) / 2
    if _binom_cdf(0, n) > tail:                  # too few points for the confidence
        assert (lo, hi) == (0, n - 1)
    else:
        # covers with at least `confidence`, and one rank further in would not
        assert _binom_cdf(j - 1, n) <= tail < _binom_cdf(j, n)


def test_median_interval_contains_the_median_and_narrows_with_data() -> None:
    rng = np.random.default_rng(0)
    widths = []
    for n in (9, 41, 161):
        xs = list(np.exp(rng.normal(0, 0.1, n)))
        lo, hi = median_interval(xs, 0.99)
        assert lo <= float(np.median(xs)) <= hi
        widths.append(hi - lo)
    assert widths[0] > widths[1] > widths[2]


def test_median_interval_is_monotone_in_confidence_and_ignores_outliers() -> None:
    rng = np.random.default_rng(1)
    xs = list(rng.normal(1.0, 0.05, 41))
    a, b = median_interval(xs, 0.9), median_interval(xs, 0.99)
    assert b[0] <= a[0] <= a[1] <= b[1]
    wild = xs[:-3] + [1e6, -1e6, 1e9]            # three absurd blocks move nothing much
    w = median_interval(wild, 0.99)
    assert 0.8 < w[0] <= w[1] < 1.2


def test_median_interval_empirical_coverage() -> None:
    rng = np.random.default_rng(2)
    hits = 0
    trials = 2000
    for _ in range(trials):
        xs = list(rng.standard_t(3, 15))          # heavy tails, true median 0
        lo, hi = median_interval(xs, 0.95)
        hits += lo <= 0 <= hi
    assert hits / trials >= 0.94


def test_min_blocks_for() -> None:
    assert min_blocks_for(0.95) == 6
    assert min_blocks_for(0.99) == 8
    assert Plan().min_blocks >= min_blocks_for(Plan().confidence)


# --- the stopping rule, on workers whose costs are known exactly -------------------


class _FakeProc:
    def __init__(self) -> None:
        self.cpu = 0.0
        self.pid = None

    def cpu_seconds(self) -> float:
        return self.cpu


class _FakeWorker:
    """Speaks the worker protocol; each run adds ``cost(i)`` seconds of CPU."""

    def __init__(self, cost, result=lambda x: float(np.sum(x)), label="w") -> None:
        self.proc = _FakeProc()
        self.config = WorkerConfig(cpu=None)
        self.cost, self.result, self.label = cost, result, label
        self.staged: dict[str, list] = {}
        self.runs = 0
        self._reply: dict | None = None

    def request(self, msg: dict, timeout: float, where: str = ""):
        self.send(msg)
        return self.receive(timeout)["ok"]

    def send(self, msg: dict) -> None:
        msg = codec.loads(codec.dumps(msg))       # what crossing the pipe does
        if msg["op"] == "stage":
            self.staged[msg["key"]] = msg["calls"]
            self._reply = {"ok": len(msg["calls"])}
        elif msg["op"] == "run":
            calls = self.staged.pop(msg["key"])
            out = []
            for args, _ in calls:
                self.runs += 1
                self.proc.cpu += self.cost(self.runs)
                out.append(self.result(*args))
            self._reply = codec.loads(codec.dumps({"ok": out}))

    def receive(self, timeout: float) -> dict:
        reply, self._reply = self._reply, None
        return reply


def _fake(ratio: float, noise: float = 0.0, seed: int = 0, **kw):
    rng = np.random.default_rng(seed)
    ref = _FakeWorker(lambda i: 1e-3)
    cand = _FakeWorker(lambda i: ratio * 1e-3 * float(np.exp(rng.normal(0, noise))), **kw)
    return cand, ref


def _measure(cand, ref, budget: float, plan: Plan | None = None, make=None, compare=None):
    make = make or (lambda rng: (rng.random(8),))
    return latency_ratio(cand, ref, "f", make, np.random.default_rng(0),
                         Budget(kind="latency", max=budget), compare, plan=plan or Plan())


def test_clear_pass_and_fail_stop_at_min_blocks() -> None:
    for ratio, want in ((0.6, "pass"), (1.6, "fail")):
        out = _measure(*_fake(ratio), budget=1.0)
        assert out.status == want
        assert out.measured["blocks"] == Plan().min_blocks
        assert out.measured["ratio"] == pytest.approx(ratio, rel=1e-6)
        lo, hi = out.measured["interval"]
        assert lo <= ratio <= hi
        assert out.measured["clock"] == "cpu:cgroup"


def test_interval_includes_the_drift_allowance() -> None:
    out = _measure(*_fake(0.6), budget=1.0, plan=Plan(drift=0.05))
    assert out.measured["interval"] == pytest.approx([0.6 / 1.05, 0.6 * 1.05], rel=1e-3)
    # a ratio within the drift allowance of the budget is never decided
    out = _measure(*_fake(0.99), budget=1.0, plan=Plan(drift=0.02, max_blocks=12))
    assert out.status == "inconclusive"
    assert out.measured["blocks"] == 12
    assert "half points" in out.message


def test_exactly_at_budget_is_inconclusive_at_the_cap() -> None:
    out = _measure(*_fake(1.0, noise=0.05), budget=1.0)
    assert out.status == "inconclusive"
    assert out.measured["blocks"] == Plan().max_blocks


def test_far_over_budget_fails_early() -> None:
    out = _measure(*_fake(25.0), budget=3.0)
    assert out.status == "fail"
    assert out.measured["early"] == "far"
    assert out.measured["blocks"] == Plan().far_blocks
    assert "far over" in out.message


def test_a_hopelessly_slow_run_is_stopped_at_the_ceiling() -> None:
    class Stuck(_FakeWorker):
        """Takes `cost` seconds of wall time per call: past a timeout it is killed."""

        def receive(self, timeout: float) -> dict:
            reply, self._reply = self._reply, None
            if self.runs > 2 and self.cost(self.runs) * 2 > timeout:   # after warm-up
                raise WorkerError("timeout", f"no answer within {timeout:.0f} s")
            return reply

    ref = _FakeWorker(lambda i: 1e-3)
    cand = Stuck(lambda i: 100.0)
    out = _measure(cand, ref, budget=3.0)
    assert out.status == "fail"
    assert out.measured["early"] == "ceiling"
    assert "far over the 3x budget" in out.message


def test_blocks_are_sized_by_both_sides() -> None:
    # a slow candidate gets fewer calls per block, so a block stays short
    fast = _measure(*_fake(1.5), budget=1.0).measured["calls_per_block"]
    slow = _measure(*_fake(12.0), budget=1.0).measured["calls_per_block"]
    assert fast > slow >= 2


def test_noisy_but_clear_cases_decide_the_same_way_every_time() -> None:
    for seed in range(20):
        assert _measure(*_fake(0.6, noise=0.15, seed=seed), budget=1.0).status == "pass"
        assert _measure(*_fake(1.6, noise=0.15, seed=seed), budget=1.0).status == "fail"


def test_wrong_result_during_timing_fails_with_a_reason() -> None:
    cand, ref = _fake(0.5, result=lambda x: 0.0)
    with pytest.raises(AssertionError, match="fast wrong answer is not fast"):
        _measure(cand, ref, budget=1.0)


def test_repeated_inputs_are_refused() -> None:
    with pytest.raises(RuntimeError, match="fresh input"):
        _measure(*_fake(1.0), budget=1.0, make=lambda rng: (np.zeros(4),))


def test_non_plain_result_during_timing_fails() -> None:
    cand, ref = _fake(0.5, result=lambda x: {codec.HANDLE_KEY: 1, "type": "Lazy"})
    with pytest.raises(AssertionError, match="not plain data"):
        _measure(cand, ref, budget=1.0)


def test_same_result() -> None:
    same_result({"a": [np.arange(3), 1.0]}, {"a": [np.arange(3), 1.0 + 1e-12]})
    for got, want in [(np.arange(3), np.arange(4)), (np.ones(2), np.zeros(2)), (1, 2),
                      ({"a": 1}, {"b": 1}), ([1], [1, 2]), ("x", np.ones(1))]:
        with pytest.raises(AssertionError):
            same_result(got, want)


def test_same_result_compares_values_not_types() -> None:
    """A dtype or container-type defect is judged by the check that owns that clause, not
    again by every latency check: timed outputs are compared by value."""
    same_result(np.arange(3, dtype=np.int32), np.arange(3, dtype=np.int64))
    same_result((np.int64(2), [1.0]), [2, (np.float32(1.0),)])
    same_result({"n": np.int32(5)}, {"n": 5})
    for got, want in [(np.int64(2), 3), ((1, 2), [1, 2, 3]), (np.float32(1.5), 1.25)]:
        with pytest.raises(AssertionError):
            same_result(got, want)


# --- real workers ---------------------------------------------------------------------

LIMITS = sandbox.Limits(wall_s=3600, cpu_s=3600)   # module-long workers
SPEC = Exercise(id="timing", title="timing", track="algorithms", kind="code", points=1,
                suggested_minutes=1)
REFERENCE_REPS = 24


def work_source(reps: int) -> str:
    """A function of known cost: ``reps`` sorts of its input (result independent of reps)."""
    return f"""
import numpy as np

def work(x):
    out = None
    for _ in range({reps}):
        out = np.sort(x)
    return out[::97].copy()
"""


def make_args(rng: np.random.Generator) -> tuple:
    return (rng.random(3000),)


def start_worker(source: str, label: str = "worker") -> WorkerClient:
    unsafe = not sandbox.isolation().get("available")
    config, _ = config_for(SPEC, None, unsafe)     # exactly as grading configures workers
    client = WorkerClient(dataclasses.replace(config, limits=LIMITS), label)
    client.start()
    client.send({"op": "load", "cells": [source]})
    while True:
        reply = client.receive(60)
        assert not reply.get("error"), reply
        if reply.get("done"):
            return client


@pytest.fixture(scope="module")
def reference():
    client = start_worker(work_source(REFERENCE_REPS), "reference")
    yield client
    client.close()


def verdicts(candidate: WorkerClient, reference: WorkerClient, repeats: int,
             plan: Plan | None = None) -> list:
    outs = []
    for seed in range(repeats):
        outs.append(latency_ratio(candidate, reference, "work", make_args,
                                  np.random.default_rng(1000 + seed),
                                  Budget(kind="latency", max=1.0), plan=plan or Plan()))
    return outs


@pytest.mark.parametrize("factor,want", [(0.6, "pass"), (1.6, "fail")])
def test_clear_ratios_decide_correctly_every_time(reference, factor: float, want: str) -> None:
    cand = start_worker(work_source(round(REFERENCE_REPS * factor)), "candidate")
    try:
        outs = verdicts(cand, reference, repeats=4)
    finally:
        cand.close()
    for out in outs:
        assert out.status == want, out.message
        lo, hi = out.measured["interval"]
        assert (hi <= 1.0) if want == "pass" else (lo > 1.0)
        assert out.measured["clock"].startswith("cpu:")
        assert out.measured["seconds"] > 0
        assert out.measured["staging_share"] < 0.2


def test_ratio_at_the_budget_never_flips(reference) -> None:
    cand = start_worker(work_source(REFERENCE_REPS), "candidate")   # the same code: 1.0x
    try:
        outs = verdicts(cand, reference, repeats=3)
    finally:
        cand.close()
    statuses = {o.status for o in outs}
    assert not {"pass", "fail"} <= statuses, [o.message for o in outs]
    for o in outs:
        lo, hi = o.measured["interval"]
        assert lo <= 1.0 <= hi or o.status != "inconclusive"


def test_wall_clock_fallback_is_never_wrong(reference) -> None:
    # without CPU accounting the grader's round trips are the clock: noisier (under
    # load it may not decide), but never on the wrong side
    cand = start_worker(work_source(round(REFERENCE_REPS * 0.4)), "candidate")
    try:
        out = verdicts(cand, reference, repeats=1, plan=Plan(clock="wall"))[0]
    finally:
        cand.close()
    assert out.measured["clock"] == "wall"
    assert out.status in ("pass", "inconclusive"), out.message


def test_proc_clock_agrees_with_cgroup_clock(reference) -> None:
    if not sandbox.isolation().get("cgroup"):
        pytest.skip("no cgroup accounting here")
    cand = start_worker(work_source(round(REFERENCE_REPS * 1.6)), "candidate")
    try:
        a = verdicts(cand, reference, 1, Plan(clock="cgroup"))[0]
        b = verdicts(cand, reference, 1, Plan(clock="proc"))[0]
    finally:
        cand.close()
    assert (a.status, b.status) == ("fail", "fail")
    assert b.measured["clock"] == "cpu:proc"
    assert a.measured["ratio"] == pytest.approx(b.measured["ratio"], rel=0.15)


def test_grader_thread_returns_to_its_cores(reference) -> None:
    before = os.sched_getaffinity(0)
    cand = start_worker(work_source(8), "candidate")
    try:
        verdicts(cand, reference, 1)
    finally:
        cand.close()
    assert os.sched_getaffinity(0) == before


# --- memory budgets ---------------------------------------------------------------------

MEM_REFERENCE = """
import numpy as np

def f(x):
    return np.sort(x)[::1000].copy()
"""

MEM_HUNGRY = """
import numpy as np

def f(x):
    copies = [x.copy() for _ in range(8)]          # eight extra copies held at once
    return np.sort(copies[-1])[::1000].copy()
"""

MEM_CHILD = """
import os
import numpy as np

def f(x):
    pid = os.fork()
    if pid == 0:                                   # a child grabs the memory and exits
        big = [x.copy() for _ in range(8)]
        os._exit(0 if len(big) else 1)
    os.waitpid(pid, 0)
    return np.sort(x)[::1000].copy()
"""


def _memory(cand_src: str, budget: Budget, source: str = "auto", ref_src: str = MEM_REFERENCE):
    from proctor.measure.memory import memory_use

    cand, ref = start_worker(cand_src, "candidate"), start_worker(ref_src, "reference")
    try:
        return memory_use(cand, ref, "f", lambda rng: (rng.random(1_000_000),),
                          np.random.default_rng(0), budget, source=source)
    finally:
        cand.close()
        ref.close()


@pytest.mark.parametrize("source", ["auto", "proc"])
def test_memory_ratio_budget(source: str) -> None:
    budget = Budget(kind="memory", max=2.0, unit="x reference")
    same = _memory(MEM_REFERENCE, budget, source)
    hungry = _memory(MEM_HUNGRY, budget, source)
    assert same.status == "pass", same.message
    assert hungry.status == "fail", hungry.message
    assert hungry.measured["candidate_mib"] > 2 * hungry.measured["reference_mib"] > 0
    # 8 extra copies of 7.6 MiB; freed heap the allocator kept since the warm-up call
    # sits in the baseline and is reused first, so less than all of it shows
    assert hungry.measured["candidate_mib"] - hungry.measured["reference_mib"] > 24
    assert same.measured["ratio"] == pytest.approx(1.0, abs=0.35)
    assert hungry.measured["source"] == (source if source != "auto" else same.measured["source"])


def test_memory_absolute_budget() -> None:
    roomy = _memory(MEM_HUNGRY, Budget(kind="memory", max=1024, unit="MiB"))
    tight = _memory(MEM_HUNGRY, Budget(kind="memory", max=40, unit="MiB"))
    assert (roomy.status, tight.status) == ("pass", "fail"), (roomy.message, tight.message)
    with pytest.raises(ValueError, match="unit"):
        _memory(MEM_REFERENCE, Budget(kind="memory", max=1, unit="parsecs"))


def test_memory_of_an_exited_child_is_counted_by_the_cgroup() -> None:
    if not sandbox.isolation().get("cgroup"):
        pytest.skip("no memory cgroup here")
    out = _memory(MEM_CHILD, Budget(kind="memory", max=2.0, unit="x reference"), "cgroup")
    assert out.measured["source"] == "cgroup"
    assert out.status == "fail", out.message


def test_memory_checks_results() -> None:
    with pytest.raises(AssertionError, match="wrong result"):
        _memory(MEM_REFERENCE.replace("np.sort(x)", "x"),
                Budget(kind="memory", max=2.0, unit="x reference"))


# --- calibration margins ------------------------------------------------------------------


def test_calibration_margins_report_intervals_margins_and_flips() -> None:
    from proctor import calibrate as cal
    from proctor.calibrate import table as vt
    from proctor.report import CheckResult, ExerciseResult

    def verdict(name: str, status: str, ratio: float, iv: list, must_fail=frozenset()):
        c = CheckResult("lat", "latency", status, 0, 1, True,
                        measured={"ratio": ratio, "interval": iv, "seconds": 1.0},
                        budget={"kind": "latency", "max": 3.0, "unit": "x reference"})
        return cal.Verdict(cal.Solution(name, None, must_fail),
                           ExerciseResult("ex", "Ex", "graded", 0, 1, [c]))

    vs = [verdict("accepted/r", "pass", 1.0, [0.9, 1.1]),
          verdict("accepted/r", "inconclusive", 2.9, [2.7, 3.1]),
          verdict("rejected/slow", "fail", 20.0, [18.0, 22.0], frozenset({"lat"}))]
    text = "\n".join(vt._margins(vs))
    assert "lat: budget 3.0 x reference" in text
    assert "accepted/r" in text and "interval [0.9, 3.1]" in text and "UNSTABLE" in text
    assert "slowest passing upper bound 3.1 = 1.03x the budget" in text
    assert "fastest failing lower bound 18 = 6.00x the budget" in text
    assert vt.flips(vs) == ["ex accepted/r lat: verdicts ['inconclusive', 'pass'] across repeats"]
