"""The sandbox's top process before exec: the rlimits it gets and the setup it runs
between fork and exec."""

from __future__ import annotations

import ctypes
import os
import resource
import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from proctor.sandbox.spec import Limits

_libc = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNS = 0x00020000
_MS_BIND = 0x1000
_MS_REC = 0x4000
_MS_PRIVATE = 1 << 18
_PR_SET_PDEATHSIG = 1
_PR_SET_NO_NEW_PRIVS = 38
# How much nicer than the grader a worker runs. Where a worker shares a core with the
# grader's threads (another exercise's checks beside a latency measurement, whose inputs
# the grader makes and checks there), the grader goes first; a worker alone on a core,
# as the two measured ones on the timing core, runs as fast as before.
WORKER_NICE = 5


def rlimits(limits: Limits, *, nproc: bool, nproc_slack: int = 0) -> list[tuple[int, int, int]]:
    """(resource, soft, hard), clamped to the current hard limits (we cannot raise)."""
    want = [
        (resource.RLIMIT_CPU, limits.cpu_s, limits.cpu_s + 5),
        (resource.RLIMIT_DATA, limits.memory_bytes, limits.memory_bytes),
        (resource.RLIMIT_NOFILE, limits.nofile, limits.nofile),
        (resource.RLIMIT_FSIZE, limits.fsize_bytes, limits.fsize_bytes),
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_NICE, 0, 0),   # its niceness can never be lowered again
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


def make_preexec(*, cg_files: list[bytes], stage: bytes | None,
                 stage_items: list[tuple[bytes, bytes, bool]], cpus: tuple[int, ...] | None,
                 rlimits: list[tuple[int, int, int]], uid: int | None, unsafe: bool,
                 err_w: int):
    """The child-side setup, run between fork and exec (as root when we are root).

    Only async-signal-safe-ish work: no imports, no locks, no allocations of note.
    A failure is written to ``err_w`` so the parent can say what went wrong."""
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
            if cpus is not None:
                os.sched_setaffinity(0, cpus)
            # if the host runs out of memory, the worker goes first, not the grader
            fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
            try:
                os.write(fd, b"1000")
            finally:
                os.close(fd)
            os.nice(WORKER_NICE)   # before the rlimits: as root, RLIMIT_NICE binds too
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

