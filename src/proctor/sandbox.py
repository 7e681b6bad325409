"""Launch untrusted worker commands inside a real sandbox.

Layers (see docs/security.md for the threat model):

* **bubblewrap** namespaces: user, mount, pid, ipc, uts, net (only ``lo``), cgroup;
  a fresh tmpfs root holding only the read-only ``ro_binds``, ``/proc`` of the new pid
  namespace, a minimal ``/dev``, size-limited tmpfs ``/scratch``, ``/tmp`` and
  ``/dev/shm``, a synthetic ``/etc/passwd``; ``/`` and ``/dev`` remounted read-only;
  ``--die-with-parent`` + pid namespace: the whole tree dies with the top process.
* **unprivileged uid**: when we are root, the child drops to a dedicated per-slot uid
  (``PROCTOR_SANDBOX_UID_BASE`` + slot, default 64000+) with no supplementary groups
  *before* exec'ing bwrap, so bwrap runs unprivileged and the worker ends up with
  no capabilities and no_new_privs. Bind sources that the unprivileged uid cannot
  reach (e.g. a pyenv under ``/root``, mode 0700) are first bind-mounted, as root,
  into a private staging tmpfs in a child-only mount namespace.
* **limits**: rlimits (CPU, DATA, NOFILE, FSIZE, CORE=0, NPROC per slot uid) set in
  the child; a per-worker cgroup (v1 or v2) for memory(+swap) and pids, peak memory,
  tree CPU time and OOM detection; a wall-clock backstop and a tree-CPU backstop
  enforced by a monitor thread.
* **seccomp** deny-list (``proctor._seccomp``), passed via ``bwrap --seccomp``.

Public API: ``Limits``, ``SandboxSpec``, ``SandboxedProcess``, ``isolation()``,
``spawn()``; helpers ``system_binds()``, ``runtime_binds()``.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import errno
import fcntl
import os
import queue
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import _cgroup, _seccomp

__all__ = [
    "Limits",
    "SandboxSpec",
    "SandboxedProcess",
    "SandboxUnavailable",
    "isolation",
    "spawn",
    "system_binds",
    "runtime_binds",
]

UID_BASE = int(os.environ.get("PROCTOR_SANDBOX_UID_BASE", "64000"))
MAX_SLOTS = int(os.environ.get("PROCTOR_SANDBOX_SLOTS", "512"))
STATE_DIR = os.environ.get("PROCTOR_STATE_DIR", "/run/proctor")
RESERVED_DESTS = ("/proc", "/dev", "/scratch", "/tmp", "/etc/passwd", "/etc/group")
_MONITOR_INTERVAL = 0.1


class SandboxUnavailable(RuntimeError):
    """Isolation was requested but cannot be provided here (see ``isolation()``)."""


@dataclass(frozen=True)
class Limits:
    wall_s: float = 60.0            # hard backstop: the whole tree is killed after this
    cpu_s: int = 120                # RLIMIT_CPU soft (per process); hard = soft + 5;
    #                                 the tree's total (cgroup) is capped at soft + 5 too
    memory_bytes: int = 2 << 30     # cgroup memory (+swap) limit; RLIMIT_DATA as well
    nproc: int = 64                 # cgroup pids.max; RLIMIT_NPROC of the slot uid
    nofile: int = 256
    fsize_bytes: int = 64 << 20
    scratch_bytes: int = 256 << 20  # size of each tmpfs: /scratch, /tmp, /dev/shm

    def __post_init__(self):
        for name in ("wall_s", "cpu_s", "memory_bytes", "nproc", "nofile",
                     "fsize_bytes", "scratch_bytes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"Limits.{name} must be positive")


@dataclass(frozen=True)
class SandboxSpec:
    ro_binds: list[tuple[str, str]]   # (host_path, sandbox_path), read-only
    env: dict[str, str]               # the COMPLETE environment inside
    limits: Limits = field(default_factory=Limits)
    cpu: int | None = None            # pin to this core if given
    cwd: str = "/scratch"             # the writable, size-limited tmpfs scratch


# --------------------------------------------------------------------------------------
# small utilities

_libc = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNS = 0x00020000
_MS_BIND = 0x1000
_MS_REC = 0x4000
_MS_PRIVATE = 1 << 18
_PR_SET_PDEATHSIG = 1
_PR_SET_NO_NEW_PRIVS = 38


def _fmt_bytes(n: int) -> str:
    for unit, k in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= k:
            v = n / k
            return f"{v:.0f} {unit}" if v == int(v) else f"{v:.1f} {unit}"
    return f"{n} B"


def _pids_of_uid(uid: int) -> list[int]:
    """Live (non-zombie) host pids whose real or effective uid is ``uid``."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status", "rb") as f:
                data = f.read()
        except OSError:
            continue
        i = data.find(b"\nUid:")
        s = data.find(b"\nState:")
        if i < 0 or (s >= 0 and data[s + 7:s + 12].split()[:1] in ([b"Z"], [b"X"])):
            continue  # zombies run no code; whoever reaps orphans (init) frees them
        fields = data[i + 5:data.find(b"\n", i + 1)].split()
        if fields and (int(fields[0]) == uid or int(fields[1]) == uid):
            out.append(int(name))
    return out


