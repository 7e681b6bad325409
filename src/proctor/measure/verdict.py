"""The message of a latency verdict, built from the numbers it reports (and only those).

Every sentence states what the numbers show: "interval" only for an interval that has the
stated coverage, "straddles" only when the budget is inside it, "far" and "every block"
only for the blocks that were, and an inconclusive measurement says which cap stopped it.
"""

from __future__ import annotations

import statistics

from proctor.measure.stats import Plan, cap_rule, widened_interval

_CAPS = {"blocks": "the cap of {n} blocks", "cpu": "the cap of {cpu:.3g} s of CPU time",
         "wall": "the cap of {wall:.3g} s of wall time"}


def verdict_text(function: str, status: str, early: str, ratios: list[float],
                 limit: float, plan: Plan, far_blocks: int, how: str, cap: str,
                 cpu_clock: bool, retried: bool = False) -> str:
    """One sentence (plus the scoring note for ``inconclusive``) for a latency verdict."""
    ratio = statistics.median(ratios)
    n = len(ratios)
    lo, hi = widened_interval(ratios, plan)
    head = f"{function} is {ratio:.2f}x the reference"
    if early == "far":
        way = "over" if status == "fail" else "under"
        bound = limit * plan.far_factor if status == "fail" else limit / plan.far_factor
        return (f"{head}: {far_blocks} blocks in a row were {way} {bound:.3g}x, far {way} "
                f"the {limit:g}x budget ({how})")
    stopped = _CAPS.get(cap, "a cap").format(n=n, cpu=_cap(plan, retried, "cpu"),
                                            wall=_cap(plan, retried, "wall"))
    if early == "cap":
        _, f = cap_rule(ratios, limit, plan, cpu_clock)
        way = "over" if status == "fail" else "under"
        bound = limit * f if status == "fail" else limit / f
        return (f"{head}: {stopped} came after {n} blocks, every one of them {way} "
                f"{bound:.3g}x ({f:g}x {'beyond' if status == 'fail' else 'within'} the "
                f"{limit:g}x budget) ({how})")
    span = f"{lo:.2f}–{hi:.2f}"
    if status == "pass":
        return f"{head} (interval {span}), within the {limit:g}x budget ({how})"
    if status == "fail":
        return f"{head} (interval {span}), over the {limit:g}x budget ({how})"
    note = "; scored as inconclusive (half points)"
    if n < plan.min_blocks:
        return (f"{head}, but {stopped} came after only {n} block{'s' if n != 1 else ''} "
                f"(ranging {min(ratios):.2f}–{max(ratios):.2f}x; {plan.min_blocks} are "
                f"needed for a {plan.confidence:.0%} interval) ({how}){note}")
    return (f"{head} but the interval {span} contains the {limit:g}x budget when "
            f"{stopped} came ({how}){note}")


def _cap(plan: Plan, retried: bool, which: str) -> float:
    base = plan.max_cpu_s if which == "cpu" else plan.max_wall_s
    return base * (plan.retry_factor if retried else 1.0)


def waiting_text(function: str, wall: float, limit: float, plan: Plan, cpu_verdict: str) -> str:
    """A CPU-time verdict overruled by the wall clock: the calls wait (sleep, block)."""
    return (f"{function} waits: its calls took {wall:.2f}x the reference's wall-clock time, "
            f"over {plan.wall_factor:g}x the {limit:g}x budget (time spent sleeping or "
            f"blocked counts as latency too); on CPU time alone: {cpu_verdict}")
