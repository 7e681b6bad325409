"""latency: time per call as a ratio to the reference solution, measured side by side,
interleaved and pinned (proctor.measure.latency; docs/measurement.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from proctor.kinds.base import Kind
from proctor.verdicts import Outcome

if TYPE_CHECKING:
    import numpy as np

    from proctor.checks.context import Context
    from proctor.worker.proxy import RemoteObject


class Latency(Kind):
    name = "latency"
    needs_reference = True
    margin_keys = ("ratio",)
    labels = {
        "drift_allowance": ("drift allowance", "×"),
        "blocks": ("blocks measured", ""),
        "calls_per_block": ("calls per block", ""),
        "clock": ("clock", ""),
        "wall_ratio": ("wall-clock ratio", "×"),
        "reference_ms_per_call": ("reference, per call", "ms"),
        "candidate_ms_per_call": ("candidate, per call", "ms"),
        "staging_share": ("input staging share of the reference's time", "%"),
        "early": ("decided early", ""),
        "repinned_threads": ("threads re-pinned", ""),
        "waited_for_core_s": ("waited for a free core", "s"),
    }

    def measure(
        self,
        ctx: Context,
        function: str,
        make_args: Callable[[np.random.Generator], tuple],
        budget: str,
        compare: Callable[[Any, Any], None] | None = None,
        on: tuple[RemoteObject, RemoteObject] | None = None,
    ) -> Outcome:
        """Time ``function`` against the reference on fresh inputs; see proctor.measure.

        ``on=(candidate_obj, reference_obj)`` times a method of two remote objects made by
        ``ctx.candidate.X()`` and ``ctx.reference.X()`` (e.g. ``Tracker.update``)."""
        from proctor.measure.latency import latency_ratio

        handles = ctx.handles(on)
        assert ctx.reference is not None  # Context checked needs_reference
        return latency_ratio(
            ctx.candidate.client, ctx.reference.client, function, make_args,
            ctx.rng("latency"), ctx.budget(budget), compare,
            call_timeout=ctx.exercise.spec.limits.call_timeout_s, plan=ctx.plan,
            handles=handles,
        )