def _kill_uid(uid: int, timeout: float = 5.0) -> bool:
    """SIGKILL every process of a *dedicated sandbox* uid until none is left."""
    if uid < UID_BASE or uid == os.getuid() or uid == 0:
        raise ValueError(f"refusing to kill all processes of uid {uid}")
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        pids = _pids_of_uid(uid)
        if not pids:
            return True
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if time.monotonic() > deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _bwrap_version(path: str) -> tuple[int, ...]:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", out)
    return tuple(int(x) for x in m.groups() if x is not None) if m else ()


def _rlimits(limits: Limits, *, nproc: bool, nproc_slack: int = 0) -> list[tuple[int, int, int]]:
    """(resource, soft, hard), clamped to the current hard limits (we cannot raise)."""
    want = [
        (resource.RLIMIT_CPU, limits.cpu_s, limits.cpu_s + 5),
        (resource.RLIMIT_DATA, limits.memory_bytes, limits.memory_bytes),
        (resource.RLIMIT_NOFILE, limits.nofile, limits.nofile),
        (resource.RLIMIT_FSIZE, limits.fsize_bytes, limits.fsize_bytes),
        (resource.RLIMIT_CORE, 0, 0),
    ]
    if nproc:
        n = limits.nproc + nproc_slack
        want.append((resource.RLIMIT_NPROC, n, n))
    out = []
    for res, soft, hard in want:
        _, cur_hard = resource.getrlimit(res)
        if cur_hard != resource.RLIM_INFINITY:
            hard = min(hard, cur_hard)
        out.append((res, min(soft, hard), hard))
    return out


# --------------------------------------------------------------------------------------
# uid slots: one dedicated uid per concurrently running sandbox (flock'ed, so also
# safe across grader processes)

class _Slot:
    def __init__(self, n: int, fd: int):
        self.n, self.fd, self.uid = n, fd, UID_BASE + n

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # drops the flock
            self.fd = -1


_slot_rotor = iter(range(1 << 62))


