"""Budgets measured from the trusted side: latency ratios and peak memory.

``latency_ratio`` times candidate and reference interleaved, pinned, on fresh inputs,
and decides from a confidence interval (``Plan`` sets the rules); ``memory_use``
reads peak RSS as the kernel accounts it. See docs/measurement.md.
"""

from proctor.measure.latency import latency_ratio
from proctor.measure.memory import memory_use
from proctor.measure.stats import Plan, median_interval, min_blocks_for

__all__ = ["latency_ratio", "memory_use", "Plan", "median_interval", "min_blocks_for"]
