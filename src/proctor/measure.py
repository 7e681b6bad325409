"""Latency as a ratio to the reference, measured side by side by the trusted side.

Method (see docs/measurement.md): candidate and reference workers are started
identically and pinned to the same core.  Each *block* stages k fresh inputs in
both workers (untimed), then times one ``run`` of the whole block in each, in
alternating order (AB, BA, ...).  The grader's clock measures the round trip,
including returning the outputs, so nothing the candidate's process says about
time is believed.  Every output is checked against the reference's, so a fast
wrong answer is not fast.  The estimate is the median of per-block ratios with
a distribution-free order-statistic interval; blocks are added until the
interval clears the budget on one side, or the cap is reached (inconclusive).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from proctor.checks import Outcome
from proctor.spec import Budget
from proctor.worker_client import CandidateError, WorkerClient


@dataclass(frozen=True)
class Plan:
    """Knobs of the stopping rule; defaults decide clear cases in a few seconds."""

    min_blocks: int = 7
    max_blocks: int = 41
    max_seconds: float = 30.0
    target_block_s: float = 0.04
    max_calls_per_block: int = 64
    confidence: float = 0.95


def median_interval(ratios: list[float], confidence: float = 0.95) -> tuple[float, float]:
    """Order-statistic confidence interval of the median (no distribution assumed)."""
    xs = sorted(ratios)
    n = len(xs)
    alpha = 1 - confidence
    cdf, lo = 0.0, 0
    for i in range(n + 1):
        p = math.comb(n, i) / 2**n
        if cdf + p > alpha / 2:
            lo = i
            break
        cdf += p
    lo = max(lo - 1, 0)
    hi = min(n - 1 - lo, n - 1)
    return xs[lo], xs[hi]


def _timed_run(client: WorkerClient, key: str, function: str, timeout: float) -> tuple[float, list]:
    client.send({"op": "run", "key": key, "target": function})
    t0 = time.perf_counter()
    reply = client.receive(timeout)
    elapsed = time.perf_counter() - t0
    if "raised" in reply:
        raise CandidateError(reply["raised"], function)
    out = reply.get("ok")
    if not isinstance(out, list):
        raise AssertionError(f"{function}: malformed reply to a timed block")
    return elapsed, out


def latency_ratio(
    candidate: WorkerClient,
    reference: WorkerClient,
    function: str,
    make_args: Callable[[np.random.Generator], tuple],
    rng: np.random.Generator,
    budget: Budget,
    compare: Callable[[Any, Any], None] | None = None,
    call_timeout: float = 30.0,
    plan: Plan = Plan(),
) -> Outcome:
    """Measure candidate/reference time of ``function`` and judge it against ``budget.max``."""
    limit = float(budget.max)
    started = time.monotonic()
    serial = 0

    def block(k: int) -> tuple[float, float]:
        nonlocal serial
        serial += 1
        key = f"b{serial}"
        calls = [[list(make_args(rng)), {}] for _ in range(k)]
        for client in (candidate, reference):
            client.request({"op": "stage", "key": key, "calls": calls}, call_timeout)
        order = [(candidate, "c"), (reference, "r")]
        if serial % 2 == 0:
            order.reverse()
        times, outs = {}, {}
        for client, tag in order:
            times[tag], outs[tag] = _timed_run(client, key, function, call_timeout * k)
        if compare is not None:
            for i, (got, want) in enumerate(zip(outs["c"], outs["r"], strict=True)):
                try:
                    compare(got, want)
                except AssertionError as exc:
                    raise AssertionError(
                        f"{function} returned a wrong result during timing (call {i + 1} of "
                        f"block {serial}); a fast wrong answer is not fast: {exc}"
                    ) from None
        return times["c"], times["r"]

    block(1)  # warm-up: imports, caches, lazy initialisation on both sides
    _, t_ref = block(1)
    k = max(1, min(plan.max_calls_per_block, math.ceil(plan.target_block_s / max(t_ref, 1e-6))))
    ratios: list[float] = []
    lo = hi = float("nan")
    while True:
        tc, tr = block(k)
        ratios.append(tc / max(tr, 1e-9))
        if len(ratios) < plan.min_blocks:
            continue
        lo, hi = median_interval(ratios, plan.confidence)
        spent = time.monotonic() - started
        if hi <= limit:
            status = "pass"
        elif lo > limit:
            status = "fail"
        elif len(ratios) >= plan.max_blocks or spent > plan.max_seconds:
            status = "inconclusive"
        else:
            continue
        break
    ratio = statistics.median(ratios)
    measured = {
        "ratio": round(ratio, 4),
        "interval": [round(lo, 4), round(hi, 4)],
        "blocks": len(ratios),
        "calls_per_block": k,
        "seconds": round(time.monotonic() - started, 2),
        "reference_ms_per_call": round(1000 * tr / k, 4),
    }
    verdicts = {
        "pass": f"{function} is {ratio:.2f}x the reference (95% interval {lo:.2f}–{hi:.2f}), "
                f"within the {limit:g}x budget",
        "fail": f"{function} is {ratio:.2f}x the reference (95% interval {lo:.2f}–{hi:.2f}), "
                f"over the {limit:g}x budget",
        "inconclusive": f"{function} is {ratio:.2f}x the reference but the 95% interval "
                        f"{lo:.2f}–{hi:.2f} straddles the {limit:g}x budget after "
                        f"{len(ratios)} blocks",
    }
    return Outcome(status, verdicts[status], measured, budget.as_dict())
