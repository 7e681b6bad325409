"""Candidates that try to look faster than they are.

Every candidate here does 1.6x the reference's work (honest code of that speed
fails a 1.0x budget) and adds one trick: patching the clocks, patching the worker
loop or the codec, memoising, returning lazy objects or stale results, mutating
inputs, precomputing at staging time, using threads or a child process on the
other core, or burning CPU while the reference is being timed.  Each must get
the verdict honest code of the same speed gets (fail), or fail correctness where
it cheats.  One trick (mutating inputs) is applied to a fast candidate too: it
must still pass, like honest code of its speed.

Timing is observed by the grader only; the workers are the real sandbox when
available (unsafe subprocesses otherwise).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import types

import numpy as np
import pytest

from proctor import sandbox
from proctor.library.spec import Budget, Exercise
from proctor.measure import Plan, latency_ratio
from proctor.measure.pinning import stray_threads
from proctor.worker.client import WorkerClient, WorkerError
from proctor.worker.config import config_for

LIMITS = sandbox.Limits(wall_s=3600, cpu_s=3600)   # module-long workers
SPEC = Exercise(id="timing", title="timing", track="algorithms", kind="code", points=1,
                suggested_minutes=1)
REPS = 24                       # the reference's work per call
SLOW = round(REPS * 1.6)        # every cheater's real work per call
FAST = round(REPS * 0.6)


def honest(reps: int) -> str:
    return f"""
import numpy as np

def work(x):
    out = None
    for _ in range({reps}):
        out = np.sort(x)
    return out[::97].copy()
"""


def make_args(rng: np.random.Generator) -> tuple:
    return (rng.random(3000),)


def start_worker(source: str, label: str = "worker") -> WorkerClient:
    unsafe = not sandbox.isolation().get("available")
    config, _ = config_for(SPEC, None, unsafe)     # exactly as grading configures workers
    client = WorkerClient(dataclasses.replace(config, limits=LIMITS), label)
    client.start()
    client.send({"op": "load", "cells": [source]})
    while True:
        reply = client.receive(60)
        assert not reply.get("error"), reply
        if reply.get("done"):
            return client


PIPE = Plan(staging="pipe")     # the arrays through the pipe (no memory window)


def measure(source: str, reference: WorkerClient, plan: Plan | None = None, seed: int = 7):
    cand = start_worker(source, "candidate")
    try:
        return latency_ratio(cand, reference, "work", make_args, np.random.default_rng(seed),
                             Budget(kind="latency", max=1.0), plan=plan or Plan())
    finally:
        cand.close()


@pytest.fixture(scope="module")
def reference():
    client = start_worker(honest(REPS), "reference")
    yield client
    client.close()


@pytest.fixture(scope="module")
def honest_slow(reference):
    out = measure(honest(SLOW), reference)
    assert out.status == "fail", out.message
    return out


def same_verdict_as_honest(out, honest_out) -> None:
    assert out.status == honest_out.status == "fail", out.message
    lo, _ = out.measured["interval"]
    assert lo > 1.0
    # not materially faster than honest code doing the same work
    assert out.measured["ratio"] >= 0.85 * honest_out.measured["ratio"], (
        out.measured, honest_out.measured)


# --- the sources of the cheaters ------------------------------------------------------

TIMER_PATCH = honest(SLOW) + """
import time, os
for _name in ("perf_counter", "time", "monotonic", "process_time", "thread_time"):
    setattr(time, _name, lambda: 0.0)
for _name in ("perf_counter_ns", "time_ns", "monotonic_ns", "process_time_ns"):
    setattr(time, _name, lambda: 0)
os.times = lambda: (0.0, 0.0, 0.0, 0.0, 0.0)
"""

# the worker runs as __main__: patch the live class and the codec it writes with
REPLY_BEFORE_COMPUTING = honest(SLOW) + """
import sys
from proctor.worker import codec
_W = sys.modules["__main__"].Worker
_orig = _W.handle

