"""Per-worker cgroups for the sandbox: cgroup v1 (memory, pids, cpuacct) or v2 (unified).

One ``Cgroup`` per sandboxed worker. The worker's first process joins it (by writing
to ``cgroup.procs`` in the child, before exec), so everything it starts is in it:

* limits: memory (+ swap: memsw in v1, ``memory.swap.max = 0`` in v2) and pids.max;
* accounting: peak memory, CPU time of the whole tree, OOM kills, pids-limit hits;
* cleanup: kill every process in it (``cgroup.kill`` on v2 >= 5.14, else SIGKILL loop),
  then rmdir.

``detect()`` picks what is writable here; ``PROCTOR_CGROUP=v1|v2|none`` forces a mode
and ``PROCTOR_CGROUP_ROOT=/sys/fs/cgroup/<delegated>`` names a v2 parent to use
(e.g. a systemd unit with ``Delegate=yes``).
"""

from __future__ import annotations

import atexit
import errno
import itertools
import os
import signal
import threading
import time
from dataclasses import dataclass, field

_counter = itertools.count()
PREFIX = "proctor."

# cgroups whose rmdir was still EBUSY (a task still exiting): retried later, never leaked
_deferred: list[Cgroup] = []
_deferred_lock = threading.Lock()


def _retry_deferred() -> None:
    with _deferred_lock:
        pending = list(_deferred)
        _deferred.clear()
    for cg in pending:
        if not cg.destroy(timeout=0, defer=False):
            with _deferred_lock:
                _deferred.append(cg)


atexit.register(_retry_deferred)


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _kv(text: str | None, key: str) -> int | None:
    """Value of ``key N`` lines (memory.events, cpu.stat, memory.oom_control...)."""
    if not text:
        return None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == key:
            try:
                return int(parts[1])
            except ValueError:
                return None
    return None


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


@dataclass
class _Mount:
    mountpoint: str
    root: str
    fstype: str
    superopts: set[str]


def _mounts() -> list[_Mount]:
    out = []
    for line in (_read("/proc/self/mountinfo") or "").splitlines():
        pre, _, post = line.partition(" - ")
        a, b = pre.split(), post.split()
        if len(a) < 5 or len(b) < 3 or b[0] not in ("cgroup", "cgroup2"):
            continue
        mp = a[4].replace("\\040", " ")
        out.append(_Mount(mp, a[3], b[0], set(b[2].split(","))))
    return out


def _own_paths() -> dict[str, str]:
    """controller -> own cgroup path; '' is the v2 (unified) path."""
    out = {}
    for line in (_read("/proc/self/cgroup") or "").splitlines():
        _, ctrls, path = line.split(":", 2)
        if ctrls == "":
            out[""] = path
        for c in ctrls.split(","):
            out[c] = path
    return out


def _join(mount: _Mount, path: str) -> str:
    root = mount.root.rstrip("/")
    if root and path.startswith(root):
        path = path[len(root):]
    return os.path.join(mount.mountpoint, path.lstrip("/")).rstrip("/") or "/"


def _probe_writable(base: str) -> bool:
    d = os.path.join(base, f"{PREFIX}probe.{os.getpid()}.{next(_counter)}")
    try:
        os.mkdir(d)
    except OSError:
        return False
    try:
        os.rmdir(d)
    except OSError:
        pass
    return True


def _sweep_stale(base: str) -> None:
    """Remove empty leftovers of grader processes that died without cleaning up."""
    try:
        names = os.listdir(base)
    except OSError:
        return
    for name in names:
        if not name.startswith(PREFIX):
            continue
        parts = name.split(".")
        try:
            owner = int(parts[1])
        except (IndexError, ValueError):
            continue
        if owner == os.getpid() or os.path.exists(f"/proc/{owner}"):
            continue
        d = os.path.join(base, name)
        for pid in _pids_in(d):
            _sigkill(pid)
        try:
            os.rmdir(d)
        except OSError:
            pass


def _pids_in(d: str) -> list[int]:
    """Tasks in a cgroup. v1's ``tasks`` lists every thread (``cgroup.procs`` can miss a
    process whose leader thread exited while others run); SIGKILL to any tid kills the
    whole thread group."""
    text = _read(os.path.join(d, "tasks"))
    if text is None:
        text = _read(os.path.join(d, "cgroup.procs"))
    return [int(x) for x in text.split()] if text else []


