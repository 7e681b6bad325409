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
import statistics
import time

import numpy as np
import pytest

from proctor import sandbox
from proctor.library.spec import Budget, Exercise
from proctor.measure import Plan, latency_ratio, median_interval, min_blocks_for
from proctor.measure.compare import same_result
from proctor.measure.stats import decide_at_cap, widened_interval
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

    def __init__(self, cost, result=lambda x: float(np.sum(x)), label="w",
                 boundary: float = 0.0) -> None:
        self.proc = _FakeProc()
        self.config = WorkerConfig(cpu=None)
        self.cost, self.result, self.label = cost, result, label
        self.boundary = boundary              # CPU per call of moving data in and out
        self.staged: dict[str, list] = {}
        self.runs = self.nulls = 0
        self._reply: dict | None = None
        self.dead_reason = None

    def request(self, msg: dict, timeout: float, where: str = ""):
        self.send(msg)
        return self.receive(timeout)["ok"]

    def send(self, msg: dict) -> None:
        msg = codec.loads(codec.dumps(msg))       # what crossing the pipe does
        if msg["op"] == "stage":
            self.staged[msg["key"]] = msg["calls"]
            self._reply = {"ok": len(msg["calls"])}
        elif msg["op"] == "timing":
            self._reply = {"ok": True}
        elif msg["op"] == "run":
            calls = self.staged.pop(msg["key"])
            out = []
            for args, _ in calls:
                self.proc.cpu += self.boundary
                if msg.get("null"):
                    self.nulls += 1
                    out.append(None)
                    continue
                self.runs += 1
                self.proc.cpu += self.cost(self.runs)
                out.append(self.result(*args))
            self._reply = codec.loads(codec.dumps({"ok": out}))

    def receive(self, timeout: float) -> dict:
        reply, self._reply = self._reply, None
        return reply

    poll = receive

    def kill(self, reason) -> None:
        self.dead_reason = reason

    def window(self) -> None:
        return None                               # no memory to stage through: the pipe


def _fake(ratio: float, noise: float = 0.0, seed: int = 0, **kw):
    rng = np.random.default_rng(seed)
    ref = _FakeWorker(lambda i: 1e-3)
    cand = _FakeWorker(lambda i: ratio * 1e-3 * float(np.exp(rng.normal(0, noise))), **kw)
    return cand, ref


def _measure(cand, ref, budget: float, plan: Plan | None = None, make=None, compare=None):
    """Fake workers model CPU time only: their wall time is the grader's own microseconds
    (a GIL hand-over from the helper thread is most of it), so the waiting rule, which
    reads wall ratios, is off here (tests/test_timing_adversarial.py tests it on real
    workers)."""
    make = make or (lambda rng: (rng.random(8),))
    plan = dataclasses.replace(plan or Plan(), wall_factor=math.inf)
    return latency_ratio(cand, ref, "f", make, np.random.default_rng(0),
                         Budget(kind="latency", max=budget), compare, plan=plan)


def test_clear_pass_and_fail_stop_at_min_blocks() -> None:
    for ratio, want in ((0.6, "pass"), (1.6, "fail")):
        out = _measure(*_fake(ratio), budget=1.0)
        assert out.status == want
        assert out.measured["blocks"] == Plan().min_blocks
        assert out.measured["ratio"] == pytest.approx(ratio, rel=1e-6)
        lo, hi = out.measured["interval"]
        assert lo <= ratio <= hi
        assert out.measured["clock"] == "cpu:cgroup"


