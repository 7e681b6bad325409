"""cgroup v2: one directory in the unified hierarchy holds every controller's files."""

from __future__ import annotations

import errno
import os
import threading
from dataclasses import dataclass, field

from proctor.sandbox import cgroupfs as fs
from proctor.sandbox.cgroup_base import Cgroup, Cpus, Manager, cpu_list

# Linux 6.12 made memory.peak writable: a write resets it for that open file
PEAK_RESET_SINCE = (6, 12)


def kernel_version() -> tuple[int, ...]:
    nums = []
    for part in os.uname().release.split("-")[0].split(".")[:3]:
        if not part.isdigit():
            break
        nums.append(int(part))
    return tuple(nums)


@dataclass
class CgroupV2(Cgroup):
    version = "v2"
    _peak_fd: int | None = field(default=None, repr=False)
    _peak_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _f(self, ctrl: str, name: str) -> str | None:
        d = self.dirs.get("")
        return os.path.join(d, name) if d else None

    def apply_limits(self, cpu: Cpus) -> None:
        d = self.dirs[""]
        self.set_cpus(cpu)
        if self.memory_bytes and os.path.exists(os.path.join(d, "memory.max")):
            fs.write(os.path.join(d, "memory.max"), str(self.memory_bytes))
            sw = os.path.join(d, "memory.swap.max")
            if os.path.exists(sw):
                fs.write(sw, "0")
        if self.pids_max and os.path.exists(os.path.join(d, "pids.max")):
            fs.write(os.path.join(d, "pids.max"), str(self.pids_max))

    def set_cpus(self, cpu: Cpus) -> bool:
        f = os.path.join(self.dirs[""], "cpuset.cpus")
        if cpu is None or not os.path.exists(f):
            return False
        fs.write(f, cpu_list(cpu))
        return True

    def memory_peak(self) -> int | None:
        with self._peak_lock:
            if self._peak_fd is not None:
                try:
                    return fs.to_int(os.pread(self._peak_fd, 64, 0).decode())
                except OSError:
                    return None
        return fs.to_int(self._r("memory", "memory.peak"))

    def memory_current(self) -> int | None:
        return fs.to_int(self._r("memory", "memory.current"))

    def reset_memory_peak(self) -> bool:
        """The kernel resets ``memory.peak`` per open file: after a write, reads through
        *that descriptor* report the peak since the write, other readers still see the
        all-time peak. So the descriptor is kept (until ``destroy()``) and
        ``memory_peak()`` reads through it."""
        f = self._f("memory", "memory.peak")
        if kernel_version() < PEAK_RESET_SINCE or not f or not os.path.exists(f):
            return False
        with self._peak_lock:
            if self._destroyed:
                return False
            try:
                if self._peak_fd is None:
                    self._peak_fd = os.open(f, os.O_RDWR | os.O_CLOEXEC)
                os.pwrite(self._peak_fd, b"reset\n", 0)
            except OSError:
                self._close_peak()
                return False
        return True

    def _close_peak(self) -> None:
        if self._peak_fd is not None:
            os.close(self._peak_fd)
            self._peak_fd = None

    def cpu_seconds(self) -> float | None:
        us = fs.kv(self._r("cpu", "cpu.stat"), "usage_usec")
        return None if us is None else us / 1e6

    def oom_kills(self) -> int:
        return fs.kv(self._r("memory", "memory.events"), "oom_kill") or 0

    def procs(self) -> list[int]:
        """Every task of the tree, threads included."""
        d = self.dirs[""]
        seen = set(fs.pids_in(d))
        threads = fs.read(os.path.join(d, "cgroup.threads"))
        if threads:
            seen.update(int(x) for x in threads.split())
        return sorted(seen)

    def kill(self) -> None:
        """``cgroup.kill`` (Linux >= 5.14) kills the whole tree atomically, even tasks
        forking right now; without it, signal the tasks we can see."""
        f = self._f("", "cgroup.kill")
        if f and os.path.exists(f):
            try:
                fs.write(f, "1")
                return
            except OSError:
                pass
        super().kill()

    def destroy(self, timeout: float = 2.0, defer: bool = True) -> bool:
        with self._peak_lock:
            self._close_peak()
        return super().destroy(timeout, defer)


def enable_controllers(base: str, wanted: set[str]) -> set[str]:
    """Make ``wanted`` controllers available to children of ``base``; return what is."""
    have = set((fs.read(os.path.join(base, "cgroup.controllers")) or "").split())
    wanted &= have
    sub = os.path.join(base, "cgroup.subtree_control")
    enabled = set((fs.read(sub) or "").split())
    missing = wanted - enabled
    if missing:
        try:
            fs.write(sub, " ".join("+" + c for c in sorted(missing)))
        except OSError as e:
            if e.errno != errno.EBUSY:
                raise
            # "no internal processes": base holds processes. If it is only us, move
            # ourselves into a leaf and retry (what container inits do).
            procs = fs.pids_in(base)
            if procs != [os.getpid()]:
                raise
            leaf = os.path.join(base, f"{fs.PREFIX}supervisor")
            try:
                fs.make_dir(leaf)
            except FileExistsError:
                pass
            fs.write(os.path.join(leaf, "cgroup.procs"), "0")
            fs.write(sub, " ".join("+" + c for c in sorted(missing)))
        enabled = set((fs.read(sub) or "").split())
    return wanted & enabled


def detect(mounts: list[fs.Mount], own: dict[str, str],
           forced: bool) -> tuple[Manager | None, str]:
    """A manager over our own (or ``PROCTOR_CGROUP_ROOT``'s) v2 cgroup, or (None, why).
    Unless ``forced``, a parent without the memory and pids controllers is refused."""
    m = next((m for m in mounts if m.fstype == "cgroup2"), None)
    root = os.environ.get("PROCTOR_CGROUP_ROOT")
    if m is None and not root:
        return None, "no cgroup2 mount"
    base = root or fs.join(m, own.get("", "/"))
    if not os.path.isdir(base):
        return None, f"cgroup v2 parent {base} does not exist"
    have = set((fs.read(os.path.join(base, "cgroup.controllers")) or "").split())
    if not forced and not ({"memory", "pids"} & have):
        return None, f"cgroup v2 at {base} has no memory/pids controller"
    try:
        ctrls = enable_controllers(base, {"memory", "pids", "cpuset"})
    except OSError as e:
        return None, (f"cgroup v2: cannot enable controllers in {base} ({e.strerror}); "
                      "set PROCTOR_CGROUP_ROOT to a delegated cgroup")
    if not fs.probe_writable(base):
        return None, f"cgroup v2: {base} is not writable"
    feats = sorted(ctrls)
    if "memory" in ctrls:
        feats = ["memory", "memory+swap"] + [f for f in feats if f != "memory"]
    feats.append("cpu-accounting")
    return Manager(CgroupV2, {"": base}, feats, f"cgroup v2: {base}"), ""
