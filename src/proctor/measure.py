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

import hashlib
import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from proctor import codec
from proctor.checks import Outcome
from proctor.spec import Budget
from proctor.worker_client import CandidateError, WorkerClient, WorkerError


@dataclass(frozen=True)
class Plan:
    """Knobs of the estimator and the stopping rule (docs/measurement.md)."""

    min_blocks: int = 8            # smallest n whose 99% order-statistic interval exists
    max_blocks: int = 41
    max_seconds: float = 20.0      # wall cap of the whole measurement, warm-up included
    target_block_s: float = 0.06   # CPU time of one block, both sides together
    max_calls_per_block: int = 128
    confidence: float = 0.99       # of the interval, at every look
    drift: float = 0.02            # relative allowance for run-to-run drift of the ratio
    far_factor: float = 3.0        # `far_blocks` blocks in a row beyond budget x / ÷ this
    far_blocks: int = 3            # ... decide at once (twice as many on the wall clock)
    ceiling_factor: float = 50.0   # one candidate run over this x budget x reference: stop
    ceiling_min_s: float = 2.0     # ... but never sooner than this
    clock: str = "auto"            # auto | cgroup | proc | wall (see CpuClock)


def median_interval(ratios: list[float], confidence: float = 0.95) -> tuple[float, float]:
    """Order-statistic confidence interval of the median (no distribution assumed).

    Returns ``(x_(j), x_(n+1-j))`` (1-based order statistics) for the largest j with
    ``P(Binomial(n, 1/2) <= j - 1) <= (1 - confidence) / 2``, so the interval covers
    the median with probability at least ``confidence``.  When n is too small for
    that, the interval is the whole range ``(min, max)`` (coverage ``1 - 2^(1-n)``).
    """
    xs = sorted(ratios)
    n = len(xs)
    if n == 0:
        raise ValueError("median_interval of no data")
    tail = (1 - confidence) / 2
    cdf, j = 0.0, 0
    while j < n:
        cdf += math.comb(n, j) / 2**n      # P(X <= j)
        if cdf > tail:
            break
        j += 1
    j = max(j, 1)                          # at least (min, max)
    return xs[j - 1], xs[n - j]


def min_blocks_for(confidence: float) -> int:
    """Smallest n for which ``(min, max)`` covers the median with ``confidence``."""
    n = 1
    while 1 - 2 ** (1 - n) < confidence:
        n += 1
    return n


# --- kernel CPU accounting ----------------------------------------------------------

_HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants (via /proc/<pid>/task/<tid>/children)."""
    out, todo, seen = [], [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        out.append(pid)
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            kids = _read(f"/proc/{pid}/task/{tid}/children")
            if kids:
                todo.extend(int(k) for k in kids.split())
    return out


class CpuClock:
    """CPU seconds consumed by a worker's whole process tree, as the kernel counts them.

    ``cgroup``: the sandbox's per-worker cgroup (every thread and process the worker
    ever started, exited or not; nanoseconds).  ``proc``: the sum over the live process
    tree of per-thread ``schedstat`` run time (nanoseconds), plus, per process, the
    time of exited threads and reaped children from ``/proc/<pid>/stat`` (clock ticks,
    kept monotone).  Processes that leave the tree without being reaped by it are not
    counted in ``proc`` mode (the sandbox's pid namespace keeps them in the tree).
    """

    def __init__(self, client: WorkerClient, source: str) -> None:
        self.client = client
        self.source = source
        self._dead: dict[tuple[int, str], float] = {}

    @staticmethod
    def detect(client: WorkerClient) -> str | None:
        proc = client.proc
        try:
            value = proc.cpu_seconds() if proc is not None else None
        except Exception:
            value = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return "cgroup"
        pid = getattr(proc, "pid", None)
        if pid is not None and _read(f"/proc/{pid}/stat") is not None:
            return "proc"
        return None

    def read(self) -> float:
        if self.source == "cgroup":
            value = self.client.proc.cpu_seconds()
            if value is None:
                raise WorkerError("error", "the worker's CPU accounting disappeared "
                                           "(did the worker exit?)")
            return float(value)
        return self._read_proc()

    def _read_proc(self) -> float:
        total = 0.0
        for pid in process_tree(self.client.proc.pid):
            stat = _read(f"/proc/{pid}/stat")
            if stat is None:
                continue
            fields = stat[stat.rfind(")") + 2 :].split()
            # fields[0] is field 3 (state): utime=14, stime=15, cutime=16, cstime=17,
            # starttime=22 -> indexes 11, 12, 13, 14, 19
            coarse = sum(int(x) for x in fields[11:15]) / _HZ
            live = 0.0
            try:
                tids = os.listdir(f"/proc/{pid}/task")
            except OSError:
                tids = []
            for tid in tids:
                s = _read(f"/proc/{pid}/task/{tid}/schedstat")
                if s:
                    live += int(s.split()[0]) / 1e9
            key = (pid, fields[19])
            # ticks truncate (<= 2 ticks low), so coarse - live - 2 ticks never
            # overstates the time of exited threads and reaped children.
            dead = max(self._dead.get(key, 0.0), coarse - live - 2.0 / _HZ, 0.0)
            self._dead[key] = dead
            total += live + dead
        return total


def pick_clocks(candidate: WorkerClient, reference: WorkerClient,
                want: str = "auto") -> tuple[CpuClock, CpuClock] | None:
    """The same kind of CPU clock for both workers, or None (then wall time is used).

    ``auto`` prefers the sandbox's cgroup, then /proc; ``cgroup`` and ``proc`` insist
    (a ValueError when unavailable); ``wall`` uses the grader's round-trip time only.
    """
    if want == "wall":
        return None
    kinds = {CpuClock.detect(candidate), CpuClock.detect(reference)}
    if want == "cgroup" and kinds != {"cgroup"}:
        raise ValueError("cgroup CPU accounting is not available for these workers")
    if None in kinds:
        if want == "proc":
            raise ValueError("/proc CPU accounting is not available for these workers")
        return None
    source = "cgroup" if kinds == {"cgroup"} and want != "proc" else "proc"
    return CpuClock(candidate, source), CpuClock(reference, source)


def _pin_grader_away(cores: set[int]) -> set[int] | None:
    """Move this thread off the timing core(s); returns the affinity to restore."""
    try:
        mine = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        return None
    rest = mine - cores
    if not cores or not rest or rest == mine:
        return None
    try:
        os.sched_setaffinity(0, rest)
    except OSError:
        return None
    return mine


def stray_threads(client: WorkerClient, core: int | None) -> list[int]:
    """Threads of the worker's tree allowed on cores other than ``core``; re-pins them."""
    if core is None or client.proc is None:
        return []
    stray = []
    for pid in process_tree(client.proc.pid):
        try:
            tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        except OSError:
            continue
        for tid in tids:
            try:
                allowed = os.sched_getaffinity(tid)
            except OSError:
                continue
            if allowed != {core}:
                stray.append(tid)
                try:
                    os.sched_setaffinity(tid, {core})
                except OSError:
                    pass
    return stray


# --- comparing timed outputs ---------------------------------------------------------

def _has_handle(value: Any) -> bool:
    if isinstance(value, dict):
        return codec.HANDLE_KEY in value or any(_has_handle(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_handle(v) for v in value)
    return False


def same_result(got: Any, want: Any, rtol: float = 1e-6, atol: float = 1e-9,
                where: str = "result") -> None:
    """Default comparison of a timed output with the reference's (plain data only)."""
    if isinstance(want, np.ndarray) or isinstance(got, np.ndarray):
        assert isinstance(got, np.ndarray) and isinstance(want, np.ndarray), (
            f"{where}: got {type(got).__name__}, expected {type(want).__name__}")
        assert got.shape == want.shape, f"{where}: shape {got.shape}, expected {want.shape}"
        if want.dtype.kind == "f" or got.dtype.kind == "f":
            ok = np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
        else:
            ok = np.array_equal(got, want)
        assert ok, f"{where}: values differ from the reference"
    elif isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), (
            f"{where}: keys {sorted(got) if isinstance(got, dict) else type(got).__name__}, "
            f"expected {sorted(want)}")
        for k in want:
            same_result(got[k], want[k], rtol, atol, f"{where}[{k!r}]")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (
            f"{where}: expected a list of {len(want)}")
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            same_result(g, w, rtol, atol, f"{where}[{i}]")
    elif isinstance(want, float) and isinstance(got, (int, float)) and not isinstance(got, bool):
        assert math.isclose(got, want, rel_tol=rtol, abs_tol=atol) or (
            math.isnan(got) and math.isnan(want)), f"{where}: {got!r}, expected {want!r}"
    else:
        assert type(got) is type(want) and got == want, f"{where}: {got!r}, expected {want!r}"


# --- the measurement ------------------------------------------------------------------

def _fingerprint(value: Any) -> bytes:
    """A digest of plain input data (to refuse make_args that repeat an input)."""
    h = hashlib.blake2b(digest_size=16)

    def feed(v: Any) -> None:
        if isinstance(v, np.ndarray):
            h.update(f"a{v.dtype.str}{v.shape}".encode())
            h.update(np.ascontiguousarray(v).view(np.uint8).reshape(-1).data)
        elif isinstance(v, (list, tuple)):
            h.update(f"l{len(v)}".encode())
            for x in v:
                feed(x)
        elif isinstance(v, dict):
            h.update(f"d{len(v)}".encode())
            for k in sorted(v, key=str):
                feed(str(k))
                feed(v[k])
        else:
            h.update(f"{type(v).__name__}:{v!r};".encode())

    feed(value)
    return h.digest()


class _Stop(Exception):
    """The candidate blew through the per-run ceiling; carries the explanation."""


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


def latency_ratio(
    candidate: WorkerClient,
    reference: WorkerClient,
    function: str,
    make_args: Callable[[np.random.Generator], tuple],
    rng: np.random.Generator,
    budget: Budget,
    compare: Callable[[Any, Any], None] | None = None,
    call_timeout: float = 30.0,
    plan: Plan = Plan(),
    handles: tuple[int, int] | None = None,
) -> Outcome:
    """Measure candidate/reference time of ``function`` and judge it against ``budget.max``.

    With ``handles`` (candidate's, reference's), ``function`` is a method of those remote
    objects, so stateful interfaces (a tracker's ``update``) are timed the same way."""
    hc, hr = handles if handles is not None else (None, None)
    limit = float(budget.max)
    compare = compare or same_result
    started = time.monotonic()
    clocks = pick_clocks(candidate, reference, plan.clock)
    clock_name = f"cpu:{clocks[0].source}" if clocks else "wall"
    core = candidate.config.cpu if candidate.config.cpu == reference.config.cpu else None
    restore = _pin_grader_away({core} if core is not None else set())
    seen_inputs: set[bytes] = set()
    serial = 0
    stray: set[int] = set()
    last = {"c": 0.0, "r": 0.0}
    ref_wall_per_call: list[float] = []
    stage_share: list[float] = []

    def cpu_now() -> dict[str, float]:
        if clocks is None:
            return {"c": 0.0, "r": 0.0}
        return {"c": clocks[0].read(), "r": clocks[1].read()}

    def fresh_calls(k: int) -> list:
        calls = []
        for _ in range(k):
            args = list(make_args(rng))
            digest = _fingerprint(args)
            if digest in seen_inputs:
                raise RuntimeError(
                    f"make_args for {function} returned an input it had returned before; "
                    "every timed call needs a fresh input (draw it from the rng)")
            seen_inputs.add(digest)
            calls.append([args, {}])
        return calls

    def ceiling(calls: int) -> float:
        per_call = statistics.median(ref_wall_per_call) if ref_wall_per_call else None
        cap = call_timeout * calls
        if per_call is None:
            return cap
        return min(cap, max(plan.ceiling_min_s, plan.ceiling_factor * limit * per_call * calls))

    def block(k: int) -> dict[str, float]:
        """One block of k calls per side (two halves in ABBA order when k >= 2; a single
        call alternates CR / RC across blocks); returns CPU (or wall) and wall per side."""
        nonlocal serial, last
        serial += 1
        halves = [fresh_calls(k - k // 2)] + ([fresh_calls(k // 2)] if k > 1 else [])
        keys = [f"b{serial}h{i}" for i in range(len(halves))]
        # stage everything before the first run (timed only to report its share)
        at_stage = cpu_now()
        for key, calls in zip(keys, halves, strict=True):
            candidate.request({"op": "stage", "key": key, "calls": calls}, call_timeout)
        for key, calls in zip(keys, halves, strict=True):
            reference.request({"op": "stage", "key": key, "calls": calls}, call_timeout)
        staged = cpu_now()
        first, second = ("c", "r") if serial % 2 else ("r", "c")
        order = [(first, 0), (second, 0)]
        if len(halves) > 1:
            order += [(second, 1), (first, 1)]
        wall = {"c": 0.0, "r": 0.0}
        outs: dict[str, list] = {"c": [], "r": []}
        for side, h in order:
            n_calls = len(halves[h])
            if side == "c":
                limit_s = ceiling(n_calls)
                try:
                    elapsed, out = _timed_run(candidate, keys[h], function, limit_s, hc)
                except WorkerError as exc:
                    if exc.status == "timeout" and limit_s < call_timeout * n_calls - 1e-9:
                        ref_ms = 1000 * statistics.median(ref_wall_per_call)
                        raise _Stop(f"{function} did not finish {n_calls} call(s) in "
                                    f"{limit_s:.1f} s (the reference takes {ref_ms:.2f} ms "
                                    f"per call): far over the {limit:g}x budget; stopped "
                                    "(its worker is restarted for later checks)") from None
                    raise
            else:
                elapsed, out = _timed_run(reference, keys[h], function,
                                          call_timeout * n_calls, hr)
                ref_wall_per_call.append(elapsed / n_calls)
            wall[side] += elapsed
            outs[side].extend(out)
        now = cpu_now()
        stray.update(stray_threads(candidate, core))
        for i, (got, want) in enumerate(zip(outs["c"], outs["r"], strict=True)):
            if _has_handle(got) and not _has_handle(want):
                raise AssertionError(
                    f"{function} returned an object that is not plain data during timing "
                    f"(call {i + 1} of block {serial}); timed results must be computed "
                    "before they are returned")
            try:
                compare(got, want)
            except AssertionError as exc:
                raise AssertionError(
                    f"{function} returned a wrong result during timing (call {i + 1} of "
                    f"block {serial}); a fast wrong answer is not fast: {exc}"
                ) from None
        if clocks is None:
            t = dict(wall)
        else:
            # each side pays every CPU second its tree used since the previous block:
            # staging, both runs, and whatever ran in between (threads, children,
            # clean-up after the reply) -- so there is nowhere to hide work
            t = {side: max(now[side] - last[side], 1e-9) for side in ("c", "r")}
            stage_share.append((staged["r"] - at_stage["r"]) / t["r"])
        last = now
        return {"c": t["c"], "r": t["r"], "wc": wall["c"], "wr": wall["r"], "k": k}

    ratios: list[float] = []
    wall_ratios: list[float] = []
    # the wall clock is far noisier: it needs twice the evidence to decide early
    far_blocks = plan.far_blocks * (1 if clocks else 2)
    tc_sum = tr_sum = 0.0
    k = 1
    status, early = "", ""
    lo = hi = float("nan")
    try:
        try:
            last = cpu_now()
            block(1)                       # warm-up: imports, caches, lazy initialisation
            sizing = block(1)
            per_call = sizing["c"] + sizing["r"]
            k = int(max(1, min(plan.max_calls_per_block,
                               round(plan.target_block_s / max(per_call, 1e-7)))))
            if k > 2:
                block(k)                   # warm-up at full size (allocators, caches)
            while True:
                b = block(k)
                ratios.append(b["c"] / b["r"])
                wall_ratios.append(b["wc"] / max(b["wr"], 1e-9))
                tc_sum += b["c"]
                tr_sum += b["r"]
                n = len(ratios)
                spent = time.monotonic() - started
                tail = ratios[-far_blocks:]
                if n >= plan.min_blocks:
                    lo, hi = median_interval(ratios, plan.confidence)
                    lo, hi = lo / (1 + plan.drift), hi * (1 + plan.drift)
                    if hi <= limit:
                        status = "pass"
                    elif lo > limit:
                        status = "fail"
                if not status and len(tail) == far_blocks:
                    if min(tail) > limit * plan.far_factor:
                        status, early = "fail", "far"
                    elif max(tail) < limit / plan.far_factor:
                        status, early = "pass", "far"
                next_block = b["wc"] + b["wr"]
                if not status and (n >= plan.max_blocks
                                   or spent + next_block > plan.max_seconds):
                    status = "inconclusive"
                if status:
                    break
        except _Stop as stop:
            return Outcome("fail", str(stop), {
                "ratio": None, "interval": None, "blocks": len(ratios),
                "calls_per_block": k, "clock": clock_name, "early": "ceiling",
                "seconds": round(time.monotonic() - started, 2)}, budget.as_dict())
    finally:
        if restore is not None:
            try:
                os.sched_setaffinity(0, restore)
            except OSError:
                pass

    ratio = statistics.median(ratios)
    if early or math.isnan(lo):
        lo, hi = (median_interval(ratios, plan.confidence) if ratios else (ratio, ratio))
        lo, hi = lo / (1 + plan.drift), hi * (1 + plan.drift)
    n = len(ratios)
    measured: dict[str, Any] = {
        "ratio": round(ratio, 4),
        "interval": [round(lo, 4), round(hi, 4)],
        "confidence": plan.confidence,
        "drift_allowance": plan.drift,
        "blocks": n,
        "calls_per_block": k,
        "seconds": round(time.monotonic() - started, 2),
        "clock": clock_name,
        "wall_ratio": round(statistics.median(wall_ratios), 4),
        "reference_ms_per_call": round(1000 * tr_sum / (n * k), 4),
        "candidate_ms_per_call": round(1000 * tc_sum / (n * k), 4),
    }
    if stage_share:
        # CPU share of receiving the inputs in the reference's cost: both sides pay
        # it, which pulls ratios towards 1 by about this much
        measured["staging_share"] = round(statistics.median(stage_share), 3)
    if early:
        measured["early"] = early
    if stray:
        measured["repinned_threads"] = len(stray)
    span = f"{lo:.2f}–{hi:.2f}"
    how = f"{n} blocks of {k} calls, {clock_name} time"
    if early == "far":
        way = "over" if status == "fail" else "under"
        bound = limit * plan.far_factor if status == "fail" else limit / plan.far_factor
        verdicts = {status: f"{function} is {ratio:.2f}x the reference: {far_blocks} "
                            f"blocks in a row were {way} {bound:.3g}x, far {way} the "
                            f"{limit:g}x budget ({how})"}
    else:
        verdicts = {
            "pass": f"{function} is {ratio:.2f}x the reference (interval {span}), within the "
                    f"{limit:g}x budget ({how})",
            "fail": f"{function} is {ratio:.2f}x the reference (interval {span}), over the "
                    f"{limit:g}x budget ({how})",
            "inconclusive": f"{function} is {ratio:.2f}x the reference but the interval {span} "
                            f"straddles the {limit:g}x budget after {how}; scored as "
                            "inconclusive (half points)",
        }
    return Outcome(status, verdicts[status], measured, budget.as_dict())