def _sigkill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass
class Cgroup:
    version: str
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
        d = self.dirs.get("" if self.version == "v2" else ctrl)
        return os.path.join(d, name) if d else None

    def _r(self, ctrl: str, name: str) -> str | None:
        p = self._f(ctrl, name)
        return _read(p) if p else None

    # --- accounting -----------------------------------------------------------------
    def memory_peak(self) -> int | None:
        if self.version == "v1":
            return _int(self._r("memory", "memory.max_usage_in_bytes"))
        return _int(self._r("memory", "memory.peak"))

    def memory_current(self) -> int | None:
        if self.version == "v1":
            return _int(self._r("memory", "memory.usage_in_bytes"))
        return _int(self._r("memory", "memory.current"))

    def cpu_seconds(self) -> float | None:
        if self.version == "v1":
            ns = _int(self._r("cpuacct", "cpuacct.usage"))
            return None if ns is None else ns / 1e9
        us = _kv(self._r("cpu", "cpu.stat"), "usage_usec")
        return None if us is None else us / 1e6

    def oom_kills(self) -> int:
        if self.version == "v1":
            return _kv(self._r("memory", "memory.oom_control"), "oom_kill") or 0
        return _kv(self._r("memory", "memory.events"), "oom_kill") or 0

    def pids_limit_hits(self) -> int:
        return _kv(self._r("pids", "pids.events"), "max") or 0

    def pids_peak(self) -> int | None:
        return _int(self._r("pids", "pids.peak"))

    # --- lifecycle ------------------------------------------------------------------
    def procs(self) -> list[int]:
        """Every task of the tree (v2: including threads)."""
        if self.version == "v2":
            d = self.dirs[""]
            seen = set(_pids_in(d))
            threads = _read(os.path.join(d, "cgroup.threads"))
            if threads:
                seen.update(int(x) for x in threads.split())
            return sorted(seen)
        seen = set()
        for d in self.dirs.values():
            seen.update(_pids_in(d))
        return sorted(seen)

    def kill(self) -> None:
        """Signal every process in the cgroup once (does not wait)."""
        if self.version == "v2":
            f = self._f("", "cgroup.kill")
            if f and os.path.exists(f):
                try:
                    _write(f, "1")
                    return
                except OSError:
                    pass
        for pid in self.procs():
            _sigkill(pid)

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
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError as e:
                    if e.errno != errno.EBUSY or time.monotonic() > deadline:
                        ok = False
                        break
                    for pid in _pids_in(d):
                        _sigkill(pid)
                    time.sleep(0.01)
        self._destroyed = ok
        if not ok and defer:
            with _deferred_lock:
                _deferred.append(self)
        return ok


class Manager:
    """Creates per-worker cgroups under the parents found by ``detect()``."""

    def __init__(self, version: str, bases: dict[str, str], features: list[str], note: str):
        self.version = version
        self.bases = bases          # controller -> parent dir ("" for v2)
        self.features = features    # e.g. ["memory", "memory+swap", "pids", "cpu-accounting"]
        self.note = note
        for b in set(bases.values()):
            _sweep_stale(b)

    def create(self, memory_bytes: int | None, pids_max: int | None,
               cpu: int | None = None) -> Cgroup:
        """A fresh cgroup with the limits; ``cpu`` confines it to that core (cpuset),
        so the worker cannot widen its own affinity to use more cores."""
        if _deferred:
            _retry_deferred()
        name = f"{PREFIX}{os.getpid()}.{next(_counter)}"
        dirs: dict[str, str] = {}
        cg = Cgroup(self.version, dirs, memory_bytes, pids_max)
        try:
            for ctrl, base in self.bases.items():
                if ctrl == "cpuset" and cpu is None:
                    continue
                d = os.path.join(base, name)
                os.mkdir(d)
                dirs[ctrl] = d
            if self.version == "v1":
                self._limits_v1(cg, memory_bytes, pids_max, cpu)
            else:
                self._limits_v2(cg, memory_bytes, pids_max, cpu)
        except BaseException:
            cg.destroy(timeout=0, defer=False)
            raise
        return cg

    @staticmethod
    def _limits_v1(cg: Cgroup, memory_bytes, pids_max, cpu) -> None:
        if cpu is not None and "cpuset" in cg.dirs:
            d = cg.dirs["cpuset"]
            parent = os.path.dirname(d)
            _write(os.path.join(d, "cpuset.mems"),
                   (_read(os.path.join(parent, "cpuset.mems")) or "0").strip() or "0")
            _write(os.path.join(d, "cpuset.cpus"), str(cpu))
        if memory_bytes and "memory" in cg.dirs:
            d = cg.dirs["memory"]
            _write(os.path.join(d, "memory.limit_in_bytes"), str(memory_bytes))
            sw = os.path.join(d, "memory.memsw.limit_in_bytes")
            if os.path.exists(sw):
                _write(sw, str(memory_bytes))  # memory+swap == memory: no swap
        if pids_max and "pids" in cg.dirs:
            _write(os.path.join(cg.dirs["pids"], "pids.max"), str(pids_max))

    @staticmethod
    def _limits_v2(cg: Cgroup, memory_bytes, pids_max, cpu) -> None:
        d = cg.dirs[""]
        if cpu is not None and os.path.exists(os.path.join(d, "cpuset.cpus")):
            _write(os.path.join(d, "cpuset.cpus"), str(cpu))
        if memory_bytes and os.path.exists(os.path.join(d, "memory.max")):
            _write(os.path.join(d, "memory.max"), str(memory_bytes))
            sw = os.path.join(d, "memory.swap.max")
            if os.path.exists(sw):
                _write(sw, "0")
        if pids_max and os.path.exists(os.path.join(d, "pids.max")):
            _write(os.path.join(d, "pids.max"), str(pids_max))


