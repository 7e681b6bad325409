"""One block of a latency check: fresh inputs, staged on both sides, run in ABBA order.

Everything a block needs is staged before its first run, the halves run C R R C
(then R C C R on the next block) so that whoever runs first after staging does not
pay for it alone, every output is checked against the reference's, and each side is
charged every CPU second its tree used since the previous block, so there is nowhere
to hide work (docs/measurement.md, "Blocks").  Arrays cross through the workers' memory
when both allow it (proctor.worker.staging), so that moving them costs neither side.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from proctor.measure.compare import check_outputs
from proctor.measure.cpuclock import CpuClock
from proctor.measure.inputs import Inputs
from proctor.measure.pinning import on_core, stray_threads
from proctor.measure.stats import Plan
from proctor.worker import memwindow
from proctor.worker.client import MAX_REPLY, CandidateError, WorkerClient, WorkerError

POLL_S = 0.1   # how often a waiting grader looks at the candidate's CPU time


class Stopped(Exception):
    """The candidate blew through the per-run ceiling; carries the explanation."""


class Block(NamedTuple):
    """What one block cost each side: CPU seconds (wall without CPU accounting), and wall;
    ``boundary``: the CPU seconds of the same block's boundary alone, measured in the
    reference's worker (0 when not measured)."""

    cand: float
    ref: float
    cand_wall: float
    ref_wall: float
    boundary: float = 0.0


class _Side:
    """One worker as a block uses it: staging (through its memory or the pipe), runs."""

    def __init__(self, client: WorkerClient, handle: int | None, mem: bool,
                 core: int | None = None) -> None:
        self.client, self.handle, self.core = client, handle, core
        self.window = client.window() if mem else None

    def stage(self, key: str, calls: list, timeout: float) -> None:
        if self.window is None:
            self.client.request({"op": "stage", "key": key, "calls": calls}, timeout)
            return
        slots, arrays = memwindow.split(calls)
        where = self.client.request({"op": "stage", "key": key, "calls": slots, "mem": True},
                                    timeout)
        try:
            with on_core(self.core):
                memwindow.fill(self.window, where, arrays)
        except memwindow.StagingError as exc:
            raise self._broken(exc) from None

    def send_run(self, key: str, function: str, null: bool = False) -> None:
        msg: dict[str, Any] = {"op": "run", "key": key, "target": function}
        if self.handle is not None:   # a method of a remote object (e.g. Tracker.update)
            msg = {**msg, "target": self.handle, "method": function}
        if self.window is not None:
            msg["mem"] = True
        if null:                      # the reference's worker only: the boundary alone
            msg["null"] = True
        self.client.send(msg)

    def results(self, reply: dict, function: str) -> list:
        if "raised" in reply:
            raise CandidateError(reply["raised"], function)
        out = reply.get("ok")
        if not isinstance(out, list):
            raise AssertionError(f"{function}: malformed reply to a timed block")
        if self.window is not None:
            try:
                with on_core(self.core):
                    out = memwindow.gather(out, self.window, MAX_REPLY)
            except memwindow.StagingError as exc:
                raise self._broken(exc) from None
        return out

    def _broken(self, exc: Exception) -> WorkerError:
        self.client.kill(WorkerError("error", f"worker broke the staging protocol ({exc})"))
        return self.client.dead_reason


