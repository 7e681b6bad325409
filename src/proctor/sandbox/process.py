"""The handle of a running sandbox: waiting, killing, and what the kernel accounted.

A monitor thread per sandbox enforces the wall-clock and whole-tree CPU backstops;
``_finish()`` (whichever thread gets there first) makes sure nothing of the tree
outlives the top process, records the cgroup's counters and removes the cgroup.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import threading
import time
from typing import TYPE_CHECKING

from proctor.sandbox import affinity
from proctor.sandbox.cgroup import Cgroup
from proctor.sandbox.slots import Slot, kill_uid

if TYPE_CHECKING:
    from proctor.sandbox.spec import SandboxSpec

_MONITOR_INTERVAL = 0.1


def fmt_bytes(n: int) -> str:
    for unit, k in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= k:
            v = n / k
            return f"{v:.0f} {unit}" if v == int(v) else f"{v:.1f} {unit}"
    return f"{n} B"


class SandboxedProcess:
    """A running sandboxed worker. ``pid`` is the host pid of the top process (bwrap,
    or the command itself when unsafe)."""

    def __init__(self, popen: subprocess.Popen, *, spec: SandboxSpec, unsafe: bool,
                 slot: Slot | None, cgroup: Cgroup | None,
                 cleanup_dirs: list[str]):
        self._popen = popen
        self.pid: int = popen.pid
        self.args: list[str] = list(popen.args)  # the exact command line (bwrap ...)
        self.spec = spec
        self.unsafe = unsafe
        self.uid: int = slot.uid if slot else os.getuid()
        self.cgroup_path: str | None = cgroup.path if cgroup else None
        self._slot = slot
        self._cg = cgroup
        self._cleanup_dirs = cleanup_dirs
        self._started = time.monotonic()
        self._deadline = self._started + spec.limits.wall_s
        self._limit: str | None = None
        self._killed = False
        self._finished = False
        self._finish_lock = threading.Lock()
        self._wake = threading.Event()
        self._stats: dict = {}
        self._peak_sample = 0
        self._returncode: int | None = None
        self._monitor = threading.Thread(target=self._watch, daemon=True,
                                         name=f"proctor-sandbox-{self.pid}")
        self._monitor.start()

    def __repr__(self):
        return (f"<SandboxedProcess pid={self.pid} uid={self.uid} "
                f"returncode={self._returncode} unsafe={self.unsafe}>")

    # --- status -----------------------------------------------------------------------
    @property
    def returncode(self) -> int | None:
        return self._returncode

    def _normalise(self, rc: int) -> int:
        # bwrap reports a signal death inside the sandbox as 128+sig; report it like
        # Popen does (-sig). (A worker can fake this with exit(128+n); limit_hit()
        # relies on kernel counters, not on this.)
        if not self.unsafe and 128 < rc < 128 + 65:
            return -(rc - 128)
        return rc

    def poll(self) -> int | None:
        if self._popen.poll() is None:
            return None
        self._finish()
        return self._returncode

    def wait(self, timeout: float | None = None) -> int:
        self._popen.wait(timeout)  # raises subprocess.TimeoutExpired
        self._finish()
        return self._returncode  # type: ignore[return-value]

    def pin(self, cores: tuple[int, ...] | None = None) -> None:
        """Move the whole tree to ``cores`` (default: ``spec.cpu``; it started on
        ``spec.start_cpus``): the cgroup's cpuset when it has one, and every live thread's
        affinity. Nothing moves a tree that was started unpinned (``spec.cpu`` None)."""
        if self.spec.cpu is None or self._finished:
            return
        cores = tuple(sorted(set(cores))) if cores else (self.spec.cpu,)
        if self._cg is not None:
            try:
                self._cg.set_cpus(cores[0] if len(cores) == 1 else cores)
            except OSError as exc:   # the tree has ended and its cgroup is gone (ENOENT) or
                if exc.errno not in (errno.ENOENT, errno.ENODEV):   # going (ENODEV):
                    raise                                           # nothing to move
            affinity.confine(self._cg.procs, set(cores))
        else:
            affinity.confine(lambda: affinity.tree_tids(self.pid), set(cores))

    def kill(self, wait: bool = True) -> None:
        """Kill the whole tree (idempotent). Returns once nothing of it is left, unless
        ``wait`` is false (then ``wait()``, ``kill()`` or the monitor finishes it)."""
        self._kill(None)
        if wait and threading.current_thread() is not self._monitor:
            try:
                self.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def _kill(self, reason: str | None) -> None:
        if reason and self._limit is None and self._popen.poll() is None:
            self._limit = reason
        self._killed = True
        if self._popen.returncode is None:
            try:
                self._popen.send_signal(signal.SIGKILL)
            except OSError:
                pass
            if self.unsafe:
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except OSError:
                    pass
        if self._cg is not None and not self._finished:
            self._cg.kill()
        self._wake.set()

    # --- accounting -------------------------------------------------------------------
    def peak_memory_bytes(self) -> int | None:
        """Kernel-accounted peak memory of the tree (cgroup: anon + page cache + tmpfs),
        since the start or the last successful ``reset_peak_memory()``."""
        if "peak" in self._stats:
            return self._stats["peak"]
        if self._cg is None or self._finished:
            return None
        p = self._cg.memory_peak()
        return p if p is not None else (self._peak_sample or None)

    def reset_peak_memory(self) -> int | None:
        """Restart peak accounting from the current usage, so that
        ``peak_memory_bytes()`` covers only what runs from now on (say, one call after
        a warm-up). Returns that current usage, the baseline to subtract from the
        peak; None when the peak cannot be reset: no cgroup, the tree has finished,
        or cgroup v2 on Linux < 6.12 (where ``memory.peak`` is read-only)."""
        cg = self._cg
        if cg is None or self._finished or not cg.reset_memory_peak():
            return None
        cur = cg.memory_current() or 0
        self._peak_sample = cur
        return cur

    def cpu_seconds(self) -> float | None:
        """Kernel-accounted CPU time (user+sys) of the whole tree, from the cgroup."""
        if "cpu" in self._stats:
            return self._stats["cpu"]
        if self._cg is None or self._finished:
            return None
        return self._cg.cpu_seconds()

    def limit_hit(self) -> str | None:
        """Which limit stopped (or constrained) the worker, from kernel counters where
        possible: memory (cgroup OOM kill), cpu time, wall time, pids, file size."""
        lim = self.spec.limits
        st = self._stats if self._finished else self._live_stats()
        if st.get("oom_kills"):
            return f"memory limit {fmt_bytes(lim.memory_bytes)} exceeded"
        if self._limit:
            return self._limit
        rc = self._returncode
        cpu = st.get("cpu")
        if rc == -signal.SIGXCPU or (rc == -signal.SIGKILL and cpu is not None
                                     and cpu >= lim.cpu_s):
            return f"cpu time limit {lim.cpu_s} s exceeded"
        if st.get("pids_hits"):
            return f"pids limit {lim.nproc} reached"
        if rc == -signal.SIGXFSZ:
            return f"file size limit {fmt_bytes(lim.fsize_bytes)} exceeded"
        return None

    def _live_stats(self) -> dict:
        cg = self._cg
        if cg is None:
            return {}
        return {"oom_kills": cg.oom_kills(), "pids_hits": cg.pids_limit_hits(),
                "cpu": cg.cpu_seconds()}

    # --- lifecycle --------------------------------------------------------------------
    def _watch(self) -> None:
        lim = self.spec.limits
        cpu_cap = lim.cpu_s + 5
        while not self._finished:
            if self._popen.poll() is not None:
                self._finish()
                return
            if self._popen.returncode is None and not self._killed:
                if time.monotonic() >= self._deadline:
                    self._kill(f"wall time limit {lim.wall_s:g} s exceeded")
                elif self._cg is not None:
                    cpu = self._cg.cpu_seconds()
                    if cpu is not None and cpu > cpu_cap:
                        self._kill(f"cpu time limit {lim.cpu_s} s exceeded "
                                   f"(whole tree: {cpu:.1f} s)")
                    cur = self._cg.memory_current()
                    if cur and cur > self._peak_sample:
                        self._peak_sample = cur
            self._wake.wait(_MONITOR_INTERVAL)
            self._wake.clear()

    def _finish(self) -> None:
        with self._finish_lock:
            if self._finished:
                return
            rc = self._popen.wait()
            # No process of the tree may outlive the top one: the pid namespace dies
            # with bwrap (--die-with-parent); the cgroup and the dedicated uid are
            # belt and braces (and the only mechanism in unsafe mode).
            if self.unsafe:
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except OSError:
                    pass
            emptied = False
            if self._cg is not None:
                # every process of the tree descends from the child that joined the
                # cgroup, so an empty cgroup means an empty tree
                emptied = self._cg.kill_all(timeout=5.0)
            if self._slot is not None and not emptied:
                kill_uid(self._slot.uid, timeout=5.0)
            if self._cg is not None:
                cg = self._cg
                peak = cg.memory_peak()
                self._stats = {
                    "peak": peak if peak is not None else (self._peak_sample or None),
                    "cpu": cg.cpu_seconds(),
                    "oom_kills": cg.oom_kills(),
                    "pids_hits": cg.pids_limit_hits(),
                }
                cg.destroy()
            else:
                self._stats = {"peak": None, "cpu": None}
            if self._slot is not None:
                self._slot.release()
            for d in self._cleanup_dirs:
                shutil.rmtree(d, ignore_errors=True)
            self._returncode = self._normalise(rc)
            self._finished = True
            self._wake.set()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
