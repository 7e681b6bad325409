"""The estimator and the stopping rule of latency checks: pure arithmetic on block ratios.

Kept apart from the measuring so that the statistics can be checked exactly, on
numbers, without workers (docs/measurement.md, "Estimator and interval" and
"Stopping rule", has the reasons for every knob).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    """Knobs of the estimator and the stopping rule (docs/measurement.md)."""

    min_blocks: int = 8            # smallest n whose 99% order-statistic interval exists
    max_blocks: int = 41
    max_cpu_s: float = 20.0        # cap: CPU s of both workers, warm-up included (wall w/o CPU)
    max_wall_s: float = 120.0      # backstop: wall s of one attempt, however busy the machine
    retry_factor: float = 2.0      # an inconclusive attempt is measured once more, caps x this
    cap_factor: float = 1.5        # at a cap: every block beyond budget x / ÷ this decides
    cap_min_blocks: int = 3        # ... from this many blocks on (CPU clock only)
    cap_far_blocks: int = 2        # ... and beyond the far factor, from this many on
    target_block_s: float = 0.06   # CPU time of one block, both sides together
    min_ref_block_s: float = 0.06  # ... and at least this much of the reference's
    max_block_bytes: int = 64 << 20  # ... but no more inputs than this per side
    max_block_s: float = 1.0       # ... nor more CPU time than this, both sides together
    min_calls_per_block: int = 2   # ABBA inside every block
    max_calls_per_block: int = 64
    small_calls_per_block: int = 256  # ... or this many, if their inputs stay under
    small_block_bytes: int = 4 << 20  # ... this: tiny calls (``most_calls``)
    confidence: float = 0.99       # of the interval, at every look
    drift: float = 0.02            # relative allowance for run-to-run drift of the ratio
    precision: float = 0.2         # a decided ratio is measured on until its interval is
    precision_cpu_s: float = 8.0   # ... this narrow (of the ratio), for at most this long,
    precise_near: float = 2.0      # ... unless it passes by this factor (upper bound x this
                                   # <= budget): fails are always narrowed
    far_precision_cpu_s: float = 2.0  # ... or this long after a "far" verdict
    far_factor: float = 3.0        # `far_blocks` blocks in a row beyond budget x / ÷ this
    far_blocks: int = 3            # ... decide at once (twice as many on the wall clock)
    wall_factor: float = 2.0       # on a CPU clock, a wall ratio over budget x this fails:
                                   # waiting (sleep, blocking I/O) is latency too
    ceiling_factor: float = 50.0   # one candidate run over this x budget x reference: stop
    ceiling_min_s: float = 2.0     # ... but never sooner than this
    clock: str = "auto"            # auto | cgroup | proc | wall (see CpuClock)
    boundary: bool = True          # subtract the boundary's cost, measured in the reference
    staging: str = "auto"          # auto (workers' memory when both allow it) | pipe

    def most_calls(self, bytes_per_call: int) -> int:
        """The most calls a block may hold, per side, given its calls' input bytes.

        Each run of a block starts on caches the other worker has just used, about 1 ms
        of the reference's CPU time per block for ``Tracker.update`` (0.16 ms a call)
        that its null runs, made back to back, do not see; a function doing k times the
        work pays it once per k calls, so it pulled ratios towards 1 by its share of the
        block (tracking k = 8: 0.87-0.90 of the truth with 64 calls, 0.96 with 256).
        Blocks of tiny calls with small inputs may therefore hold more calls: they cost
        the grader little (it stages every input and reads every output).  Otherwise
        ``max_calls_per_block``, and never more than ``max_block_bytes`` of inputs."""
        most = self.max_calls_per_block
        if bytes_per_call * self.small_calls_per_block <= self.small_block_bytes:
            most = max(most, self.small_calls_per_block)
        return max(1, min(most, self.max_block_bytes // max(bytes_per_call, 1)))


def corrected(cand: float, ref: float, boundary: float) -> float:
    """A block's ratio with the boundary's cost (moving inputs and results, dispatching the
    calls: the same code on both sides) taken off both sides.  Never more than half of
    either side is taken off, so a bad estimate cannot blow a ratio up."""
    b = min(boundary, 0.5 * cand, 0.5 * ref)
    return (cand - b) / (ref - b)


def median_interval(ratios: list[float], confidence: float = 0.95) -> tuple[float, float]:
    """Order-statistic confidence interval of the median (no distribution assumed).

    Returns ``(x_(j), x_(n+1-j))`` (1-based order statistics) for the largest j with
    ``P(Binomial(n, 1/2) <= j - 1) <= (1 - confidence) / 2``, so the interval covers
    the median with probability at least ``confidence``.  When n is too small for
    that, the interval is the whole range ``(min, max)`` (coverage ``1 - 2^(1-n)``).
    """
    xs = sorted(ratios)
    n = len(xs)
    if n == 0:
        raise ValueError("median_interval of no data")
    tail = (1 - confidence) / 2
    cdf, j = 0.0, 0
    while j < n:
        cdf += math.comb(n, j) / 2**n      # P(X <= j)
        if cdf > tail:
            break
        j += 1
    j = max(j, 1)                          # at least (min, max)
    return xs[j - 1], xs[n - j]


def min_blocks_for(confidence: float) -> int:
    """Smallest n for which ``(min, max)`` covers the median with ``confidence``."""
    n = 1
    while 1 - 2 ** (1 - n) < confidence:
        n += 1
    return n


def widened_interval(ratios: list[float], plan: Plan) -> tuple[float, float]:
    """The reported interval: the median's, widened by the drift allowance.

    The ratio itself moves a little between runs of the same code, so a ratio within
    the allowance of the budget must not be decided either way."""
    lo, hi = median_interval(ratios, plan.confidence)
    return lo / (1 + plan.drift), hi * (1 + plan.drift)


def decide(ratios: list[float], limit: float, plan: Plan, far_blocks: int) -> tuple[str, str]:
    """``(status, early)`` after a look at the per-block ratios so far.

    ``status`` is ``pass``, ``fail`` or ``""`` (undecided); ``early`` is ``far`` when
    the last ``far_blocks`` blocks were all far beyond the budget, which decides before
    ``min_blocks`` so that a hopeless candidate does not cost eight blocks.  The caps
    (``inconclusive``) depend on time and are the caller's."""
    if len(ratios) >= plan.min_blocks:
        lo, hi = widened_interval(ratios, plan)
        if hi <= limit:
            return "pass", ""
        if lo > limit:
            return "fail", ""
    tail = ratios[-far_blocks:]
    if len(tail) == far_blocks:
        if min(tail) > limit * plan.far_factor:
            return "fail", "far"
        if max(tail) < limit / plan.far_factor:
            return "pass", "far"
    return "", ""


