"""Where a loaded worker runs: on its timing core only while it is measured, else on
the cores that no measurement of this grader holds.

Workers used to stay pinned to the timing core from their first check to their last, so
an exercise's correctness and accuracy checks ran there too, and two exercises (or two
submissions under ``--jobs``) could not check on one core while measuring on another
without sharing the measured core. Now a loaded worker is *released* (``release``) to the
free cores, and a latency measurement (``measuring``, inside ``core_lock``) moves its two
workers onto its core and every other released worker off it for as long as it measures.
On a machine with a single usable core, free means that core.

Moving a worker is the sandbox's ``pin``: the cgroup's cpuset where there is one (the
kernel moves every task and the worker cannot widen it again) and every thread's
affinity. Only this process's workers are moved; another grader process's workers are
kept off a measured core only by that grader (``core_lock`` keeps their measurements
apart, as before).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from proctor.worker.client import WorkerClient

_LOCK = threading.Lock()
_RELEASED: weakref.WeakSet[WorkerClient] = weakref.WeakSet()
_HELD: set[int] = set()
_ALL: frozenset[int] = frozenset(os.sched_getaffinity(0))


def free_cores() -> tuple[int, ...]:
    """The cores a released worker may use now: all of this grader's, less those held by
    a measurement (all of them if that leaves none)."""
    return tuple(sorted(_ALL - _HELD)) or tuple(sorted(_ALL))


def release(client: WorkerClient) -> None:
    """``client`` is loaded and not measured: it runs on the free cores from now on, and
    moves off any core a measurement takes, until ``forget``."""
    with _LOCK:
        _RELEASED.add(client)
        client.pin(free_cores())


def forget(client: WorkerClient) -> None:
    """``client`` is closing: it is no longer moved."""
    with _LOCK:
        _RELEASED.discard(client)


@contextmanager
def measuring(core: int | None, clients: Iterable[WorkerClient]) -> Iterator[None]:
    """``clients`` run on ``core`` inside the block and no other released worker does;
    after it, the released ones among ``clients`` go back to the free cores."""
    if core is None:
        yield
        return
    clients = list(clients)
    with _LOCK:
        back = [c for c in clients if c in _RELEASED]
        for c in back:
            _RELEASED.discard(c)
        _HELD.add(core)
        for c in clients:
            c.pin((core,))
        _move_released()
    try:
        yield
    finally:
        with _LOCK:
            _HELD.discard(core)
            for c in back:
                _RELEASED.add(c)
            _move_released()


def _move_released() -> None:
    cores = free_cores()
    for c in list(_RELEASED):
        c.pin(cores)


__all__ = ["forget", "free_cores", "measuring", "release"]
