"""One block of a latency check: fresh inputs, staged on both sides, run in ABBA order.

Everything a block needs is staged before its first run, the halves run C R R C
(then R C C R on the next block) so that whoever runs first after staging does not
pay for it alone, every output is checked against the reference's, and each side is
charged every CPU second its tree used since the previous block, so there is nowhere
to hide work (docs/measurement.md, "Blocks").
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from proctor.measure.compare import check_outputs, fingerprint
from proctor.measure.cpuclock import CpuClock
from proctor.measure.pinning import stray_threads
from proctor.measure.stats import Plan
from proctor.worker.client import CandidateError, WorkerClient, WorkerError


class Stopped(Exception):
    """The candidate blew through the per-run ceiling; carries the explanation."""


class Block(NamedTuple):
    """What one block cost each side: CPU seconds (wall without CPU accounting), and wall."""

    cand: float
    ref: float
    cand_wall: float
    ref_wall: float


def _timed_run(client: WorkerClient, key: str, function: str,
               timeout: float, handle: int | None = None) -> tuple[float, list]:
    if handle is None:
        client.send({"op": "run", "key": key, "target": function})
    else:  # a method of a remote object (e.g. Tracker.update)
        client.send({"op": "run", "key": key, "target": handle, "method": function})
    t0 = time.perf_counter()
    reply = client.receive(timeout)
    elapsed = time.perf_counter() - t0
    if "raised" in reply:
        raise CandidateError(reply["raised"], function)
    out = reply.get("ok")
    if not isinstance(out, list):
        raise AssertionError(f"{function}: malformed reply to a timed block")
    return elapsed, out


class Blocks:
    """Runs the blocks of one latency check on a candidate and a reference worker.

    Created right before the first block: from then on, every CPU second either tree
    uses is charged to some block.  Also keeps what the report needs besides the
    ratios: the share of staging in the reference's cost and the re-pinned threads.
    """

    def __init__(
        self,
        candidate: WorkerClient,
        reference: WorkerClient,
        function: str,
        make_args: Callable[[np.random.Generator], tuple],
        rng: np.random.Generator,
        compare: Callable[[Any, Any], None],
        *,
        limit: float,
        call_timeout: float,
        plan: Plan,
        handles: tuple[int, int] | None,
        clocks: tuple[CpuClock, CpuClock] | None,
        core: int | None,
    ) -> None:
        self.candidate, self.reference = candidate, reference
        self.function = function
        self.make_args, self.rng = make_args, rng
        self.compare = compare
        self.limit, self.call_timeout, self.plan = limit, call_timeout, plan
        self.handles = handles if handles is not None else (None, None)
        self.clocks, self.core = clocks, core
        self.serial = 0
        self.seen_inputs: set[bytes] = set()
        self.ref_wall_per_call: list[float] = []
        self.stage_share: list[float] = []
        self.stray: set[int] = set()
        self.last = self._cpu_now()

    def run(self, k: int) -> Block:
        """One block of k calls per side (two halves in ABBA order when k >= 2; a single
        call alternates CR / RC across blocks)."""
        self.serial += 1
        halves = [self._fresh_calls(k - k // 2)] + ([self._fresh_calls(k // 2)] if k > 1 else [])
        keys = [f"b{self.serial}h{i}" for i in range(len(halves))]
        # stage everything before the first run (timed only to report its share)
        at_stage = self._cpu_now()
        for client in (self.candidate, self.reference):
            for key, calls in zip(keys, halves, strict=True):
                client.request({"op": "stage", "key": key, "calls": calls}, self.call_timeout)
        staged = self._cpu_now()
        wall, outs = self._run_abba(keys, halves)
        now = self._cpu_now()
        self.stray.update(stray_threads(self.candidate, self.core))
        check_outputs(self.function, self.serial, outs["c"], outs["r"], self.compare)
        if self.clocks is None:
            t = dict(wall)
        else:
            # each side pays every CPU second its tree used since the previous block:
            # staging, both runs, and whatever ran in between (threads, children,
            # clean-up after the reply) -- so there is nowhere to hide work
            t = {side: max(now[side] - self.last[side], 1e-9) for side in ("c", "r")}
            self.stage_share.append((staged["r"] - at_stage["r"]) / t["r"])
        self.last = now
        return Block(t["c"], t["r"], wall["c"], wall["r"])

    def _cpu_now(self) -> dict[str, float]:
        if self.clocks is None:
            return {"c": 0.0, "r": 0.0}
        return {"c": self.clocks[0].read(), "r": self.clocks[1].read()}

    def _fresh_calls(self, k: int) -> list:
        calls = []
        for _ in range(k):
            args = list(self.make_args(self.rng))
            digest = fingerprint(args)
            if digest in self.seen_inputs:
                raise RuntimeError(
                    f"make_args for {self.function} returned an input it had returned "
                    "before; every timed call needs a fresh input (draw it from the rng)")
            self.seen_inputs.add(digest)
            calls.append([args, {}])
        return calls

    def _run_abba(self, keys: list[str],
                  halves: list[list]) -> tuple[dict[str, float], dict[str, list]]:
        first, second = ("c", "r") if self.serial % 2 else ("r", "c")
        order = [(first, 0), (second, 0)]
        if len(halves) > 1:
            order += [(second, 1), (first, 1)]
        wall = {"c": 0.0, "r": 0.0}
        outs: dict[str, list] = {"c": [], "r": []}
        for side, h in order:
            n_calls = len(halves[h])
            if side == "c":
                elapsed, out = self._run_candidate(keys[h], n_calls)
            else:
                elapsed, out = _timed_run(self.reference, keys[h], self.function,
                                          self.call_timeout * n_calls, self.handles[1])
                self.ref_wall_per_call.append(elapsed / n_calls)
            wall[side] += elapsed
            outs[side].extend(out)
        return wall, outs

    def _run_candidate(self, key: str, n_calls: int) -> tuple[float, list]:
        limit_s = self._ceiling(n_calls)
        try:
            return _timed_run(self.candidate, key, self.function, limit_s, self.handles[0])
        except WorkerError as exc:
            if exc.status == "timeout" and limit_s < self.call_timeout * n_calls - 1e-9:
                ref_ms = 1000 * statistics.median(self.ref_wall_per_call)
                raise Stopped(f"{self.function} did not finish {n_calls} call(s) in "
                              f"{limit_s:.1f} s (the reference takes {ref_ms:.2f} ms per "
                              f"call): far over the {self.limit:g}x budget; stopped (its "
                              "worker is restarted for later checks)") from None
            raise

    def _ceiling(self, calls: int) -> float:
        """Seconds a candidate run may take before it is stopped (docs: "ceiling")."""
        per_call = statistics.median(self.ref_wall_per_call) if self.ref_wall_per_call else None
        cap = self.call_timeout * calls
        if per_call is None:
            return cap
        return min(cap, max(self.plan.ceiling_min_s,
                            self.plan.ceiling_factor * self.limit * per_call * calls))
