"""Keeping the timing core to the two measured workers while a latency check runs.

Both workers are pinned to the same single core so that they run under the same
conditions: the grader's own thread moves off that core while it measures, and
where the sandbox has no cpuset to confine a worker, threads that widened their
affinity are put back after every block (docs/measurement.md). Only one latency
measurement at a time may use a core (``proctor grade --jobs N``, or two graders on
one machine): ``core_lock`` serialises them.
"""

from __future__ import annotations

import fcntl
import os
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from proctor.measure.cpuclock import process_tree
from proctor.worker.client import WorkerClient


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


@contextmanager
def grader_off(cores: set[int]) -> Iterator[None]:
    """This thread stays off ``cores`` inside the block and gets its affinity back after."""
    restore = _pin_grader_away(cores)
    try:
        yield
    finally:
        if restore is not None:
            try:
                os.sched_setaffinity(0, restore)
            except OSError:
                pass


@contextmanager
def on_core(core: int | None) -> Iterator[None]:
    """This thread runs on ``core`` inside the block (moving a timed call's data in and out
    of a worker's memory while both workers wait): data written or read from another core
    leaves its cache lines there, and the timed function then pays for fetching them (a
    90 us ``patchify`` took 120 us).  The grader's own CPU time is nobody's."""
    if core is None:
        yield
        return
    try:
        before = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {core})
    except OSError:
        yield
        return
    try:
        yield
    finally:
        try:
            os.sched_setaffinity(0, before)
        except OSError:
            pass


HANDOVER_S = 0.0005


@contextmanager
def quick_handover(seconds: float = HANDOVER_S) -> Iterator[None]:
    """Python's thread switch interval at most ``seconds`` inside the block (restored
    after). A measurement's thread gives up the GIL at every call to a worker and needs it
    back on each reply; with another busy grader thread (the input thread, or another
    exercise's checks beside it) it waited up to the default 5 ms each time, which made a
    latency check 2.5-3x longer in wall time. Nested and concurrent blocks restore the
    interval the first one found when the last one ends."""
    with _HANDOVER_GUARD:
        if not _HANDOVER:
            _HANDOVER.append(sys.getswitchinterval())
        _HANDOVER.append(seconds)
        sys.setswitchinterval(min(_HANDOVER))
    try:
        yield
    finally:
        with _HANDOVER_GUARD:
            _HANDOVER.remove(seconds)
            if len(_HANDOVER) == 1:
                sys.setswitchinterval(_HANDOVER.pop())


_HANDOVER: list[float] = []   # the interval found first, then one entry per open block
_HANDOVER_GUARD = threading.Lock()


_THREAD_LOCKS: dict[int, threading.Lock] = {}
_GUARD = threading.Lock()
def _default_lock_dir() -> Path:
    """Root's lock files live beside the sandbox slots (root-owned /run/proctor); anyone
    else's in a per-user directory under the temp dir."""
    if os.environ.get("PROCTOR_LOCK_DIR"):
        return Path(os.environ["PROCTOR_LOCK_DIR"])
    if os.geteuid() == 0:
        return Path(os.environ.get("PROCTOR_STATE_DIR", "/run/proctor")) / "cores"
    return Path(tempfile.gettempdir()) / f"proctor-cores-{os.geteuid()}"


LOCK_DIR = _default_lock_dir()


@contextmanager
def core_lock(core: int | None, wait_s: float = 1800.0) -> Iterator[float]:
    """Hold ``core`` for one latency measurement; yields the seconds spent waiting.

    A thread lock serialises the measurements of one grader (``--jobs``); an
    ``flock`` on ``LOCK_DIR/core-<n>.lock`` those of other grader processes (of the
    same user: a lock dir is private to its owner). After
    ``wait_s`` it measures anyway (someone may hold a stale lock file open) rather
    than hang the grading; the report then shows the wait."""
    if core is None:
        yield 0.0
        return
    start = time.monotonic()
    with _GUARD:
        lock = _THREAD_LOCKS.setdefault(core, threading.Lock())
    got_thread = lock.acquire(timeout=wait_s)
    fd = _flock(core, max(0.0, wait_s - (time.monotonic() - start)))
    try:
        yield time.monotonic() - start
    finally:
        if fd is not None:
            os.close(fd)  # releases the flock
        if got_thread:
            lock.release()


def _flock(core: int, wait_s: float) -> int | None:
    """The cross-process lock, or None when the lock dir cannot be trusted: a directory
    someone else owns or can write to (or a symlink) could point our O_CREAT elsewhere."""
    try:
        LOCK_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(LOCK_DIR)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
            return None
        fd = os.open(LOCK_DIR / f"core-{core}.lock",
                     os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    except OSError:
        return None  # no usable lock dir: other graders' measurements are not serialised
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError:
            if time.monotonic() >= deadline:
                os.close(fd)
                return None
            time.sleep(0.05)


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
