"""What v1 and v2 per-worker cgroups share: joining, killing, removing, creating.

The version-specific parts (which files hold the limits and counters) are in
``_cgroup_v1`` and ``_cgroup_v2``; ``_cgroup.detect()`` decides which one is used here.
"""

from __future__ import annotations

import atexit
import errno
import os
import threading
import time
from dataclasses import dataclass, field
from typing import ClassVar

from proctor.sandbox import cgroupfs as fs

Cpus = int | tuple[int, ...] | None   # one core, several, or no cpuset


def cpu_list(cpu: int | tuple[int, ...]) -> str:
    """A cpuset's text: "1", or "0,2"."""
    return str(cpu) if isinstance(cpu, int) else ",".join(str(c) for c in sorted(set(cpu)))


# cgroups whose rmdir was still EBUSY (a task still exiting): retried later, never leaked
_deferred: list[Cgroup] = []
_deferred_lock = threading.Lock()


def retry_deferred() -> None:
    with _deferred_lock:
        pending = list(_deferred)
        _deferred.clear()
    for cg in pending:
        if not cg.destroy(timeout=0, defer=False):
            with _deferred_lock:
                _deferred.append(cg)


atexit.register(retry_deferred)


@dataclass
class Cgroup:
    """One worker's cgroup (one directory per v1 hierarchy, or one v2 directory)."""

    version: ClassVar[str]
    dirs: dict[str, str]                 # controller -> directory ("" for v2)
    memory_bytes: int | None = None
    pids_max: int | None = None
    _destroyed: bool = field(default=False, repr=False)

    @property
    def path(self) -> str:
        return next(iter(self.dirs.values()))

    @property
    def has_pids(self) -> bool:
        f = self._f("pids", "pids.max")
        return bool(f) and os.path.exists(f)

    def procs_files(self) -> list[bytes]:
        """Files the child writes "0" to (joins itself) before exec."""
        return [os.fsencode(os.path.join(d, "cgroup.procs")) for d in self.dirs.values()]

    def _f(self, ctrl: str, name: str) -> str | None:
        """Path of interface file ``name`` of controller ``ctrl``, if we have its dir."""
        raise NotImplementedError

    def _r(self, ctrl: str, name: str) -> str | None:
        p = self._f(ctrl, name)
        return fs.read(p) if p else None

    # --- limits and accounting (per version) ----------------------------------------
    def apply_limits(self, cpu: Cpus) -> None:
        """Write ``memory_bytes``/``pids_max`` and confine to core(s) ``cpu`` if given."""
        raise NotImplementedError

    def set_cpus(self, cpu: Cpus) -> bool:
        """Confine the tree to other core(s) from now on (the kernel moves every task);
        False when this cgroup has no cpuset."""
        raise NotImplementedError

    def memory_peak(self) -> int | None:
        raise NotImplementedError

    def memory_current(self) -> int | None:
        raise NotImplementedError

    def reset_memory_peak(self) -> bool:
        """Restart peak accounting from the current usage; False if the kernel cannot."""
        raise NotImplementedError

    def cpu_seconds(self) -> float | None:
        raise NotImplementedError

    def oom_kills(self) -> int:
        raise NotImplementedError

    def pids_limit_hits(self) -> int:
        return fs.kv(self._r("pids", "pids.events"), "max") or 0

    def pids_peak(self) -> int | None:
        return fs.to_int(self._r("pids", "pids.peak"))

    # --- lifecycle ------------------------------------------------------------------
    def procs(self) -> list[int]:
        """Every task of the tree."""
        seen: set[int] = set()
        for d in self.dirs.values():
            seen.update(fs.pids_in(d))
        return sorted(seen)

    def kill(self) -> None:
        """Signal every process in the cgroup once (does not wait)."""
        for pid in self.procs():
            fs.sigkill(pid)

    def kill_all(self, timeout: float = 5.0) -> bool:
        """Kill until empty; True when nothing is left."""
        deadline = time.monotonic() + timeout
        delay = 0.001
        while True:
            if not self.procs():
                return True
            self.kill()
            if time.monotonic() > deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def destroy(self, timeout: float = 2.0, defer: bool = True) -> bool:
        """rmdir the cgroup(s); if still busy after ``timeout``, queue a later retry."""
        if self._destroyed:
            return True
        deadline = time.monotonic() + timeout
        ok = True
        for d in self.dirs.values():
            while True:
                try:
                    fs.remove_dir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError as e:
                    if e.errno != errno.EBUSY or time.monotonic() > deadline:
                        ok = False
                        break
                    for pid in fs.pids_in(d):
                        fs.sigkill(pid)
                    time.sleep(0.01)
        self._destroyed = ok
        if not ok and defer:
            with _deferred_lock:
                _deferred.append(self)
        return ok


class Manager:
    """Creates per-worker cgroups of class ``kind`` under the parents found by detection."""

    def __init__(self, kind: type[Cgroup], bases: dict[str, str], features: list[str],
                 note: str):
        self.kind = kind
        self.version = kind.version
        self.bases = bases          # controller -> parent dir ("" for v2)
        self.features = features    # e.g. ["memory", "memory+swap", "pids", "cpu-accounting"]
        self.note = note
        for b in set(bases.values()):
            fs.sweep_stale(b)

    def create(self, memory_bytes: int | None, pids_max: int | None,
               cpu: Cpus = None) -> Cgroup:
        """A fresh cgroup with the limits; ``cpu`` confines it to that core (or those
        cores: a cpuset), so the worker cannot widen its own affinity to use more."""
        if _deferred:
            retry_deferred()
        name = f"{fs.PREFIX}{os.getpid()}.{next(fs.counter)}"
        dirs: dict[str, str] = {}
        cg = self.kind(dirs, memory_bytes, pids_max)
        try:
            for ctrl, base in self.bases.items():
                if ctrl == "cpuset" and cpu is None:
                    continue
                d = os.path.join(base, name)
                fs.make_dir(d)
                dirs[ctrl] = d
            cg.apply_limits(cpu)
        except BaseException:
            cg.destroy(timeout=0, defer=False)
            raise
        return cg
