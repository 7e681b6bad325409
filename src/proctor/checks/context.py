"""The one object a check receives: the candidate, the reference, data and budgets."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from proctor.kinds import NoReference, get_kind, kind_names
from proctor.library.spec import Budget, ExerciseDir
from proctor.measure.stats import Plan
from proctor.verdicts import Outcome
from proctor.worker.proxy import Proxy, RemoteObject

__all__ = ["Context", "NoReference"]


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
    # the code cells the candidate's worker loaded, as text (never run by the grader): for
    # checks that weigh what a submission carries, e.g. weights pasted into a cell as base64
    # count towards a size budget like weights saved under artifact_dir
    code: tuple[str, ...] = ()

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

    def handles(self, on: tuple[RemoteObject, RemoteObject] | None) -> tuple[int, int] | None:
        """The worker handles of ``(candidate object, reference object)``, for a measurement
        of their methods (``ctx.latency(..., on=(cand_tracker, ref_tracker))``)."""
        if on is None:
            return None
        cand_obj, ref_obj = on
        if not (isinstance(cand_obj, RemoteObject) and isinstance(ref_obj, RemoteObject)
                and self.reference is not None
                and cand_obj._client is self.candidate.client
                and ref_obj._client is self.reference.client):
            raise TypeError("on= needs (candidate object, reference object) handles")
        return cand_obj._handle, ref_obj._handle

    def measure(self, kind: str, *args: Any, **kwargs: Any) -> Outcome:
        """Measure as the check kind ``kind`` does (proctor.kinds); ``ctx.<kind>(...)`` is
        the same call: ``ctx.latency("nms", make_args, budget="nms_latency")``."""
        k = get_kind(kind)
        if not k.measures:
            raise AttributeError(f"check kind {kind!r} measures nothing: its checks compute "
                                 "their Outcome themselves")
        if k.needs_reference and self.reference is None:
            raise NoReference(f"{kind} checks need the reference solution (hidden checks only)")
        return k.measure(self, *args, **kwargs)

    def __getattr__(self, name: str) -> Callable[..., Outcome]:
        """``ctx.latency(...)``, ``ctx.memory(...)``: the registered kinds that measure."""
        if name.startswith("_") or name not in kind_names() or not get_kind(name).measures:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return functools.partial(self.measure, name)