class Blocks:
    """Runs the blocks of one latency check on a candidate and a reference worker.

    Created right before the first block: from then on, every CPU second either tree
    uses is charged to some block.  Also keeps what the report needs besides the
    ratios: the share of staging in the reference's cost, the re-pinned threads, and the
    CPU (or wall) seconds spent so far.
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
        handles = handles if handles is not None else (None, None)
        # both sides cross the boundary the same way, or neither uses memory
        mem = plan.staging != "pipe" and all(
            getattr(c, "window", lambda: None)() is not None for c in (candidate, reference))
        self.sides = {"c": _Side(candidate, handles[0], mem, core),
                      "r": _Side(reference, handles[1], mem, core)}
        self.candidate, self.reference = candidate, reference
        self.staging = "memory" if mem else "pipe"
        self.function = function
        self.inputs = Inputs(function, make_args, rng)
        self.compare = compare
        self.limit, self.call_timeout, self.plan = limit, call_timeout, plan
        self.clocks, self.core = clocks, core
        self.serial = 0
        self.ref_per_call: list[float] = []      # the reference's cost per call, per block
        self.stage_share: list[float] = []
        self.staging_cpu = 0.0
        self.stray: set[int] = set()
        self.spent = 0.0                         # CPU (or wall) seconds of both sides so far
        self.null = plan.boundary and clocks is not None
        for c in (candidate, reference):         # allocators keep what blocks free (staging)
            c.request({"op": "timing", "on": True}, call_timeout)
        self.last = self._cpu_now()

    @property
    def bytes_per_call(self) -> int:
        """Bytes of the arrays in the last fresh input."""
        return self.inputs.bytes_per_call

    def ahead(self, k: int) -> None:
        """From now on, blocks of k calls, the grader's own work done while workers run; on
        a CPU clock only: on the wall clock, its GIL hand-overs would be measured."""
        if self.clocks is not None:
            self.inputs.ahead(k)

    def settle(self) -> None:
        """Every block's outputs checked (raises what a check raised)."""
        self.inputs.settle()

    def close(self) -> None:
        """Allocators back to normal (memory budgets must see what a function allocates);
        a worker stopped meanwhile is restarted, with normal allocators, when next used."""
        self.inputs.close()
        for c in (self.candidate, self.reference):
            if c.dead_reason is None:
                try:
                    c.request({"op": "timing", "on": False}, self.call_timeout)
                except (WorkerError, CandidateError):
                    pass

    def run(self, k: int) -> Block:
        """One block of k calls per side (two halves in ABBA order when k >= 2; a single
        call alternates CR / RC across blocks); each half is staged right before it runs,
        so that every run finds its inputs as recently written as any other run does."""
        self.serial += 1
        halves = self.inputs.block(k)
        keys = [f"b{self.serial}h{i}" for i in range(len(halves))]
        self.staging_cpu = 0.0
        wall, outs = self._run_abba(keys, halves)
        now = self._cpu_now()
        self.stray.update(stray_threads(self.candidate, self.core))
        serial = self.serial
        self.inputs.check(lambda: check_outputs(self.function, serial, outs["c"], outs["r"],
                                                self.compare))
        if self.clocks is None:
            t = dict(wall)
        else:
            # each side pays every CPU second its tree used since the previous block:
            # staging, both runs, and whatever ran in between (threads, children,
            # clean-up after the reply) -- so there is nowhere to hide work
            t = {side: max(now[side] - self.last[side], 1e-9) for side in ("c", "r")}
            self.stage_share.append(self.staging_cpu / t["r"])
        self.last = now
        boundary = self._null_block(halves) if self.null else 0.0
        self.spent += t["c"] + t["r"] + boundary
        self.ref_per_call.append(t["r"] / k)
        return Block(t["c"], t["r"], wall["c"], wall["r"], boundary)

    def _null_block(self, halves: list[list]) -> float:
        """The boundary's cost alone, in the reference's worker: the block's inputs staged
        again the same way, and runs that call nothing and answer the reference's last
        results again.  Its CPU time is not part of the next block (``last`` moves past
        it); the candidate's clock keeps running, so nothing it does meanwhile is free."""
        before = self.clocks[1].read()
        keys = [f"n{self.serial}h{i}" for i in range(len(halves))]
        for key, calls in zip(keys, halves, strict=True):
            self.sides["r"].stage(key, calls, self.call_timeout)
            self.sides["r"].send_run(key, self.function, null=True)
            reply = self.reference.receive(self.call_timeout * len(calls))
            if not isinstance(reply.get("ok"), list):
                raise AssertionError(f"{self.function}: malformed reply to a boundary run")
        after = self.clocks[1].read()
        self.last["r"] = after
        return max(after - before, 0.0)

    def _cpu_now(self) -> dict[str, float]:
        if self.clocks is None:
            return {"c": 0.0, "r": 0.0}
        return {"c": self.clocks[0].read(), "r": self.clocks[1].read()}

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
            if side == "r" and self.clocks is not None:   # its share is reported
                before = self.clocks[1].read()
                self.sides[side].stage(keys[h], halves[h], self.call_timeout)
                self.staging_cpu += self.clocks[1].read() - before
            else:
                self.sides[side].stage(keys[h], halves[h], self.call_timeout)
            start_cpu = self.clocks[0].read() if side == "c" and self.clocks else None
            t0 = time.perf_counter()
            self.sides[side].send_run(keys[h], self.function)
            if side == "c":
                reply = self._await_candidate(n_calls, t0, start_cpu)
            else:
                reply = self.reference.receive(self.call_timeout * n_calls)
            wall[side] += time.perf_counter() - t0
            outs[side].extend(self.sides[side].results(reply, self.function))
        return wall, outs

    def _await_candidate(self, n_calls: int, t0: float, start_cpu: float | None) -> dict:
        """The candidate's reply; a run past the ceiling is stopped (docs: "ceiling"):
        the candidate's CPU time is watched while it runs, so a busy machine that slows
        it down never stops it; the call timeout is the wall-clock backstop."""
        backstop = self.call_timeout * n_calls
        ceiling = self._ceiling(n_calls)
        while True:
            waited = time.perf_counter() - t0
            if waited >= backstop:
                self.candidate.kill(WorkerError("timeout", f"no answer within {backstop:.0f} s"))
                raise self.candidate.dead_reason
            reply = self.candidate.poll(min(POLL_S, backstop - waited))
            if reply is not None:
                return reply
            if ceiling is None:
                continue
            used = (self.clocks[0].read() - start_cpu if start_cpu is not None
                    else time.perf_counter() - t0)
            if used > ceiling:
                self.candidate.kill(WorkerError("timeout", "stopped at the latency ceiling"))
                ref_ms = 1000 * statistics.median(self.ref_per_call)
                clock = "CPU" if start_cpu is not None else "wall"
                raise Stopped(f"{self.function} did not finish {n_calls} call(s) within "
                              f"{ceiling:.1f} s of {clock} time (the reference takes "
                              f"{ref_ms:.2f} ms per call): far over the {self.limit:g}x "
                              "budget; stopped (its worker is restarted for later checks)")

    def _ceiling(self, calls: int) -> float | None:
        """Seconds (CPU, or wall without CPU accounting) a candidate run may take before it
        is stopped; None before the reference's cost is known (warm-up)."""
        if not self.ref_per_call:
            return None
        per_call = statistics.median(self.ref_per_call)
        return max(self.plan.ceiling_min_s,
                   self.plan.ceiling_factor * self.limit * per_call * calls)
