"""The clock of latency checks: the CPU time the kernel charged to a worker's process tree.

Read by the grader, never by the worker: nothing running beside candidate code can
forge it, and it counts every thread and child on every core, before or after the
reply, while time spent waiting for a busy core is not in it (docs/measurement.md,
"The clock").
"""

from __future__ import annotations

import os

from proctor.procfs import process_tree, read
from proctor.worker.client import WorkerClient, WorkerError

_HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


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
        if pid is not None and read(f"/proc/{pid}/stat") is not None:
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
            stat = read(f"/proc/{pid}/stat")
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
                s = read(f"/proc/{pid}/task/{tid}/schedstat")
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