def test_blocks_of_tiny_calls_with_small_inputs_hold_more_calls() -> None:
    """Each run starts on caches the other worker left (a cost per block that null runs do
    not see), so tiny calls need many per block; small inputs make that cheap to stage."""
    plan = Plan()
    assert plan.most_calls(0) == plan.most_calls(1200) == plan.small_calls_per_block == 256
    assert plan.most_calls(plan.small_block_bytes // 256 + 1) == plan.max_calls_per_block
    assert plan.most_calls(393_216) == 64                       # patchify's 32 images
    assert plan.most_calls(2 << 20) == 32                       # max_block_bytes
    assert plan.most_calls(1 << 30) == 1
    ref = _FakeWorker(lambda i: 1e-4)                            # 0.1 ms a call
    cand = _FakeWorker(lambda i: 2e-4)
    assert _measure(cand, ref, budget=3.0).measured["calls_per_block"] == 256
    big = _measure(*_fake(2.0), budget=3.0,       # 1 ms a call: 60 ms of the reference
                   make=lambda rng: (rng.random(8),))
    assert big.measured["calls_per_block"] == 60
    wide = _measure(_FakeWorker(lambda i: 2e-4), _FakeWorker(lambda i: 1e-4), budget=3.0,
                    make=lambda rng: (rng.random(2100),))           # 16.4 KiB a call
    assert wide.measured["calls_per_block"] == 64


@pytest.mark.parametrize("k", [2, 4, 8])
def test_the_boundary_is_taken_off_both_sides(k: int) -> None:
    """Moving data costs both sides the same (here 0.8x the reference's own work per call):
    measured in the reference's worker alone and taken off, the ratio is the work's."""
    ref = _FakeWorker(lambda i: 1e-4, boundary=0.8e-4)
    cand = _FakeWorker(lambda i: k * 1e-4, boundary=0.8e-4)
    out = _measure(cand, ref, budget=100.0)
    assert out.measured["ratio"] == pytest.approx(k, rel=1e-6)
    assert out.measured["raw_ratio"] == pytest.approx((k + 0.8) / 1.8, rel=1e-3)
    assert out.measured["boundary_ms_per_call"] == pytest.approx(0.08, rel=1e-6)
    assert out.measured["boundary_share"] == pytest.approx(0.8 / 1.8, abs=1e-3)
    # never trusting the candidate: its worker is never asked for a boundary run
    assert cand.nulls == 0 and ref.nulls > 0


def test_a_boundary_estimate_never_takes_more_than_half_of_either_side() -> None:
    ref = _FakeWorker(lambda i: 1e-4, boundary=3e-4)            # a boundary 3x the work
    cand = _FakeWorker(lambda i: 2e-4, boundary=3e-4)
    out = _measure(cand, ref, budget=100.0)
    assert out.measured["ratio"] == pytest.approx((5 - 2) / (4 - 2), rel=1e-6)


def test_the_boundary_correction_can_be_turned_off() -> None:
    ref = _FakeWorker(lambda i: 1e-4, boundary=0.8e-4)
    cand = _FakeWorker(lambda i: 4e-4, boundary=0.8e-4)
    out = _measure(cand, ref, budget=100.0, plan=Plan(boundary=False))
    assert out.measured["ratio"] == pytest.approx(4.8 / 1.8, rel=1e-3)
    assert "boundary_ms_per_call" not in out.measured


def test_interval_includes_the_drift_allowance() -> None:
    out = _measure(*_fake(0.6), budget=1.0, plan=Plan(drift=0.05))
    assert out.measured["interval"] == pytest.approx([0.6 / 1.05, 0.6 * 1.05], rel=1e-3)
    # a ratio within the drift allowance of the budget is never decided
    out = _measure(*_fake(0.99), budget=1.0, plan=Plan(drift=0.02, max_blocks=12))
    assert out.status == "inconclusive"
    assert out.measured["blocks"] == 24            # measured once more, with twice the cap
    assert out.measured["first_attempt"]["blocks"] == 12
    assert "half points" in out.message


def test_exactly_at_budget_is_inconclusive_after_a_second_measurement() -> None:
    out = _measure(*_fake(1.0, noise=0.05), budget=1.0)
    assert out.status == "inconclusive"
    assert out.measured["attempts"] == 2
    assert out.measured["first_attempt"]["stopped_by"] == "blocks"
    assert out.measured["first_attempt"]["blocks"] == Plan().max_blocks
    assert out.measured["blocks"] == round(Plan().max_blocks * Plan().retry_factor)
    assert out.measured["stopped_by"] == "blocks"
    lo, hi = out.measured["interval"]
    assert lo <= 1.0 <= hi
    assert f"the interval {lo:.2f}–{hi:.2f} contains the 1x budget" in out.message
    assert "a first measurement, 41 blocks at" in out.message


# --- precision: a decided ratio from enough blocks ----------------------------------


class _Scripted:
    """Stands in for ``Blocks``: block i has the ratio ``ratios[i]`` (reference 10 ms)."""

    def __init__(self, ratios: list[float]) -> None:
        self.ratios, self.spent, self.serial = list(ratios), 0.0, 0

    def run(self, k: int):
        from proctor.measure.blocks import Block

        r = self.ratios[self.serial]
        self.serial += 1
        self.spent += 0.01 * (1 + r)
        return Block(0.01 * r, 0.01, 0.01 * r, 0.01)


def _attempt_on(ratios: list[float], limit: float = 1.0, plan: Plan | None = None):
    from proctor.measure.latency import _attempt
    from proctor.measure.tally import Tally as _Tally

    tally = _Tally(k=2)
    out = _attempt(_Scripted(ratios), tally, limit, plan or Plan(), 3, object(), 0.0,
                   time.monotonic())
    return out, tally


def test_a_decided_but_imprecise_ratio_is_measured_on() -> None:
    noisy = [0.40, 0.75] * 4 + [0.55] * 40               # decided (pass) at 8, imprecise
    (status, early, cap), tally = _attempt_on(noisy)
    assert (status, early, cap) == ("pass", "", "")
    n = len(tally.ratios)
    assert n > Plan().min_blocks
    lo, hi = widened_interval(tally.ratios, Plan())
    assert hi - lo <= Plan().precision * statistics.median(tally.ratios)


def test_an_imprecise_pass_clear_of_the_budget_is_not_measured_on() -> None:
    """A pass whose upper bound is under the budget by ``precise_near`` (2x) ends at the
    first decision; a pass nearer the budget, and any fail, are narrowed (how many times
    too slow must be the work's ratio: benchmarks/ratio_fidelity.py)."""
    clear = [0.20, 0.40] * 4 + [0.3] * 40
    (status, _, _), tally = _attempt_on(clear)
    assert status == "pass" and len(tally.ratios) == Plan().min_blocks
    lo, hi = widened_interval(tally.ratios, Plan())
    assert hi - lo > Plan().precision * statistics.median(tally.ratios)
    for noisy, want in (([0.30, 0.55] * 4 + [0.4] * 40, "pass"),      # within 2x
                        ([2.6, 5.0] * 4 + [3.5] * 40, "fail")):       # a fail, far off
        (status, _, _), tally = _attempt_on(noisy)
        assert status == want and len(tally.ratios) > Plan().min_blocks


def test_a_precise_ratio_stops_at_the_first_decision() -> None:
    (status, _, _), tally = _attempt_on([0.5] * 40)
    assert status == "pass" and len(tally.ratios) == Plan().min_blocks


def test_measuring_on_never_changes_the_verdict() -> None:
    """A look that no longer decides ends it: the report is the last look that did."""
    drifting = [0.40, 0.75] * 4 + [0.6] * 4 + [1.3] * 40
    (status, early, cap), tally = _attempt_on(drifting)
    assert status == "pass"
    lo, hi = widened_interval(tally.ratios, Plan())
    assert hi <= 1.0                                      # the kept blocks still decide
    assert len(tally.ratios) == 13                        # the 14th look did not
    assert tally.ratios[-1] == pytest.approx(1.3)


def test_measuring_on_is_bounded() -> None:
    plan = Plan(precision_cpu_s=0.1)
    noisy = [0.40, 0.75] * 40
    (status, _, _), tally = _attempt_on(noisy, plan=plan)
    assert status == "pass" and len(tally.ratios) < 20


# --- caps: CPU time, a verdict whenever the evidence decides --------------------------


@pytest.mark.parametrize("ratios,cpu,want", [
    ([5.0, 5.0, 5.0], True, ("fail", "cap")),   # every block over 1.5 x 3, 3 blocks
    ([5.0, 5.0], True, ("", "")),               # 1.5x needs 3 blocks
    ([9.5, 9.1], True, ("fail", "cap")),        # the far factor (3x) needs 2
    ([32.0], True, ("", "")),                   # one block is never evidence enough
    ([5.0, 4.4, 6.0], True, ("", "")),          # 4.4 < 4.5: not every block
    ([1.9, 1.8, 1.99], True, ("pass", "cap")),  # every block under 3 / 1.5
    ([0.9, 0.99], True, ("pass", "cap")),       # every block under 3 / 3
    ([2.1, 1.8, 1.0], True, ("", "")),
    ([9.5, 9.1], False, ("", "")),              # the wall clock: far factor, 3 blocks
    ([5.0, 5.0, 5.0], False, ("", "")),
    ([9.5, 9.1, 9.2], False, ("fail", "cap")),
    ([0.9, 0.99, 0.5], False, ("pass", "cap")),
])
def test_the_rule_at_a_cap(ratios, cpu, want) -> None:
    assert decide_at_cap(ratios, 3.0, Plan(), cpu) == want


def test_the_rule_at_a_cap_is_rarely_wrong_by_chance() -> None:
    """Blocks with the worst noise measured under load (sd 0.15 in log, t-distributed with
    3 degrees of freedom, 5% wild blocks of 2x either way): with the true ratio at the
    budget the cap rule decides < 0.1% of the time; 1.3x off, never the wrong way; 2x off,
    it decides most of the time (the rule is not vacuous)."""
    rng = np.random.default_rng(5)
    for true, wrong_way, most in ((1.0, {"pass", "fail"}, None), (1.3, {"pass"}, None),
                                  (1 / 1.3, {"fail"}, None), (2.0, {"pass"}, "fail"),
                                  (0.5, {"fail"}, "pass")):
        seen: dict[str, int] = {}
        for n in range(2, 8):
            for _ in range(5000):
                noise = 0.15 / math.sqrt(3) * rng.standard_t(3, n)
                wild = rng.random(n) < 0.05
                noise[wild] += np.log(2.0) * rng.choice([-1, 1], wild.sum())
                status, _ = decide_at_cap(list(true * np.exp(noise)), 1.0, Plan(), True)
                seen[status] = seen.get(status, 0) + 1
        wrong = sum(seen.get(s, 0) for s in wrong_way)
        assert wrong <= (30 if true == 1.0 else 0), (true, seen)
        if most:
            assert seen.get(most, 0) > 0.6 * 30000, (true, seen)


def test_a_slow_candidate_stopped_by_the_cpu_cap_is_still_failed() -> None:
    """32x the reference with room for two blocks only (the issue's union-find ``label``):
    every block is over 1.5x the budget, so the verdict is fail, not half points."""
    ref = _FakeWorker(lambda i: 0.03)
    cand = _FakeWorker(lambda i: 0.96)
    out = _measure(cand, ref, budget=3.0, plan=Plan(max_cpu_s=6.5))
    assert out.status == "fail", out.message
    assert (out.measured["early"], out.measured["stopped_by"]) == ("cap", "cpu")
    assert out.measured["blocks"] == 2
    assert "the cap of 6.5 s of CPU time came after 2 blocks, every one of them over 9x (3x " \
        "beyond the 3x budget)" in out.message
    assert "straddles" not in out.message and "interval" not in out.message


def test_too_few_blocks_at_a_cap_say_so() -> None:
    ref = _FakeWorker(lambda i: 0.03)
    cand = _FakeWorker(lambda i: 0.12)                     # 4x: 1.33x the budget
    out = _measure(cand, ref, budget=3.0, plan=Plan(max_cpu_s=0.5))
    assert out.status == "inconclusive", out.message
    assert out.measured["attempts"] == 2
    n = out.measured["blocks"]
    assert n < Plan().min_blocks
    assert f"came after only {n} block" in out.message
    assert "8 are needed for a 99% interval" in out.message
    assert "the cap of 1 s of CPU time" in out.message        # the second attempt's cap


class _Busy(_FakeWorker):
    """A worker on a busy machine: every reply takes ``wait`` s of wall time, little CPU."""

    def __init__(self, cost, wait: float, **kw) -> None:
        super().__init__(cost, **kw)
        self.wait = wait

    def receive(self, timeout: float) -> dict:
        import time

        time.sleep(self.wait)      # both sides wait alike (the grader polls only one)
        return super().receive(timeout)

    poll = receive


def test_caps_count_cpu_time_not_wall_time() -> None:
    """Waiting for a busy core costs wall time, not CPU time: a measurement whose wall time
    is many times its CPU cap still runs to its verdict; only the wall backstop stops it."""
    plan = Plan(max_cpu_s=0.1, max_wall_s=60)
    cand, ref = _Busy(lambda i: 1.6e-5, 0.01), _Busy(lambda i: 1e-5, 0.01)
    out = _measure(cand, ref, budget=1.0, plan=plan)
    assert out.status == "fail", out.message
    assert out.measured["seconds"] > 2 * plan.max_cpu_s
    assert out.measured["cpu_seconds"] < plan.max_cpu_s
    backstop = Plan(max_cpu_s=20, max_wall_s=0.15, retry_factor=1)
    cand, ref = _Busy(lambda i: 1.3e-5, 0.01), _Busy(lambda i: 1e-5, 0.01)
    out = _measure(cand, ref, budget=1.0, plan=backstop)
    assert (out.status, out.measured["stopped_by"]) == ("inconclusive", "wall"), out.message
    assert "the cap of 0.15 s of wall time" in out.message


@pytest.mark.parametrize("ratio,noise,budget", [
    (0.5, 0.0, 1.0), (2.0, 0.05, 1.0), (0.98, 0.02, 1.0), (1.03, 0.1, 1.0), (32, 0.0, 3.0),
    (4.0, 0.0, 3.0), (0.2, 0.05, 3.0)])
@pytest.mark.parametrize("max_cpu_s", [0.05, 20.0])
def test_every_message_is_true_to_its_numbers(ratio, noise, budget, max_cpu_s) -> None:
    import re

    out = _measure(*_fake(ratio, noise=noise, seed=3), budget=budget,
                   plan=Plan(max_cpu_s=max_cpu_s, max_blocks=20))
    m, text = out.measured, out.message
    assert f"is {m['ratio']:.2f}x the reference" in text
    lo, hi = m["interval"]
    bmin, bmax = m["block_range"]
    if "(interval " in text:
        assert f"(interval {lo:.2f}–{hi:.2f})" in text
        assert m["blocks"] >= Plan().min_blocks
    if "within the" in text and out.status == "pass" and "(interval" in text:
        assert hi <= budget
    if "over the" in text and out.status == "fail" and "(interval" in text:
        assert lo > budget
    if "contains the" in text:
        assert out.status == "inconclusive" and lo <= budget <= hi
    if found := re.search(r"every one of them (over|under) ([0-9.]+)x", text):
        bound = float(found.group(2))
        assert bmin > bound if found.group(1) == "over" else bmax < bound
    if found := re.search(r"in a row were (over|under) ([0-9.]+)x", text):
        assert m["early"] == "far"
    if out.status == "inconclusive":
        assert "half points" in text
        assert m["stopped_by"] in ("blocks", "cpu", "wall")
        assert ("contains the" in text) == (m["blocks"] >= Plan().min_blocks)
    assert "straddles" not in text


def test_far_over_budget_fails_early() -> None:
    out = _measure(*_fake(25.0), budget=3.0)
    assert out.status == "fail"
    assert out.measured["early"] == "far"
    assert out.measured["blocks"] == 2 * Plan().far_blocks   # the shortcut, confirmed
    assert "far over" in out.message


def test_a_hopelessly_slow_run_is_stopped_at_the_ceiling() -> None:
    class Stuck(_FakeWorker):
        """After the warm-up, a run never ends: every look finds it a CPU second further."""

        def poll(self, timeout: float) -> dict | None:
            if self.runs <= 2:
                return self.receive(timeout)
            self.proc.cpu += 1.0
            return None

    ref = _FakeWorker(lambda i: 1e-3)
    cand = Stuck(lambda i: 1e-3)
    out = _measure(cand, ref, budget=3.0)
    assert out.status == "fail"
    assert out.measured["early"] == "ceiling"
    assert "far over the 3x budget" in out.message
    assert "of CPU time" in out.message
    assert isinstance(cand.dead_reason, WorkerError)      # its worker is stopped


def test_blocks_are_sized_by_both_sides() -> None:
    # a slow candidate gets fewer calls per block, so a block stays short ...
    plan = Plan(min_ref_block_s=0.0)
    fast = _measure(*_fake(1.5), budget=1.0, plan=plan).measured["calls_per_block"]
    slow = _measure(*_fake(12.0), budget=1.0, plan=plan).measured["calls_per_block"]
    assert fast > slow >= Plan().min_calls_per_block == 2
    # ... but never less than min_ref_block_s of the reference (1 ms a call here) ...
    assert _measure(*_fake(12.0), budget=1.0).measured["calls_per_block"] == 60
    # ... nor more inputs than max_block_bytes (8 float64 a call here)
    few = _measure(*_fake(1.5), budget=1.0, plan=Plan(max_block_bytes=64 * 10))
    assert few.measured["calls_per_block"] == 10


def test_noisy_but_clear_cases_decide_the_same_way_every_time() -> None:
    for seed in range(20):
        assert _measure(*_fake(0.6, noise=0.15, seed=seed), budget=1.0).status == "pass"
        assert _measure(*_fake(1.6, noise=0.15, seed=seed), budget=1.0).status == "fail"


def test_wrong_result_during_timing_fails_with_a_reason() -> None:
    cand, ref = _fake(0.5, result=lambda x: 0.0)
    with pytest.raises(AssertionError, match="fast wrong answer is not fast"):
        _measure(cand, ref, budget=1.0)


def test_a_wrong_answer_in_the_last_block_still_fails() -> None:
    """Outputs are checked one block behind the runs (proctor.measure.inputs): the verdict
    waits for the last block's check, so a candidate wrong only at the very end fails."""
    cand, ref = _fake(0.6)
    assert _measure(cand, ref, budget=1.0).status == "pass"
    last = cand.runs                                   # deterministic: no noise
    cand, ref = _fake(0.6)
    wrong_last = _FakeWorker(lambda i: 0.6e-3, result=lambda x: float(np.sum(x)) + (
        1.0 if wrong_last.runs == last else 0.0))
    with pytest.raises(AssertionError, match="fast wrong answer is not fast"):
        _measure(wrong_last, ref, budget=1.0)


def test_repeated_inputs_are_refused() -> None:
    with pytest.raises(RuntimeError, match="fresh input"):
        _measure(*_fake(1.0), budget=1.0, make=lambda rng: (np.zeros(4),))


def test_an_input_drawn_again_is_replaced_not_timed() -> None:
    """A small input space (here 40 inputs) repeats by chance: redrawn, never timed twice."""
    seen: list[bytes] = []

    def result(x):
        seen.append(x.tobytes())
        return float(np.sum(x))

    draws = []

    def make(rng):
        draws.append(1)
        return (np.full(4, float(rng.integers(40))),)

    cand, ref = _fake(0.5, result=result)
    out = _measure(cand, ref, budget=1.0,
                   plan=Plan(max_calls_per_block=2, small_calls_per_block=2), make=make)
    assert out.status == "pass"
    assert len(seen) == len(set(seen)) >= 18          # the candidate saw each input once
    assert len(draws) > len(seen)                      # ... some were drawn again


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
        # smaller caps than grading's: at the budget, every attempt runs to its cap
        outs = verdicts(cand, reference, repeats=3, plan=Plan(max_blocks=12, max_cpu_s=4))
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


def test_a_far_shortcut_gives_way_to_contrary_evidence() -> None:
    """A load spike can make the first blocks look far over the budget: the far rule's
    verdict holds only while later looks agree; a candidate really within the budget is
    then judged by the ordinary rule on all its blocks (an outsider's float64 conv2d at
    3.5x of a 4x budget was failed as "3 blocks in a row over 12x")."""
    ref = _FakeWorker(lambda i: 1e-3)
    cand = _FakeWorker(lambda i: 15e-3 if i < 300 else 2.0e-3)   # the first 5 blocks
    out = _measure(cand, ref, budget=4.0, plan=Plan(max_blocks=60))
    assert out.measured.get("early") is None, out.message
    assert out.status == "pass", out.message
    assert "in a row were over" not in out.message
    slow = _measure(*_fake(25.0), budget=3.0)     # a truly far candidate still fails early
    assert (slow.status, slow.measured["early"]) == ("fail", "far")


@pytest.mark.parametrize("ratio,noise,budget,measured_on", [
    (1.4, 0.4, 3.0, True), (1.0, 0.4, 3.0, False), (0.6, 0.3, 1.0, False),
    (2.0, 0.3, 1.0, False), (0.1, 0.05, 3.0, False)])
def test_decide_only_gives_the_same_verdict_from_fewer_blocks(ratio, noise, budget,
                                                              measured_on) -> None:
    """calibrate --decide-only (Plan(precision=inf)) stops at the look that decides; the
    full measurement goes on only to narrow the reported ratio, never to change the
    verdict (and a "far" shortcut still waits for its confirming blocks)."""
    import math

    from proctor.calibrate.run import decide_only

    full = _measure(*_fake(ratio, noise=noise, seed=5), budget=budget)
    quick = _measure(*_fake(ratio, noise=noise, seed=5), budget=budget, plan=decide_only())
    assert decide_only().precision == math.inf
    assert quick.status == full.status, (quick.message, full.message)
    assert quick.measured["blocks"] <= full.measured["blocks"]
    if measured_on:    # within 2x of the budget, imprecise: decided at min_blocks
        assert quick.measured["blocks"] == Plan().min_blocks < full.measured["blocks"]
    if quick.measured.get("early") == "far":
        assert quick.measured["blocks"] >= 2 * Plan().far_blocks


def test_the_helper_thread_runs_on_a_cpu_clock_only(monkeypatch) -> None:
    """On the wall clock the helper thread's GIL hand-overs would be measured: serial."""
    from proctor.measure.inputs import Inputs

    sizes: list[int] = []
    real = Inputs.ahead

    def ahead(self, k: int) -> None:
        sizes.append(k)
        real(self, k)
    monkeypatch.setattr(Inputs, "ahead", ahead)
    _measure(*_fake(0.5), budget=1.0, plan=Plan(clock="wall", max_blocks=8))
    assert sizes == []
    _measure(*_fake(0.5), budget=1.0)
    assert len(sizes) == 1