def _detect_v1(mounts: list[_Mount], own: dict[str, str]) -> Manager | None:
    bases: dict[str, str] = {}
    for ctrl in ("memory", "pids", "cpuacct", "cpuset"):
        m = next((m for m in mounts if m.fstype == "cgroup" and ctrl in m.superopts), None)
        if m is None or ctrl not in own:
            continue
        base = _join(m, own[ctrl])
        if _probe_writable(base):
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
    return Manager("v1", bases, feats, "cgroup v1: " + ", ".join(
        f"{c}={b}" for c, b in bases.items()))


def _enable_v2(base: str, wanted: set[str]) -> set[str]:
    """Make ``wanted`` controllers available to children of ``base``; return what is."""
    have = set((_read(os.path.join(base, "cgroup.controllers")) or "").split())
    wanted &= have
    sub = os.path.join(base, "cgroup.subtree_control")
    enabled = set((_read(sub) or "").split())
    missing = wanted - enabled
    if missing:
        try:
            _write(sub, " ".join("+" + c for c in sorted(missing)))
        except OSError as e:
            if e.errno != errno.EBUSY:
                raise
            # "no internal processes": base holds processes. If it is only us, move
            # ourselves into a leaf and retry (what container inits do).
            procs = _pids_in(base)
            if procs != [os.getpid()]:
                raise
            leaf = os.path.join(base, f"{PREFIX}supervisor")
            os.makedirs(leaf, exist_ok=True)
            _write(os.path.join(leaf, "cgroup.procs"), "0")
            _write(sub, " ".join("+" + c for c in sorted(missing)))
        enabled = set((_read(sub) or "").split())
    return wanted & enabled


def _detect_v2(mounts: list[_Mount], own: dict[str, str],
               forced: bool) -> tuple[Manager | None, str]:
    m = next((m for m in mounts if m.fstype == "cgroup2"), None)
    if m is None and not os.environ.get("PROCTOR_CGROUP_ROOT"):
        return None, "no cgroup2 mount"
    base = os.environ.get("PROCTOR_CGROUP_ROOT") or _join(m, own.get("", "/"))
    if not os.path.isdir(base):
        return None, f"cgroup v2 parent {base} does not exist"
    have = set((_read(os.path.join(base, "cgroup.controllers")) or "").split())
    if not forced and not ({"memory", "pids"} & have):
        return None, f"cgroup v2 at {base} has no memory/pids controller"
    try:
        ctrls = _enable_v2(base, {"memory", "pids", "cpuset"})
    except OSError as e:
        return None, (f"cgroup v2: cannot enable controllers in {base} ({e.strerror}); "
                      "set PROCTOR_CGROUP_ROOT to a delegated cgroup")
    if not _probe_writable(base):
        return None, f"cgroup v2: {base} is not writable"
    feats = sorted(ctrls)
    if "memory" in ctrls:
        feats = ["memory", "memory+swap"] + [f for f in feats if f != "memory"]
    feats.append("cpu-accounting")
    return Manager("v2", {"": base}, feats, f"cgroup v2: {base}"), ""


def detect() -> tuple[Manager | None, str]:
    """The usable cgroup manager here, or (None, why not)."""
    mode = os.environ.get("PROCTOR_CGROUP", "auto").lower()
    if mode == "none":
        return None, "cgroups disabled by PROCTOR_CGROUP=none"
    mounts, own = _mounts(), _own_paths()
    reasons = []
    pure_v2 = any(m.fstype == "cgroup2" and m.mountpoint == "/sys/fs/cgroup" for m in mounts)
    order = {"v1": ["v1"], "v2": ["v2"]}.get(mode, ["v2", "v1"] if pure_v2 else ["v1", "v2"])
    for v in order:
        if v == "v1":
            mgr = _detect_v1(mounts, own)
            if mgr:
                return mgr, ""
            reasons.append("cgroup v1: no writable memory/pids hierarchy")
        else:
            mgr, why = _detect_v2(mounts, own, forced=(mode == "v2"))
            if mgr:
                return mgr, ""
            reasons.append(why)
    return None, "; ".join(reasons)