def _handle(self, msg, out):
    if msg.get("op") == "run":
        calls = self.staged.pop(msg["key"])
        codec.write_frame(out, {"ok": [np.zeros(31) for _ in calls]})   # answer first
        for a, k in calls:                                                # work after
            work(*a, **k)
        return None
    return _orig(self, msg, out)

_W.handle = _handle
"""

PRECOMPUTE_AT_STAGING = honest(SLOW) + """
import sys, threading
from proctor.worker import codec
_W = sys.modules["__main__"].Worker
_orig = _W.handle
_pending = {}

def _handle(self, msg, out):
    op = msg.get("op")
    if op == "stage" and not msg.get("mem"):     # the pipe: inputs come with the message
        box = {}
        calls = msg["calls"]
        t = threading.Thread(target=lambda: box.setdefault("r", [work(*a, **k) for a, k in calls]))
        t.start()                               # computes while the reference is timed
        _pending[msg["key"]] = (t, box)
        codec.write_frame(out, {"ok": len(calls)})
        return None
    if op == "run" and msg.get("key") in _pending:
        t, box = _pending.pop(msg["key"])
        t.join()
        codec.write_frame(out, {"ok": [self.plain(r) for r in box["r"]]})
        return None
    return _orig(self, msg, out)

_W.handle = _handle
"""

# memory staging: the inputs are written after the stage reply, before the run message;
# compute as soon as they are there (the next message is readable), in the background
PRECOMPUTE_WHEN_WRITTEN = honest(SLOW) + """
import select, sys, threading
from proctor.worker import codec
_W = sys.modules["__main__"].Worker
_orig = _W.handle
_RFD = int(sys.argv[1])
_pending = {}

def _handle(self, msg, out):
    op = msg.get("op")
    reply = _orig(self, msg, out)
    if op == "stage" and msg.get("mem"):
        calls, box, go = self.staged[msg["key"]], {}, threading.Event()

        def early():                            # as soon as the grader has written them
            while not go.is_set() and not select.select([_RFD], [], [], 0.001)[0]:
                pass
            box["r"] = [work(*a, **k) for a, k in calls]

        t = threading.Thread(target=early)
        t.start()
        _pending[msg["key"]] = (t, box, go)
    return reply

def _run(self, msg, out):
    if msg.get("key") in _pending:
        t, box, go = _pending.pop(msg["key"])
        self.staged.pop(msg["key"])
        go.set()
        t.join()
        self.held = []
        codec.write_frame(out, {"ok": [self.plain(r) for r in box["r"]]})
        return None
    return _orig_run(self, msg, out)

_orig_run = _W._run
_W.handle = _handle
_W._run = _run
"""

WRITE_FRAME_PATCH = honest(SLOW) + """
from proctor.worker import codec
_orig_write = codec.write_frame
_late = [0]

def _staged(obj):             # the acknowledgement of staged inputs (pipe or memory)
    ok = obj.get("ok") if isinstance(obj, dict) else None
    return isinstance(ok, int) or (isinstance(ok, list) and bool(ok)
                                   and all(isinstance(x, list) for x in ok))

def _write(stream, obj):
    if _late[0] and isinstance(obj, dict) and isinstance(obj.get("ok"), list) and not _staged(obj):
        _late[0] -= 1             # the real answer to a run: already "sent", dropped
        return None
    _orig_write(stream, obj)
    if _staged(obj):
        # right after acknowledging the staged inputs, answer the run nobody asked yet
        _orig_write(stream, {"ok": [np.zeros(31)]})
        _late[0] += 1
    return None

codec.write_frame = _write
"""

STALE_MEMO = honest(SLOW).replace("def work(x):", "def _work(x):") + """
_last = []

def work(x):
    if _last:
        return _last[0]           # "memoised": the previous answer
    _last.append(_work(x))
    return _last[0]
"""

HASH_CACHE = honest(SLOW).replace("def work(x):", "def _work(x):") + """
import hashlib
_cache = {}

def work(x):
    key = hashlib.sha1(x.tobytes()).hexdigest()
    if key not in _cache:
        _cache[key] = _work(x)
    return _cache[key]
