"""cgroup v1: one directory per controller hierarchy (memory, pids, cpuacct, cpuset)."""

from __future__ import annotations

import os

from proctor.sandbox import cgroupfs as fs
from proctor.sandbox.cgroup_base import Cgroup, Cpus, Manager, cpu_list

CONTROLLERS = ("memory", "pids", "cpuacct", "cpuset")


class CgroupV1(Cgroup):
    version = "v1"

    def _f(self, ctrl: str, name: str) -> str | None:
        d = self.dirs.get(ctrl)
        return os.path.join(d, name) if d else None

    def apply_limits(self, cpu: Cpus) -> None:
        if cpu is not None and "cpuset" in self.dirs:
            d = self.dirs["cpuset"]
            parent = os.path.dirname(d)
            # a v1 cpuset accepts tasks only once it has memory nodes: inherit them
            fs.write(os.path.join(d, "cpuset.mems"),
                     (fs.read(os.path.join(parent, "cpuset.mems")) or "0").strip() or "0")
            self.set_cpus(cpu)
        if self.memory_bytes and "memory" in self.dirs:
            d = self.dirs["memory"]
            fs.write(os.path.join(d, "memory.limit_in_bytes"), str(self.memory_bytes))
            sw = os.path.join(d, "memory.memsw.limit_in_bytes")
            if os.path.exists(sw):
                fs.write(sw, str(self.memory_bytes))  # memory+swap == memory: no swap
        if self.pids_max and "pids" in self.dirs:
            fs.write(os.path.join(self.dirs["pids"], "pids.max"), str(self.pids_max))

    def set_cpus(self, cpu: Cpus) -> bool:
        if cpu is None or "cpuset" not in self.dirs:
            return False
        fs.write(os.path.join(self.dirs["cpuset"], "cpuset.cpus"), cpu_list(cpu))
        return True

    def memory_peak(self) -> int | None:
        return fs.to_int(self._r("memory", "memory.max_usage_in_bytes"))

    def memory_current(self) -> int | None:
        return fs.to_int(self._r("memory", "memory.usage_in_bytes"))

    def reset_memory_peak(self) -> bool:
        """Writing 0 to ``memory.max_usage_in_bytes`` sets it to the current usage."""
        f = self._f("memory", "memory.max_usage_in_bytes")
        if not f or not os.path.exists(f):
            return False
        try:
            fs.write(f, "0")
        except OSError:
            return False
        return True

    def cpu_seconds(self) -> float | None:
        ns = fs.to_int(self._r("cpuacct", "cpuacct.usage"))
        return None if ns is None else ns / 1e9

    def oom_kills(self) -> int:
        return fs.kv(self._r("memory", "memory.oom_control"), "oom_kill") or 0


def detect(mounts: list[fs.Mount], own: dict[str, str]) -> Manager | None:
    """A manager over the hierarchies we may create cgroups in, or None if neither the
    memory nor the pids one is writable."""
    bases: dict[str, str] = {}
    for ctrl in CONTROLLERS:
        m = next((m for m in mounts if m.fstype == "cgroup" and ctrl in m.superopts), None)
        if m is None or ctrl not in own:
            continue
        base = fs.join(m, own[ctrl])
        if fs.probe_writable(base):
            bases[ctrl] = base
    if "memory" not in bases and "pids" not in bases:
        return None
    feats = []
    if "memory" in bases:
        feats.append("memory")
        if os.path.exists(os.path.join(bases["memory"], "memory.memsw.limit_in_bytes")):
            feats.append("memory+swap")
    if "pids" in bases:
        feats.append("pids")
    if "cpuacct" in bases:
        feats.append("cpu-accounting")
    if "cpuset" in bases:
        feats.append("cpuset")
    return Manager(CgroupV1, bases, feats, "cgroup v1: " + ", ".join(
        f"{c}={b}" for c, b in bases.items()))
