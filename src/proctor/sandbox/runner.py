"""Launch untrusted worker commands inside bubblewrap (the ``bwrap`` backend's engine).

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
* **seccomp** deny-list (``proctor.sandbox.seccomp``), passed via ``bwrap --seccomp``.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from pathlib import Path

from proctor.paths import import_root
from proctor.sandbox import bwrap as _bwrap
from proctor.sandbox import cgroup as _cgroup
from proctor.sandbox import launch as _launch
from proctor.sandbox import seccomp as _seccomp
from proctor.sandbox.bwrap import RESERVED_DESTS as RESERVED_DESTS
from proctor.sandbox.process import SandboxedProcess
from proctor.sandbox.slots import MAX_SLOTS as MAX_SLOTS
from proctor.sandbox.slots import STATE_DIR as STATE_DIR
from proctor.sandbox.slots import UID_BASE

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


from proctor.sandbox.spec import Limits, SandboxSpec, SandboxUnavailable

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
    for name in _bwrap.MERGED_USR_DIRS:
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
        src = str(import_root())
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
        ver = _bwrap.bwrap_version(bwrap) if bwrap else ()
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
# spawning

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
    binds = _bwrap.check_binds(spec.ro_binds)
    cwd_ok = spec.cwd in ("/scratch", "/tmp") or spec.cwd.startswith(("/scratch/", "/tmp/")) \
        or any(spec.cwd == d or spec.cwd.startswith(d + "/") for _, d in binds)
    if not unsafe and not cwd_ok:
        raise ValueError(f"cwd {spec.cwd} is not inside the sandbox")
    return _launch.launch(argv, spec, binds, info=info, cg_mgr=_cg_mgr, pass_fds=pass_fds,
                          stdout=stdout, stderr=stderr, unsafe=unsafe, probing=probing)