def _acquire_slot() -> _Slot:
    """Lock a free slot. Slots rotate (rather than lowest-free) so that the zombie of
    a finished sandbox's pid-1, which the host's init reaps at its own pace and which
    still counts towards that uid's RLIMIT_NPROC, is long gone when the uid is reused."""
    d = os.path.join(STATE_DIR, "slots")
    os.makedirs(d, mode=0o700, exist_ok=True)
    start = next(_slot_rotor)
    for i in range(MAX_SLOTS):
        n = (start + i) % MAX_SLOTS
        fd = os.open(os.path.join(d, f"{n}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        slot = _Slot(n, fd)
        # leftovers of a grader that crashed while holding this slot
        _kill_uid(slot.uid, timeout=2.0)
        return slot
    raise RuntimeError(f"all {MAX_SLOTS} sandbox uid slots are busy")


# --------------------------------------------------------------------------------------
# All sandboxes are forked from one long-lived thread: PR_SET_PDEATHSIG (bwrap's
# --die-with-parent) fires when the *thread* that forked the child exits, so spawning
# from a short-lived worker thread would kill the sandbox with that thread.

class _Spawner:
    def __init__(self):
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self._t = threading.Thread(target=self._run, name="proctor-sandbox-spawner",
                                   daemon=True)
        self._t.start()

    def _run(self):
        while True:
            fn, fut = self._q.get()
            if fut.set_running_or_notify_cancel():
                try:
                    fut.set_result(fn())
                except BaseException as e:  # noqa: BLE001 - re-raised in the caller
                    fut.set_exception(e)

    def call(self, fn):
        if threading.current_thread() is self._t:
            return fn()
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._q.put((fn, fut))
        return fut.result()


_spawner: _Spawner | None = None
_spawner_lock = threading.Lock()


def _spawn_in_thread(fn):
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = _Spawner()
    return _spawner.call(fn)


# --------------------------------------------------------------------------------------
# environment detection

_iso: dict | None = None
_cg_mgr: _cgroup.Manager | None = None
_iso_lock = threading.Lock()


def system_binds() -> list[tuple[str, str]]:
    """Read-only binds for the OS runtime: /usr, plus /bin, /lib* when they are real
    directories (non merged-/usr systems), plus /etc/ld.so.cache. On merged-/usr
    systems /bin, /lib, /lib64... are recreated as symlinks automatically."""
    out = [("/usr", "/usr")]
    for name in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.isdir(name) and not os.path.islink(name):
            out.append((name, name))
    if os.path.isfile("/etc/ld.so.cache"):
        out.append(("/etc/ld.so.cache", "/etc/ld.so.cache"))
    return out


def _venv_base(python: str) -> tuple[str | None, str | None]:
    """(venv dir or None, base runtime prefix) of a python executable path."""
    p = Path(os.path.abspath(python))
    venv = p.parent.parent
    cfg = venv / "pyvenv.cfg"
    if cfg.is_file():
        home = None
        for line in cfg.read_text().splitlines():
            k, _, v = line.partition("=")
            if k.strip() == "home":
                home = v.strip()
        base = str(Path(home).parent) if home else str(Path(os.path.realpath(p)).parent.parent)
        return str(venv), base
    return None, str(Path(os.path.realpath(p)).parent.parent)


def runtime_binds(python: str | None = None, *, engine: bool = True) -> list[tuple[str, str]]:
    """Everything needed to run ``python`` (default: this interpreter) inside:
    ``system_binds()``, the venv, the base runtime it points to (e.g. a pyenv under
    /root), each at an identical path so ``pyvenv.cfg``'s ``home`` resolves, and (if
    ``engine``) the directory the ``proctor`` package is imported from when it lives
    outside the venv (an editable install's ``src/``)."""
    binds = system_binds()
    venv, base = _venv_base(python or sys.executable)
    paths = []
    if venv:
        paths.append(venv)
    if base:
        paths.append(base)
        real = os.path.realpath(base)
        if real != base:
            paths.append(real)
    if engine:
        src = str(Path(__file__).resolve().parent.parent)
        paths.append(src)
    have = [d for _, d in binds]
    for p in paths:
        if p in ("/", "") or not os.path.exists(p):
            continue
        if any(p == h or p.startswith(h.rstrip("/") + "/") for h in have):
            continue  # already visible through a parent bind
        binds.append((p, p))
        have.append(p)
    return binds


def isolation(refresh: bool = False) -> dict:
    """What isolation is available here and what ``spawn()`` will use.

    Keys: available, reason, bwrap, bwrap_version, cgroup ("v1"/"v2"/None), cgroup_note,
    limits (list of enforced limit mechanisms), seccomp, uid (first sandbox uid, or
    the current uid when not root), root, userns.
    """
    global _iso, _cg_mgr
    with _iso_lock:
        if _iso is not None and not refresh:
            return _public(_iso)
        info: dict = {"available": False, "reason": "", "bwrap": None, "bwrap_version": None,
                      "cgroup": None, "cgroup_note": "", "limits": [], "seccomp": False,
                      "uid": UID_BASE if os.geteuid() == 0 else os.getuid(),
                      "root": os.geteuid() == 0, "userns": False}
        bwrap = os.environ.get("PROCTOR_BWRAP") or shutil.which("bwrap") or (
            "/usr/bin/bwrap" if os.access("/usr/bin/bwrap", os.X_OK) else None)
        info["bwrap"] = bwrap
        ver = _bwrap_version(bwrap) if bwrap else ()
        info["bwrap_version"] = ".".join(map(str, ver)) or None
        info["_ver"] = ver
        try:
            mgr, why = _cgroup.detect() if os.geteuid() == 0 or os.environ.get(
                "PROCTOR_CGROUP_ROOT") else (None, "not root and PROCTOR_CGROUP_ROOT unset")
        except OSError as e:
            mgr, why = None, f"cgroup detection failed: {e}"
        _cg_mgr = mgr
        info["cgroup"] = mgr.version if mgr else None
        info["cgroup_note"] = mgr.note if mgr else why
        lim = ["rlimit:cpu", "rlimit:data", "rlimit:nofile", "rlimit:fsize", "rlimit:core"]
        if os.geteuid() == 0:
            lim.append("rlimit:nproc")
        if mgr:
            lim += ["cgroup:" + f for f in mgr.features]
        lim.append("wall-backstop")
        if mgr and "cpu-accounting" in mgr.features:
            lim.append("tree-cpu-backstop")
        info["seccomp"] = _seccomp.build_filter() is not None
        if not bwrap or not os.access(bwrap, os.X_OK):
            info["reason"] = f"bubblewrap (bwrap) not found{' at ' + bwrap if bwrap else ''}: " \
                "apt-get install bubblewrap"
        elif ver and ver < (0, 5):
            info["reason"] = f"bwrap {info['bwrap_version']} is too old (need >= 0.5)"
        else:
            if ver >= (0, 7):
                lim.append("tmpfs-size")
            info["limits"] = lim
            _iso = info
            ok, why = _probe()
            info["available"], info["userns"] = ok, ok
            info["reason"] = ("ok" if ok else why)
            if not ok:
                info["limits"] = []
        if not info["available"]:
            # what unsafe mode would still enforce
            info["limits"] = [x for x in lim if x not in ("tmpfs-size", "rlimit:nproc")]
            info["seccomp"] = False
        _iso = info
        return _public(info)


def _public(info: dict) -> dict:
    return {k: v for k, v in info.items() if not k.startswith("_")}


def _probe() -> tuple[bool, str]:
    """Run a trivial command through the full sandbox path."""
    true = shutil.which("true", path="/usr/bin:/bin")
    if not true:
        return False, "no `true` binary for the probe"
    spec = SandboxSpec(ro_binds=system_binds(), env={},
                       limits=Limits(wall_s=20, memory_bytes=256 << 20, nproc=16))
    r, w = os.pipe()
    try:
        p = _spawn([true], spec, pass_fds=(), stdout=w, stderr=w,
                   unsafe=False, probing=True)
        os.close(w)
        w = -1
        with os.fdopen(r, "rb") as f:
            r = -1
            out = f.read(4000).decode(errors="replace").strip()
        rc = p.wait(timeout=20)
    except Exception as e:  # noqa: BLE001 - reported as the reason
        return False, f"sandbox probe failed: {e}"
    finally:
        for fd in (r, w):
            if fd >= 0:
                os.close(fd)
    if rc != 0:
        return False, f"sandbox probe exited {rc}: {out or '(no output)'}"
    return True, ""


# --------------------------------------------------------------------------------------
# the process handle

class SandboxedProcess:
    """A running sandboxed worker. ``pid`` is the host pid of the top process (bwrap,
    or the command itself when unsafe)."""

    def __init__(self, popen: subprocess.Popen, *, spec: SandboxSpec, unsafe: bool,
                 slot: _Slot | None, cgroup: _cgroup.Cgroup | None,
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

    def kill(self) -> None:
        """Kill the whole tree (idempotent). Returns once nothing of it is left."""
        self._kill(None)
        if threading.current_thread() is not self._monitor:
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
        """Kernel-accounted peak memory of the tree (cgroup: anon + page cache + tmpfs)."""
        if "peak" in self._stats:
            return self._stats["peak"]
        if self._cg is None or self._finished:
            return None
        p = self._cg.memory_peak()
        return p if p is not None else (self._peak_sample or None)

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
            return f"memory limit {_fmt_bytes(lim.memory_bytes)} exceeded"
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
            return f"file size limit {_fmt_bytes(lim.fsize_bytes)} exceeded"
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
                _kill_uid(self._slot.uid, timeout=5.0)
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


# --------------------------------------------------------------------------------------
# spawning

def _check_spec(spec: SandboxSpec) -> list[tuple[str, str]]:
    binds = []
    for host, dest in spec.ro_binds:
        host, dest = os.fspath(host), os.fspath(dest)
        if not os.path.isabs(host) or not os.path.isabs(dest):
            raise ValueError(f"bind paths must be absolute: {host!r} -> {dest!r}")
        dest = os.path.normpath(dest)
        if os.path.normpath(host) == "/" or dest == "/":
            raise ValueError("binding the host root (or onto /) is not allowed")
        # Under /tmp is allowed (a checkout or venv may live there): the bind is mounted
        # after the /tmp tmpfs, on a mountpoint created inside it.
        if dest == "/tmp" or any(dest == r or dest.startswith(r + "/")
                                 for r in RESERVED_DESTS if r != "/tmp"):
            raise ValueError(f"{dest} is managed by the sandbox and cannot be bound over")
        if not os.path.exists(host):
            raise FileNotFoundError(f"bind source does not exist: {host}")
        binds.append((host, dest))
    # parents before children
    binds.sort(key=lambda b: b[1].count("/"))
    return binds


def _bwrap_args(bwrap: str, ver: tuple, argv: list[str], spec: SandboxSpec,
                binds: list[tuple[str, str]], sources: list[str], *,
                seccomp_fd: int | None, passwd_fd: int, group_fd: int) -> list[str]:
    lim = spec.limits
    size = ["--size", str(lim.scratch_bytes)] if ver >= (0, 7) else []
    a = [bwrap, "--unshare-all", "--unshare-user"]
    if ver >= (0, 8):
        a.append("--disable-userns")
    a += ["--die-with-parent", "--new-session", "--cap-drop", "ALL",
          "--hostname", "sandbox",
          "--proc", "/proc", "--dev", "/dev",
          *size, "--tmpfs", "/dev/shm",
          *size, "--tmpfs", "/scratch",
          *size, "--tmpfs", "/tmp"]
    dests = [d for _, d in binds]
    made: set[str] = {"/tmp"}  # the tmpfs above; binds may be mounted inside it
    for (_host, dest), src in zip(binds, sources, strict=True):
        parent = os.path.dirname(dest)
        chain = []
        while parent not in ("/", "") and parent not in made:
            if any(parent == d or parent.startswith(d + "/") for d in dests):
                break  # inside another bind: must already exist there
            chain.append(parent)
            parent = os.path.dirname(parent)
        for p in reversed(chain):
            a += ["--perms", "0755", "--dir", p]
            made.add(p)
        a += ["--ro-bind", src, dest]
    # merged-/usr: /lib -> usr/lib etc., when the target is visible
    for name in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if name in dests or not os.path.islink(name):
            continue
        real = os.path.realpath(name)
        if any(real == h or real.startswith(h.rstrip("/") + "/")
               for h, d in binds if h == d):
            a += ["--symlink", os.readlink(name), name]
    a += ["--perms", "0644", "--ro-bind-data", str(passwd_fd), "/etc/passwd",
          "--perms", "0644", "--ro-bind-data", str(group_fd), "/etc/group",
          "--remount-ro", "/dev", "--remount-ro", "/",
          "--chdir", spec.cwd, "--clearenv"]
    for k, v in spec.env.items():
        if "=" in k or not k:
            raise ValueError(f"bad environment variable name {k!r}")
        a += ["--setenv", k, v]
    if seccomp_fd is not None:
        a += ["--seccomp", str(seccomp_fd)]
    a += ["--", *argv]
    return a


def _data_fd(data: bytes) -> int:
    r, w = os.pipe()
    try:
        os.write(w, data)  # small: fits in the pipe buffer
    finally:
        os.close(w)
    return r


def _make_preexec(*, cg_files: list[bytes], stage: bytes | None,
                  stage_items: list[tuple[bytes, bytes, bool]], cpu: int | None,
                  rlimits: list[tuple[int, int, int]], uid: int | None, unsafe: bool,
                  err_w: int):
    """The child-side setup, run between fork and exec (as root when we are root).

    Only async-signal-safe-ish work: no imports, no locks, no allocations of note."""
    libc = _libc

    def chk(ret: int, what: str):
        if ret != 0:
            e = ctypes.get_errno()
            raise OSError(e, f"{what}: {os.strerror(e)}")

    def child():
        try:
            for f in cg_files:  # join the worker's cgroup before anything else
                fd = os.open(f, os.O_WRONLY)
                try:
                    os.write(fd, b"0")
                finally:
                    os.close(fd)
            if stage is not None:
                chk(libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
                chk(libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None),
                    "make / private")
                chk(libc.mount(b"tmpfs", stage, b"tmpfs", 0, b"mode=0755,size=64k"),
                    "mount staging tmpfs")
                for src, dst, is_dir in stage_items:
                    if is_dir:
                        os.mkdir(dst, 0o755)
                    else:
                        os.close(os.open(dst, os.O_WRONLY | os.O_CREAT, 0o644))
                    chk(libc.mount(src, dst, None, _MS_BIND | _MS_REC, None),
                        "bind " + src.decode(errors="replace"))
            if cpu is not None:
                os.sched_setaffinity(0, (cpu,))
            # if the host runs out of memory, the worker goes first, not the grader
            fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
            try:
                os.write(fd, b"1000")
            finally:
                os.close(fd)
            for res, soft, hard in rlimits:
                resource.setrlimit(res, (soft, hard))
            if unsafe:
                libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
                chk(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
            if uid is not None:
                os.setgroups([])
                os.setresgid(uid, uid, uid)
                os.setresuid(uid, uid, uid)
        except BaseException as e:
            try:
                os.write(err_w, f"{type(e).__name__}: {e}".encode()[:4000])
            except OSError:
                pass
            raise

    return child


def spawn(argv: list[str], spec: SandboxSpec, *, pass_fds: tuple[int, ...] = (),
          stdout: int | None = None, stderr: int | None = None,
          unsafe: bool = False) -> SandboxedProcess:
    """Start ``argv`` in a sandbox built from ``spec``.

    ``argv[0]`` must be an absolute path that exists inside the sandbox (i.e. under a
    ``ro_binds`` destination). ``pass_fds`` are inherited by the worker (same numbers);
    stdin is /dev/null; ``stdout``/``stderr`` are fds (pass a file, not a pipe nobody
    reads, to make output floods harmless: RLIMIT_FSIZE caps a file at fsize_bytes).

    ``unsafe=True`` runs the command without bwrap (rlimits, own session, cleared env,
    cgroup if available) — only for ``--unsafe-no-sandbox``.
    Raises ``SandboxUnavailable`` if isolation is requested but unavailable.
    """
    if not unsafe:
        info = isolation()
        if not info["available"]:
            raise SandboxUnavailable(info["reason"])
    return _spawn(argv, spec, pass_fds=pass_fds, stdout=stdout, stderr=stderr,
                  unsafe=unsafe, probing=False)


def _spawn(argv, spec, *, pass_fds, stdout, stderr, unsafe, probing) -> SandboxedProcess:
    if not argv or not os.path.isabs(argv[0]):
        raise ValueError("argv[0] must be an absolute path")
    info = _iso if _iso is not None else isolation()
    root = os.geteuid() == 0
    binds = _check_spec(spec)
    cwd_ok = spec.cwd in ("/scratch", "/tmp") or spec.cwd.startswith(("/scratch/", "/tmp/")) \
        or any(spec.cwd == d or spec.cwd.startswith(d + "/") for _, d in binds)
    if not unsafe and not cwd_ok:
        raise ValueError(f"cwd {spec.cwd} is not inside the sandbox")
    lim = spec.limits

    slot = cg = None
    fds_to_close: list[int] = []
    cleanup_dirs: list[str] = []
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    fds_to_close += [err_r, err_w]
    try:
        drop = root and not unsafe
        if drop:
            slot = _acquire_slot()
        if _cg_mgr is not None:
            cg = _cg_mgr.create(lim.memory_bytes, lim.nproc, spec.cpu)
        uid = slot.uid if slot else None
        # with a pids cgroup, RLIMIT_NPROC is only a backstop: a little slack lets the
        # cgroup (which records the hit in pids.events) trip first
        rl = _rlimits(lim, nproc=drop, nproc_slack=8 if cg is not None and cg.has_pids else 0)

        if unsafe:
            cwd = spec.cwd
            env = dict(spec.env)
            if not os.path.isdir(cwd):
                # no /scratch on the host: a temporary directory stands in for it (as
                # the cwd and in env values such as HOME=/scratch, TMPDIR=/scratch)
                tmp = tempfile.mkdtemp(prefix="proctor-scratch-")
                cleanup_dirs.append(tmp)
                cwd = tmp + spec.cwd[len("/scratch"):] if spec.cwd.startswith(
                    "/scratch") else tmp
                os.makedirs(cwd, exist_ok=True)
                env = {k: (tmp + v[len("/scratch"):]
                           if v == "/scratch" or v.startswith("/scratch/") else v)
                       for k, v in env.items()}
            args = list(argv)
            extra_fds: list[int] = []
            stage = None
            stage_items: list = []
        else:
            ver = info.get("_ver", ())
            stage = None
            stage_items = []
            if root:
                # bind sources are staged, as root, in a private mount namespace so the
                # unprivileged bwrap can reach them whatever their parents' modes are
                sd = os.path.join(STATE_DIR, "stage")
                os.makedirs(sd, mode=0o755, exist_ok=True)
                os.chmod(STATE_DIR, 0o755)
                stage = os.fsencode(sd)
                sources = []
                for i, (host, _) in enumerate(binds):
                    s = os.path.join(sd, str(i))
                    stage_items.append((os.fsencode(host), os.fsencode(s),
                                        os.path.isdir(host)))
                    sources.append(s)
            else:
                sources = [h for h, _ in binds]
            pw_uid = uid if uid is not None else os.getuid()
            passwd_fd = _data_fd(
                f"root:x:0:0:root:/root:/usr/sbin/nologin\n"
                f"sandbox:x:{pw_uid}:{pw_uid}:sandbox:/scratch:/usr/sbin/nologin\n"
                f"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n".encode())
            group_fd = _data_fd(f"root:x:0:\nsandbox:x:{pw_uid}:\n"
                                f"nogroup:x:65534:\n".encode())
            extra_fds = [passwd_fd, group_fd]
            bpf = _seccomp.build_filter() if info.get("seccomp") or probing else None
            seccomp_fd = _data_fd(bpf) if bpf else None
            if seccomp_fd is not None:
                extra_fds.append(seccomp_fd)
            fds_to_close += extra_fds
            args = _bwrap_args(info["bwrap"], ver, list(argv), spec, binds, sources,
                               seccomp_fd=seccomp_fd, passwd_fd=passwd_fd,
                               group_fd=group_fd)
            env = {}
            cwd = "/"

        preexec = _make_preexec(
            cg_files=cg.procs_files() if cg else [], stage=stage, stage_items=stage_items,
            cpu=spec.cpu, rlimits=rl, uid=uid, unsafe=unsafe, err_w=err_w)

        def launch():
            return subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                pass_fds=tuple(pass_fds) + tuple(extra_fds), close_fds=True,
                env=env, cwd=cwd, start_new_session=True, preexec_fn=preexec)

        try:
            popen = _spawn_in_thread(launch)
        except subprocess.SubprocessError as e:
            os.close(err_w)
            fds_to_close.remove(err_w)
            detail = os.read(err_r, 4000).decode(errors="replace")
            raise OSError(errno.EPERM if "Permission" in detail else errno.EIO,
                          f"sandbox setup failed in the child: {detail or e}") from e
    except BaseException:
        if cg is not None:
            cg.kill_all(timeout=1.0)
            cg.destroy(timeout=1.0)
        if slot is not None:
            slot.release()
        for d in cleanup_dirs:
            shutil.rmtree(d, ignore_errors=True)
        raise
    finally:
        for fd in fds_to_close:
            try:
                os.close(fd)
            except OSError:
                pass
    return SandboxedProcess(popen, spec=spec, unsafe=unsafe, slot=slot, cgroup=cg,
                            cleanup_dirs=cleanup_dirs)
