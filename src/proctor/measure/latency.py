"""Latency as a ratio to the reference, measured side by side by the trusted side.

Method (docs/measurement.md has the reasons and the figures):

* Candidate and reference run in identically configured workers pinned to the same
  single core; the grader's thread and its other workers move off it (``placement``).
* **Clock**: the kernel's CPU-time accounting of each worker's whole process tree
  (the sandbox's cgroup; else per-thread ``/proc`` schedstat), read by the grader
  at block boundaries.  Nothing the worker says about time is used.  CPU time of
  the whole tree counts every thread and child process on every core, before or
  after the reply, so threads on another core, work done at staging time or in
  the background, do not make a candidate faster; and a neighbour that steals the
  core does not make either side slower.  The grader's round-trip wall time is
  recorded too (``wall_ratio``) and is the clock when no CPU accounting exists.
* **Blocks**: k fresh inputs per side per block, split in two halves run in ABBA
  order (C R R C, then R C C R on the next block); everything is staged before
  the block's first run.  Every output is checked against the reference's.
* **Estimator**: the median of per-block ratios, with a distribution-free
  order-statistic interval, widened by a small allowance for run-to-run drift.
* **Stopping**: from ``min_blocks`` on, pass when the upper bound is within the
  budget, fail when the lower bound is over it; blocks far over (or under) the budget
  decide early.  Caps count the measurement's own CPU time (``max_cpu_s``, the
  candidate's slowness included, other jobs' not), blocks, and a generous wall backstop;
  at a cap, every block well beyond the budget still decides (``decide_at_cap``); an
  undecided measurement is measured once more with larger caps, then ``inconclusive``.
* **Waiting**: CPU time does not see a call that sleeps or blocks; on a CPU clock, a median
  wall-clock ratio over ``wall_factor`` times the budget fails whatever the CPU verdict (a
  margin that load, which slows both sides alike, does not reach).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from proctor.library.spec import Budget
from proctor.measure.blocks import Block, Blocks, Stopped
from proctor.measure.compare import same_result
from proctor.measure.cpuclock import CpuClock, pick_clocks, process_tree
from proctor.measure.pinning import core_lock, grader_off, quick_handover, stray_threads
from proctor.measure.placement import measuring
from proctor.measure.stats import (
    Plan,
    decide,
    decide_at_cap,
    median_interval,
    min_blocks_for,
    widened_interval,
)
from proctor.measure.tally import Tally
from proctor.measure.verdict import verdict_text, waiting_text
from proctor.verdicts import Outcome
from proctor.worker.client import WorkerClient

__all__ = [
    "CpuClock",
    "Plan",
    "latency_ratio",
    "median_interval",
    "min_blocks_for",
    "pick_clocks",
    "process_tree",
    "same_result",
    "stray_threads",
]

_DEFAULT_PLAN = Plan()  # frozen, so one shared default is safe


def latency_ratio(
    candidate: WorkerClient,
    reference: WorkerClient,
    function: str,
    make_args: Callable[[np.random.Generator], tuple],
    rng: np.random.Generator,
    budget: Budget,
    compare: Callable[[Any, Any], None] | None = None,
    call_timeout: float = 30.0,
    plan: Plan = _DEFAULT_PLAN,
    handles: tuple[int, int] | None = None,
) -> Outcome:
    """Measure candidate/reference time of ``function`` and judge it against ``budget.max``.

    With ``handles`` (candidate's, reference's), ``function`` is a method of those remote
    objects, so stateful interfaces (a tracker's ``update``) are timed the same way."""
    core = candidate.config.cpu if candidate.config.cpu == reference.config.cpu else None
    with core_lock(core) as waited, measuring(core, (candidate, reference)), quick_handover():
        outcome = _measure(candidate, reference, function, make_args, rng, budget, compare,
                           call_timeout, plan, handles, core)
    if waited >= 0.1:
        outcome.measured["waited_for_core_s"] = round(waited, 2)
    return outcome


def _measure(candidate: WorkerClient, reference: WorkerClient, function: str,
             make_args: Callable[[np.random.Generator], tuple], rng: np.random.Generator,
             budget: Budget, compare: Callable[[Any, Any], None] | None, call_timeout: float,
             plan: Plan, handles: tuple[int, int] | None, core: int | None) -> Outcome:
    limit = float(budget.max)
    started = time.monotonic()
    clocks = pick_clocks(candidate, reference, plan.clock)
    clock_name = f"cpu:{clocks[0].source}" if clocks else "wall"
    # the wall clock is far noisier: it needs twice the evidence to decide early
    far_blocks = plan.far_blocks * (1 if clocks else 2)
    tally = Tally()
    first: dict[str, Any] | None = None
    with grader_off({core} if core is not None else set()):
        blocks = Blocks(candidate, reference, function, make_args, rng, compare or same_result,
                        limit=limit, call_timeout=call_timeout, plan=plan, handles=handles,
                        clocks=clocks, core=core)
        try:
            _warm_up(blocks, tally, plan)
            blocks.ahead(tally.k)    # the grader's own work from now on overlaps the runs
            status, early, cap = _attempt(blocks, tally, limit, plan, far_blocks, clocks,
                                          0.0, started)
            if status == "inconclusive" and plan.retry_factor > 1:
                # measured once more, with larger caps, before it is reported
                first = _summary(tally, plan, cap)
                tally = Tally(k=tally.k, boundary=tally.boundary)
                bigger = replace(plan, max_blocks=round(plan.max_blocks * plan.retry_factor),
                                 max_cpu_s=plan.max_cpu_s * plan.retry_factor,
                                 max_wall_s=plan.max_wall_s * plan.retry_factor)
                status, early, cap = _attempt(blocks, tally, limit, bigger, far_blocks, clocks,
                                              blocks.spent, time.monotonic())
            blocks.settle()          # every block's outputs checked before a verdict
        except Stopped as stop:
            blocks.settle()          # a wrong answer before it is what is reported
            return Outcome("fail", str(stop), {
                "ratio": None, "interval": None, "blocks": len(tally.ratios),
                "calls_per_block": tally.k, "clock": clock_name, "early": "ceiling",
                "staging": blocks.staging,
                "seconds": round(time.monotonic() - started, 2)}, budget.as_dict())
        finally:
            blocks.close()

    ratio = statistics.median(tally.ratios)
    lo, hi = widened_interval(tally.ratios, plan)
    n, k = len(tally.ratios), tally.k
    measured: dict[str, Any] = {
        "ratio": round(ratio, 4),
        "interval": [round(lo, 4), round(hi, 4)],
        "block_range": [round(min(tally.ratios), 4), round(max(tally.ratios), 4)],
        "confidence": plan.confidence,
        "drift_allowance": plan.drift,
        "blocks": n,
        "calls_per_block": k,
        "seconds": round(time.monotonic() - started, 2),
        "cpu_seconds": round(blocks.spent, 2) if clocks else None,
        "clock": clock_name,
        "staging": blocks.staging,
        "wall_ratio": round(statistics.median(tally.wall_ratios), 4),
        "reference_ms_per_call": round(1000 * sum(tally.refs) / (n * k), 4),
        "candidate_ms_per_call": round(1000 * sum(tally.cands) / (n * k), 4),
    }
    if tally.boundary:
        # moving inputs and results and dispatching the calls, measured in the reference's
        # worker and taken off both sides; "raw_ratio" is the ratio before that
        measured["boundary_ms_per_call"] = round(1000 * tally.cost / k, 4)
        measured["boundary_share"] = round(tally.cost / statistics.median(tally.refs), 3)
        measured["raw_ratio"] = round(statistics.median(tally.raw_ratios), 4)
    if blocks.stage_share:
        # CPU share of receiving the inputs in the reference's cost: both sides pay
        # it, which pulls ratios towards 1 by about this much
        measured["staging_share"] = round(statistics.median(blocks.stage_share), 3)
    if early:
        measured["early"] = early
    if cap:
        measured["stopped_by"] = cap
    if first is not None:
        measured["attempts"] = 2
        measured["first_attempt"] = first
    if blocks.stray:
        measured["repinned_threads"] = len(blocks.stray)
    how = f"{n} blocks of {k} calls, {clock_name} time"
    if first is not None:
        how += (f"; a first measurement, {first['blocks']} blocks at {first['ratio']:.2f}x, "
                "was inconclusive")
    message = verdict_text(function, status, early, tally.ratios, limit, plan, far_blocks, how,
                           cap, clocks is not None, retried=first is not None)
    wall = measured["wall_ratio"]
    if clocks and status != "fail" and wall > limit * plan.wall_factor:
        status, measured["early"] = "fail", "waiting"
        message = waiting_text(function, wall, limit, plan, message)
    return Outcome(status, message, measured, budget.as_dict())


def _warm_up(blocks: Blocks, tally: Tally, plan: Plan) -> None:
    """One call per side (imports, caches, lazy initialisation), one more that sizes the
    blocks, and one discarded full-size block (allocators, caches) when blocks are big,
    which sizes them again (a single call's cost includes a round trip's).
    A block holds at least two calls per side, so that it is always ABBA (C R R C): a
    drift or the first run's extra cost cancels inside it; and at least
    ``min_ref_block_s`` of the reference's time (within ``max_block_bytes`` of inputs), so
    that a ratio against a fast reference does not rest on a few milliseconds of it (a
    burst of other work would swing it), and a run's first call, which finds the caches
    and TLB as the other worker left them (12% slower for ``multi_head_attention``), is
    one call of many: a function doing k times the work would pay it once per k."""
    blocks.run(1)
    sizing = blocks.run(1)
    most = plan.most_calls(blocks.bytes_per_call)
    tally.k = _calls_per_block(sizing.cand, sizing.ref, plan, most)
    if tally.k > 2:
        full = blocks.run(tally.k)
        resized = _calls_per_block(full.cand / tally.k, full.ref / tally.k, plan, most)
        if resized > tally.k:
            tally.k = resized
        elif full.boundary > 0:     # the boundary of a block of this size
            tally.boundary.append(full.boundary)


def _calls_per_block(cand: float, ref: float, plan: Plan, most: int) -> int:
    want = max(plan.target_block_s / max(cand + ref, 1e-7),
               plan.min_ref_block_s / max(ref, 1e-7))
    want = min(want, plan.max_block_s / max(cand + ref, 1e-7))   # a very slow candidate
    return int(max(plan.min_calls_per_block,
                   min(most, round(want))))


def _attempt(blocks: Blocks, tally: Tally, limit: float, plan: Plan, far_blocks: int,
             clocks: object, spent0: float, wall0: float) -> tuple[str, str, str]:
    """Measure block by block until the rule decides or a cap stops it; the caps count
    from ``spent0`` (CPU) and ``wall0`` (wall), so the warm-up counts towards the first
    attempt's.

    Returns ``(status, early, cap)``: ``cap`` names the cap that stopped an undecided
    measurement (``blocks``, ``cpu``, ``wall``).  ``tally`` holds the blocks even when a
    ``Stopped`` escapes.

    The verdict is the first look's that decides.  The ratio is reported from more blocks
    when that look's interval is wider than ``plan.precision`` of the ratio (a noisy
    episode), unless it passes by ``plan.precise_near``: measuring goes on,
    for at most ``precision_cpu_s`` more CPU seconds (``far_precision_cpu_s`` after a
    "far" verdict), while every look decides the same way; a look that does not ends it,
    and the report is the last look that did (its ratio, interval and message).  A "far"
    verdict is a shortcut: it stands once ``far_blocks`` more blocks agree, and gives way
    to the ordinary rule as soon as a look does not (a spike of load, not the code)."""
    decided: tuple[str, str] | None = None
    kept, since, budget, first, shortcut = 0, 0.0, 0.0, 0, False
    while True:
        b = blocks.run(tally.k)
        tally.add(b)
        status, early = decide(tally.ratios, limit, plan, far_blocks)
        if decided is not None and status != decided[0]:
            if not shortcut:
                tally.keep(kept)               # back to the last look that decided
                return decided[0], decided[1], ""
            decided = None                     # a "far" shortcut met contrary evidence (a
            shortcut = False                   # load spike): the ordinary rule decides
        if status:
            if decided is None:
                since, first, shortcut = blocks.spent, len(tally.ratios), early == "far"
                budget = plan.far_precision_cpu_s if shortcut else plan.precision_cpu_s
            decided, kept = (status, early), len(tally.cands)
            confirmed = not shortcut or len(tally.ratios) - first >= far_blocks
            if ((confirmed and _precise(tally.ratios, plan, limit))
                    or blocks.spent - since > budget
                    or _cap_reached(blocks, tally, b, plan, spent0, wall0, clocks is not None)):
                return status, early, ""
            continue
        cap = _cap_reached(blocks, tally, b, plan, spent0, wall0, clocks is not None)
        if cap:
            status, early = decide_at_cap(tally.ratios, limit, plan, clocks is not None)
            return status or "inconclusive", early, cap


def _precise(ratios: list[float], plan: Plan, limit: float) -> bool:
    """Whether the interval (or, before ``min_blocks``, the blocks' range) is narrower than
    ``plan.precision`` of the ratio, or a pass under the budget by ``plan.precise_near``:
    "1.0x (0.9-1.2), budget 3x" says all a reader needs, and narrowing it was most of a
    strong submission's grading time.  A fail is narrowed: how many times too slow is
    what its reader asks, and the ratio must be the work's (benchmarks/ratio_fidelity)."""
    lo, hi = widened_interval(ratios, plan)
    if hi * plan.precise_near <= limit:
        return True
    return hi - lo <= plan.precision * statistics.median(ratios)


def _cap_reached(blocks: Blocks, tally: Tally, last: Block, plan: Plan, spent0: float,
                 wall0: float, cpu_clock: bool) -> str:
    """Which cap the next block would cross (it is about as long as the last one)."""
    if len(tally.ratios) >= plan.max_blocks:
        return "blocks"
    spent = blocks.spent - spent0
    if spent + last.cand + last.ref > plan.max_cpu_s:
        return "cpu" if cpu_clock else "wall"
    if time.monotonic() - wall0 + last.cand_wall + last.ref_wall > plan.max_wall_s:
        return "wall"
    return ""


def _summary(tally: Tally, plan: Plan, cap: str) -> dict[str, Any]:
    lo, hi = widened_interval(tally.ratios, plan)
    return {"ratio": round(statistics.median(tally.ratios), 4),
            "interval": [round(lo, 4), round(hi, 4)], "blocks": len(tally.ratios),
            "stopped_by": cap}