"""

LAZY_RESULT = honest(SLOW).replace("def work(x):", "def _work(x):") + """
class _Lazy:
    def __init__(self, x):
        self._x = x
    def __array__(self, dtype=None, copy=None):
        return _work(self._x)
    def tolist(self):
        return _work(self._x).tolist()

def work(x):
    return _Lazy(x)
"""

MUTATES_INPUT = """
import numpy as np

def work(x):
    for _ in range({reps} - 1):
        np.sort(x)
    x.sort()                      # in place
    out = x[::97].copy()
    x[:] = 0.0                    # and trash the input
    return out
"""

THREAD_POOL_OTHER_CORE = f"""
import os
import numpy as np
from concurrent.futures import ThreadPoolExecutor
_ALL = set(range(os.cpu_count()))
_pool = ThreadPoolExecutor(2)

def _part(x, n):
    os.sched_setaffinity(0, _ALL)
    out = None
    for _ in range(n):
        out = np.sort(x)
    return out

def work(x):
    os.sched_setaffinity(0, _ALL)
    a = _pool.submit(_part, x, {SLOW // 2})
    b = _pool.submit(_part, x, {SLOW - SLOW // 2})
    b.result()
    return a.result()[::97].copy()
"""

THREAD_PER_CALL = f"""
import os, threading
import numpy as np
_ALL = set(range(os.cpu_count()))

def _part(x, n, box):
    os.sched_setaffinity(0, _ALL)
    for _ in range(n):
        box[0] = np.sort(x)

def work(x):
    box = [None]
    t = threading.Thread(target=_part, args=(x, {SLOW // 2}, box))   # a fresh thread each call
    t.start()
    out = None
    for _ in range({SLOW - SLOW // 2}):
        out = np.sort(x)
    t.join()
    return out[::97].copy()
"""

CHILD_PROCESS_OTHER_CORE = f"""
import os, struct
import numpy as np
_r1, _w1 = os.pipe()
_r2, _w2 = os.pipe()
_pid = os.fork()
if _pid == 0:                                  # a helper process on the other core
    os.sched_setaffinity(0, set(range(os.cpu_count())))
    while True:
        head = os.read(_r1, 8)
        if len(head) < 8:
            os._exit(0)
        (n,) = struct.unpack("<Q", head)
        buf = b""
        while len(buf) < n:
            buf += os.read(_r1, n - len(buf))
        x = np.frombuffer(buf)
        for _ in range({SLOW // 2}):
            np.sort(x)
        os.write(_w2, b"k")

def work(x):
    data = x.tobytes()
    os.write(_w1, struct.pack("<Q", len(data)) + data)
    out = None
    for _ in range({SLOW - SLOW // 2}):
        out = np.sort(x)
    os.read(_r2, 1)
    return out[::97].copy()
"""

SPIN_WHILE_REFERENCE_RUNS = honest(SLOW).replace("def work(x):", "def _work(x):") + """
import threading, time
_busy = threading.Event()

def _spin():                    # burns the shared core whenever it is not being timed
    while True:
        if _busy.is_set():
            time.sleep(0.0002)
        else:
            sum(range(2000))

threading.Thread(target=_spin, daemon=True).start()

def work(x):
    _busy.set()
    try:
        return _work(x)
    finally:
        _busy.clear()
"""


# --- the tests --------------------------------------------------------------------------

@pytest.mark.parametrize("source", [TIMER_PATCH, PRECOMPUTE_WHEN_WRITTEN, HASH_CACHE,
                                    THREAD_POOL_OTHER_CORE, THREAD_PER_CALL,
                                    CHILD_PROCESS_OTHER_CORE, SPIN_WHILE_REFERENCE_RUNS],
                         ids=["timer-patch", "precompute-when-written", "hash-cache",
                              "thread-pool-other-core", "thread-per-call",
                              "child-process-other-core", "spin-while-reference-runs"])
def test_cheats_get_the_honest_verdict(reference, honest_slow, source: str) -> None:
    out = measure(source, reference)
    if sandbox.isolation().get("available"):
        assert out.measured["staging"] == "memory"
    same_verdict_as_honest(out, honest_slow)


def test_precomputing_at_staging_through_the_pipe_gets_the_honest_verdict(
        reference, honest_slow) -> None:
    out = measure(PRECOMPUTE_AT_STAGING, reference, PIPE)
    assert out.measured["staging"] == "pipe"
    same_verdict_as_honest(out, honest_slow)


@pytest.mark.parametrize("source", [THREAD_POOL_OTHER_CORE, THREAD_PER_CALL,
                                    CHILD_PROCESS_OTHER_CORE, PRECOMPUTE_AT_STAGING],
                         ids=["thread-pool", "thread-per-call", "child-process",
                              "precompute-at-staging"])
def test_cheats_get_the_honest_verdict_with_the_proc_clock(reference, honest_slow,
                                                           source: str) -> None:
    # without the sandbox's cgroup, /proc accounting of the process tree must hold too
    out = measure(source, reference, Plan(clock="proc"))
    assert out.measured["clock"] == "cpu:proc"
    same_verdict_as_honest(out, honest_slow)


def test_threads_that_leave_the_core_are_put_back() -> None:
    # The sandbox's cpuset (where there is one) already keeps a worker on its core;
    # without it the grader puts threads that widened their affinity back, each block.
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        pytest.skip("one core: nowhere to escape to")
    every = set(cores)
    code = ("import os, threading, time\n"
            "def spin():\n"
            f"    os.sched_setaffinity(0, {every!r})\n"
            "    time.sleep(30)\n"
            "threading.Thread(target=spin, daemon=True).start()\n"
            f"os.sched_setaffinity(0, {every!r})\n"
            "print('ready', flush=True)\n"
            "time.sleep(30)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        os.sched_setaffinity(proc.pid, {cores[-1]})
        assert proc.stdout.readline().strip() == b"ready"
        client = types.SimpleNamespace(proc=types.SimpleNamespace(pid=proc.pid))
        stray = stray_threads(client, cores[-1])
        assert len(stray) >= 2
        for tid in os.listdir(f"/proc/{proc.pid}/task"):
            assert os.sched_getaffinity(int(tid)) == {cores[-1]}
        assert stray_threads(client, cores[-1]) == []
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("plan", [None, PIPE], ids=["memory", "pipe"])
@pytest.mark.parametrize("source,match", [
    (REPLY_BEFORE_COMPUTING, "wrong result"),
    (WRITE_FRAME_PATCH, "wrong result|malformed|staging protocol"),
    (STALE_MEMO, "wrong result"),
    (LAZY_RESULT, "not plain data"),
], ids=["reply-before-computing", "write-frame-answers-early", "stale-memo", "lazy-result"])
def test_cheats_that_return_wrong_or_unfinished_results_fail(reference, source: str,
                                                             match: str, plan) -> None:
    # a frame answered early is a wrong result, or (when it lands where the grader waits
    # for staged addresses) a broken protocol: the worker is stopped; never any credit
    with pytest.raises((AssertionError, WorkerError), match=match):
        measure(source, reference, plan)


def test_mutating_inputs_gets_the_honest_verdict(reference) -> None:
    slow = measure(MUTATES_INPUT.format(reps=SLOW), reference)
    fast = measure(MUTATES_INPUT.format(reps=FAST), reference)
    honest_fast = measure(honest(FAST), reference)
    assert slow.status == "fail", slow.message
    assert fast.status == honest_fast.status == "pass", (fast.message, honest_fast.message)


def test_waiting_is_latency_too(reference) -> None:
    """CPU time does not see a sleep: a fast candidate that sleeps in every call must fail
    on its wall-clock ratio, while the same code without the sleep passes."""
    sleeper = honest(FAST).replace("def work(x):", "import time\n\ndef work(x):\n"
                                   "    time.sleep(0.02)")
    out = measure(sleeper, reference)
    assert out.status == "fail", out.message
    assert out.measured["early"] == "waiting"
    assert out.measured["ratio"] < 1.0 < 2.0 < out.measured["wall_ratio"]
    assert "waits" in out.message and "wall-clock" in out.message
