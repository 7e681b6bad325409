"""Per-worker cgroups for the sandbox: cgroup v1 (memory, pids, cpuacct) or v2 (unified).

One ``Cgroup`` per sandboxed worker. The worker's first process joins it (by writing
to ``cgroup.procs`` in the child, before exec), so everything it starts is in it:

* limits: memory (+ swap: memsw in v1, ``memory.swap.max = 0`` in v2) and pids.max;
* accounting: peak memory (resettable: v1, and v2 on Linux >= 6.12), CPU time of the
  whole tree, OOM kills, pids-limit hits;
* cleanup: kill every process in it (``cgroup.kill`` on v2 >= 5.14, else SIGKILL loop),
  then rmdir.

``detect()`` picks what is writable here; ``PROCTOR_CGROUP=v1|v2|none`` forces a mode
and ``PROCTOR_CGROUP_ROOT=/sys/fs/cgroup/<delegated>`` names a v2 parent to use
(e.g. a systemd unit with ``Delegate=yes``).
"""

from __future__ import annotations

import os

from proctor.sandbox import cgroup_v1 as _cgroup_v1
from proctor.sandbox import cgroup_v2 as _cgroup_v2
from proctor.sandbox import cgroupfs as fs
from proctor.sandbox.cgroup_base import Cgroup, Manager

__all__ = ["Cgroup", "Manager", "detect"]


def detect(proc_self: str = "/proc/self") -> tuple[Manager | None, str]:
    """The usable cgroup manager here, or (None, why not).

    ``proc_self`` is where ``mountinfo`` and ``cgroup`` are read from: which cgroup
    hierarchies are mounted where, and which cgroup we are in."""
    mode = os.environ.get("PROCTOR_CGROUP", "auto").lower()
    if mode == "none":
        return None, "cgroups disabled by PROCTOR_CGROUP=none"
    mounts, own = fs.mounts(proc_self), fs.own_paths(proc_self)
    reasons = []
    pure_v2 = any(m.fstype == "cgroup2" and m.mountpoint == "/sys/fs/cgroup" for m in mounts)
    order = {"v1": ["v1"], "v2": ["v2"]}.get(mode, ["v2", "v1"] if pure_v2 else ["v1", "v2"])
    for v in order:
        if v == "v1":
            mgr = _cgroup_v1.detect(mounts, own)
            if mgr:
                return mgr, ""
            reasons.append("cgroup v1: no writable memory/pids hierarchy")
        else:
            mgr, why = _cgroup_v2.detect(mounts, own, forced=(mode == "v2"))
            if mgr:
                return mgr, ""
            reasons.append(why)
    return None, "; ".join(reasons)
