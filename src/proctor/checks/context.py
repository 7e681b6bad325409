"""The one object a check receives: the candidate, the reference, data and budgets."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from proctor.library.spec import Budget, ExerciseDir
from proctor.measure.latency import latency_ratio
from proctor.measure.memory import memory_use
from proctor.measure.stats import Plan
from proctor.verdicts import Outcome
from proctor.worker.proxy import Proxy, RemoteObject


class NoReference(RuntimeError):
    pass


@dataclass
class Context:
    exercise: ExerciseDir
    candidate: Proxy
    reference: Proxy | None
    check_id: str
    seed: int
    hidden: bool
    artifact_dir: Path | None = None
    plan: Plan = Plan()

    def rng(self, salt: str = "") -> np.random.Generator:
        """A generator seeded by the exercise seed, this check and ``salt``."""
        digest = hashlib.sha256(f"{self.seed}:{self.check_id}:{salt}".encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], "little"))

    def budget(self, name: str) -> Budget:
        try:
            return self.exercise.spec.budgets[name]
        except KeyError:
            raise KeyError(f"exercise {self.exercise.id} declares no budget {name!r}") from None

    @property
    def data_dir(self) -> Path:
        return self.exercise.data_dir

    def latency(
        self,
        function: str,
        make_args: Callable[[np.random.Generator], tuple],
        budget: str,
        compare: Callable[[Any, Any], None] | None = None,
        on: tuple[RemoteObject, RemoteObject] | None = None,
    ) -> Outcome:
        """Time ``function`` against the reference on fresh inputs; see proctor.measure.

        ``on=(candidate_obj, reference_obj)`` times a method of two remote objects made by
        ``ctx.candidate.X()`` and ``ctx.reference.X()`` (e.g. ``Tracker.update``)."""
        if self.reference is None:
            raise NoReference("latency checks need the reference solution (hidden checks only)")
        handles = None
        if on is not None:
            cand_obj, ref_obj = on
            if not (isinstance(cand_obj, RemoteObject) and isinstance(ref_obj, RemoteObject)
                    and cand_obj._client is self.candidate.client
                    and ref_obj._client is self.reference.client):
                raise TypeError("on= needs (candidate object, reference object) handles")
            handles = (cand_obj._handle, ref_obj._handle)
        return latency_ratio(
            self.candidate.client, self.reference.client, function, make_args,
            self.rng("latency"), self.budget(budget), compare,
            call_timeout=self.exercise.spec.limits.call_timeout_s, plan=self.plan,
            handles=handles,
        )

    def memory(
        self,
        function: str,
        make_args: Callable[[np.random.Generator], tuple],
        budget: str,
        compare: Callable[[Any, Any], None] | None = None,
        calls: int = 3,
    ) -> Outcome:
        """Peak memory of ``function`` over fresh inputs, beside the reference; see
        proctor.measure.memory (budget unit ``x reference``, or ``MiB`` etc. for a cap)."""
        if self.reference is None:
            raise NoReference("memory checks need the reference solution (hidden checks only)")
        return memory_use(
            self.candidate.client, self.reference.client, function, make_args,
            self.rng("memory"), self.budget(budget), compare, calls=calls,
            call_timeout=self.exercise.spec.limits.call_timeout_s,
        )