def cap_rule(ratios: list[float], limit: float, plan: Plan,
             cpu_clock: bool) -> tuple[str, float]:
    """The verdict a cap still gives, and the factor that gave it (``("", 0.0)``: none).

    When a cap stops a measurement that the interval did not decide, the evidence still
    decides if **every** block is beyond the budget by a factor ``f`` (over ``limit x f``:
    fail; under ``limit / f``: pass): with the far factor (3) from ``cap_far_blocks`` (2)
    blocks on, with ``cap_factor`` (1.5) from ``cap_min_blocks`` (3) on; on the wall
    clock, whose noise is far larger, only the far factor, from 3 blocks on.

    Why it holds: a CPU-time block 1.5x off by chance is a 2.7-sigma event at the worst
    per-block noise measured under load (sd 0.15 in log: p < 0.01 even with heavy tails)
    and it must happen in every block; a block 3x off is > 7 sigma.  Simulated with 5%
    wild blocks (2x either way) on top, a ratio at the budget is decided by this rule
    < 0.1% of the time (tests/test_measure.py).  With ``min_blocks`` or more blocks it
    never decides what the interval rule did not: an interval that contains the budget
    cannot have every block 1.5x beyond it."""
    rules = ([(plan.far_factor, plan.cap_far_blocks), (plan.cap_factor, plan.cap_min_blocks)]
             if cpu_clock else [(plan.far_factor, max(plan.cap_far_blocks, 3))])
    for f, need in rules:
        if len(ratios) >= need:
            if min(ratios) > limit * f:
                return "fail", f
            if max(ratios) < limit / f:
                return "pass", f
    return "", 0.0


def decide_at_cap(ratios: list[float], limit: float, plan: Plan,
                  cpu_clock: bool) -> tuple[str, str]:
    """``(status, "cap")`` when ``cap_rule`` decides at a cap, else ``("", "")``."""
    status, _ = cap_rule(ratios, limit, plan, cpu_clock)
    return (status, "cap") if status else ("", "")
