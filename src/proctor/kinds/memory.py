"""memory: peak memory of a function over fresh inputs, as the kernel accounts it, beside the
reference (budget unit ``x reference``) or against a cap (``MiB`` etc.; proctor.measure.memory)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from proctor.kinds.base import Kind, _number
from proctor.verdicts import Outcome

if TYPE_CHECKING:
    import numpy as np

    from proctor.checks.context import Context


class Memory(Kind):
    name = "memory"
    needs_reference = True
    margin_keys = ("ratio", "candidate_mib")  # a ratio budget, else an absolute cap's MiB
    labels = {
        "candidate_mib": ("candidate peak memory", "MiB"),
        "reference_mib": ("reference peak memory", "MiB"),
        "calls": ("calls", ""),
        "source": ("accounting", ""),
    }

    def measure(
        self,
        ctx: Context,
        function: str,
        make_args: Callable[[np.random.Generator], tuple],
        budget: str,
        compare: Callable[[Any, Any], None] | None = None,
        calls: int = 3,
    ) -> Outcome:
        """Peak memory of ``function`` over fresh inputs, beside the reference; see
        proctor.measure.memory (budget unit ``x reference``, or ``MiB`` etc. for a cap)."""
        from proctor.measure.memory import memory_use

        assert ctx.reference is not None  # Context checked needs_reference
        return memory_use(
            ctx.candidate.client, ctx.reference.client, function, make_args,
            ctx.rng("memory"), ctx.budget(budget), compare, calls=calls,
            call_timeout=ctx.exercise.spec.limits.call_timeout_s,
        )

    def bytes_measured(self, measured: Mapping[str, Any]) -> float | None:
        mib = _number(measured.get("candidate_mib"))
        return mib * (1 << 20) if mib is not None else super().bytes_measured(measured)
