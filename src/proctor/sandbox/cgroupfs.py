"""File-level access to cgroupfs, shared by the v1 and v2 code and by detection.

cgroupfs is not a plain filesystem: a new directory comes with the interface files of
its controllers, a directory is removed with them (unless tasks remain: EBUSY), and a
write is a command (``+memory`` to ``cgroup.subtree_control``, a pid to
``cgroup.procs``). So every mkdir, rmdir and write goes through ``make_dir``,
``remove_dir`` and ``write`` here, called through this module (``fs.write(...)``, never
an imported name): tests replace these three with a fake kernel over a tree in a
temporary directory (tests/test_cgroup.py).
"""

from __future__ import annotations

import itertools
import os
import signal
from dataclasses import dataclass

from proctor.procfs import read as read  # re-exported: fs.read(...) like fs.write

PREFIX = "proctor."
counter = itertools.count()


def make_dir(path: str) -> None:
    os.mkdir(path)


def remove_dir(path: str) -> None:
    os.rmdir(path)


def write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def kv(text: str | None, key: str) -> int | None:
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


def to_int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


def pids_in(d: str) -> list[int]:
    """Tasks in a cgroup. v1's ``tasks`` lists every thread (``cgroup.procs`` can miss a
    process whose leader thread exited while others run); SIGKILL to any tid kills the
    whole thread group."""
    text = read(os.path.join(d, "tasks"))
    if text is None:
        text = read(os.path.join(d, "cgroup.procs"))
    return [int(x) for x in text.split()] if text else []


def sigkill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def probe_writable(base: str) -> bool:
    """Whether we may create cgroups under ``base`` (by creating and removing one)."""
    d = os.path.join(base, f"{PREFIX}probe.{os.getpid()}.{next(counter)}")
    try:
        make_dir(d)
    except OSError:
        return False
    try:
        remove_dir(d)
    except OSError:
        pass
    return True


def sweep_stale(base: str) -> None:
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
        for pid in pids_in(d):
            sigkill(pid)
        try:
            remove_dir(d)
        except OSError:
            pass


# --- where the hierarchies are -----------------------------------------------------

@dataclass
class Mount:
    mountpoint: str
    root: str
    fstype: str
    superopts: set[str]


def mounts(proc_self: str = "/proc/self") -> list[Mount]:
    """The cgroup and cgroup2 mounts in ``<proc_self>/mountinfo``."""
    out = []
    for line in (read(os.path.join(proc_self, "mountinfo")) or "").splitlines():
        pre, _, post = line.partition(" - ")
        a, b = pre.split(), post.split()
        if len(a) < 5 or len(b) < 3 or b[0] not in ("cgroup", "cgroup2"):
            continue
        mp = a[4].replace("\\040", " ")
        out.append(Mount(mp, a[3], b[0], set(b[2].split(","))))
    return out


def own_paths(proc_self: str = "/proc/self") -> dict[str, str]:
    """controller -> own cgroup path (from ``<proc_self>/cgroup``); '' is the v2 path."""
    out = {}
    for line in (read(os.path.join(proc_self, "cgroup")) or "").splitlines():
        _, ctrls, path = line.split(":", 2)
        if ctrls == "":
            out[""] = path
        for c in ctrls.split(","):
            out[c] = path
    return out


def join(mount: Mount, path: str) -> str:
    """The directory of cgroup ``path`` under ``mount`` (which may show only a subtree)."""
    root = mount.root.rstrip("/")
    if root and path.startswith(root):
        path = path[len(root):]
    return os.path.join(mount.mountpoint, path.lstrip("/")).rstrip("/") or "/"
