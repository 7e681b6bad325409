"""Latency as a ratio to the reference, measured side by side by the trusted side.

Method (docs/measurement.md has the reasons and the figures):

* Candidate and reference run in identically configured workers pinned to the same
  single core.  The grader's own thread moves off that core while it measures.
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
  budget, fail when the lower bound is over it; blocks far over (or under) the
  budget decide early; else at ``max_blocks`` or ``max_seconds`` of wall time
  (the candidate's slowness included) the verdict is ``inconclusive``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from proctor.library.spec import Budget
from proctor.measure.blocks import Block, Blocks, Stopped
from proctor.measure.compare import same_result
from proctor.measure.cpuclock import CpuClock, pick_clocks, process_tree
from proctor.measure.pinning import core_lock, grader_off, stray_threads
from proctor.measure.stats import Plan, decide, median_interval, min_blocks_for, widened_interval
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


@dataclass
class _Tally:
    """The measured blocks so far (what a check stopped at the ceiling reports too)."""

    k: int = 1
    ratios: list[float] = field(default_factory=list)
    wall_ratios: list[float] = field(default_factory=list)
    cand_s: float = 0.0
    ref_s: float = 0.0

    def add(self, b: Block) -> None:
        self.ratios.append(b.cand / b.ref)
        self.wall_ratios.append(b.cand_wall / max(b.ref_wall, 1e-9))
        self.cand_s += b.cand
        self.ref_s += b.ref


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
    with core_lock(core) as waited:
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
    tally = _Tally()
    with grader_off({core} if core is not None else set()):
        blocks = Blocks(candidate, reference, function, make_args, rng, compare or same_result,
                        limit=limit, call_timeout=call_timeout, plan=plan, handles=handles,
                        clocks=clocks, core=core)
        try:
            status, early = _run_until_decided(blocks, tally, limit, plan, far_blocks, started)
        except Stopped as stop:
            return Outcome("fail", str(stop), {
                "ratio": None, "interval": None, "blocks": len(tally.ratios),
                "calls_per_block": tally.k, "clock": clock_name, "early": "ceiling",
                "seconds": round(time.monotonic() - started, 2)}, budget.as_dict())

    ratio = statistics.median(tally.ratios)
    lo, hi = widened_interval(tally.ratios, plan)
    n, k = len(tally.ratios), tally.k
    measured: dict[str, Any] = {
        "ratio": round(ratio, 4),
        "interval": [round(lo, 4), round(hi, 4)],
        "confidence": plan.confidence,
        "drift_allowance": plan.drift,
        "blocks": n,
        "calls_per_block": k,
        "seconds": round(time.monotonic() - started, 2),
        "clock": clock_name,
        "wall_ratio": round(statistics.median(tally.wall_ratios), 4),
        "reference_ms_per_call": round(1000 * tally.ref_s / (n * k), 4),
        "candidate_ms_per_call": round(1000 * tally.cand_s / (n * k), 4),
    }
    if blocks.stage_share:
        # CPU share of receiving the inputs in the reference's cost: both sides pay
        # it, which pulls ratios towards 1 by about this much
        measured["staging_share"] = round(statistics.median(blocks.stage_share), 3)
    if early:
        measured["early"] = early
    if blocks.stray:
        measured["repinned_threads"] = len(blocks.stray)
    how = f"{n} blocks of {k} calls, {clock_name} time"
    message = _verdict_text(function, status, early, ratio, (lo, hi), limit, plan,
                            far_blocks, how)
    return Outcome(status, message, measured, budget.as_dict())


def _run_until_decided(blocks: Blocks, tally: _Tally, limit: float, plan: Plan,
                       far_blocks: int, started: float) -> tuple[str, str]:
    """Warm up, size the blocks, then measure block by block until the rule decides.

    Returns ``(status, early)``; ``tally`` holds the blocks even when a ``Stopped``
    escapes."""
    blocks.run(1)                      # warm-up: imports, caches, lazy initialisation
    sizing = blocks.run(1)
    per_call = sizing.cand + sizing.ref
    tally.k = int(max(1, min(plan.max_calls_per_block,
                             round(plan.target_block_s / max(per_call, 1e-7)))))
    if tally.k > 2:
        blocks.run(tally.k)            # warm-up at full size (allocators, caches)
    while True:
        b = blocks.run(tally.k)
        tally.add(b)
        spent = time.monotonic() - started
        status, early = decide(tally.ratios, limit, plan, far_blocks)
        next_block = b.cand_wall + b.ref_wall
        if not status and (len(tally.ratios) >= plan.max_blocks
                           or spent + next_block > plan.max_seconds):
            status = "inconclusive"
        if status:
            return status, early


def _verdict_text(function: str, status: str, early: str, ratio: float,
                  interval: tuple[float, float], limit: float, plan: Plan,
                  far_blocks: int, how: str) -> str:
    if early == "far":
        way = "over" if status == "fail" else "under"
        bound = limit * plan.far_factor if status == "fail" else limit / plan.far_factor
        return (f"{function} is {ratio:.2f}x the reference: {far_blocks} blocks in a row "
                f"were {way} {bound:.3g}x, far {way} the {limit:g}x budget ({how})")
    span = f"{interval[0]:.2f}–{interval[1]:.2f}"
    return {
        "pass": f"{function} is {ratio:.2f}x the reference (interval {span}), within the "
                f"{limit:g}x budget ({how})",
        "fail": f"{function} is {ratio:.2f}x the reference (interval {span}), over the "
                f"{limit:g}x budget ({how})",
        "inconclusive": f"{function} is {ratio:.2f}x the reference but the interval {span} "
                        f"straddles the {limit:g}x budget after {how}; scored as "
                        "inconclusive (half points)",
    }[status]
