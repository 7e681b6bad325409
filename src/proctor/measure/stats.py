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
    max_seconds: float = 20.0      # wall cap of the whole measurement, warm-up included
    target_block_s: float = 0.06   # CPU time of one block, both sides together
    max_calls_per_block: int = 128
    confidence: float = 0.99       # of the interval, at every look
    drift: float = 0.02            # relative allowance for run-to-run drift of the ratio
    far_factor: float = 3.0        # `far_blocks` blocks in a row beyond budget x / ÷ this
    far_blocks: int = 3            # ... decide at once (twice as many on the wall clock)
    ceiling_factor: float = 50.0   # one candidate run over this x budget x reference: stop
    ceiling_min_s: float = 2.0     # ... but never sooner than this
    clock: str = "auto"            # auto | cgroup | proc | wall (see CpuClock)


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
