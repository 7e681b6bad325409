"""Starting one sandbox: slot, cgroup, command line, fork; and undoing all of it if any
step fails. ``sandbox.spawn()`` validates the request and decides what is available;
this module only carries it out."""

from __future__ import annotations

import concurrent.futures
import errno
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from typing import TYPE_CHECKING

from proctor.sandbox import bwrap as _bwrap
from proctor.sandbox import child as _child
from proctor.sandbox import seccomp as _seccomp
from proctor.sandbox.cgroup import Manager
from proctor.sandbox.process import SandboxedProcess
from proctor.sandbox.slots import STATE_DIR, acquire_slot

if TYPE_CHECKING:
    from proctor.sandbox.spec import SandboxSpec


def launch(argv: list[str], spec: SandboxSpec, binds: list[tuple[str, str]], *,
           info: dict, cg_mgr: Manager | None, pass_fds: tuple[int, ...],
           stdout: int | None, stderr: int | None, unsafe: bool,
           probing: bool) -> SandboxedProcess:
    """Start ``argv`` with the validated ``binds``; ``info`` is ``isolation()``'s
    (private) result and ``cg_mgr`` the cgroup manager it found, if any."""
    root = os.geteuid() == 0
    lim = spec.limits
    slot = cg = None
    fds_to_close: list[int] = []
    cleanup_dirs: list[str] = []
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    fds_to_close += [err_r, err_w]
    try:
        drop = root and not unsafe
        if drop:
            slot = acquire_slot()
        if cg_mgr is not None:
            cg = cg_mgr.create(lim.memory_bytes, lim.nproc, spec.first_cpus())
        uid = slot.uid if slot else None
        # with a pids cgroup, RLIMIT_NPROC is only a backstop: a little slack lets the
        # cgroup (which records the hit in pids.events) trip first
        rl = _child.rlimits(lim, nproc=drop,
                            nproc_slack=8 if cg is not None and cg.has_pids else 0)
        stage, stage_items = None, []
        if unsafe:
            cwd, env = _unsafe_scratch(spec, cleanup_dirs)
            args = list(argv)
            extra_fds: list[int] = []
        else:
            if root:
                stage, stage_items, sources = _bwrap.stage_binds(binds, STATE_DIR)
            else:
                sources = [h for h, _ in binds]
            passwd_fd, group_fd = _bwrap.identity_fds(uid if uid is not None else os.getuid())
            extra_fds = [passwd_fd, group_fd]
            bpf = _seccomp.build_filter() if info.get("seccomp") or probing else None
            seccomp_fd = _bwrap.data_fd(bpf) if bpf else None
            if seccomp_fd is not None:
                extra_fds.append(seccomp_fd)
            fds_to_close += extra_fds
            args = _bwrap.bwrap_args(
                info["bwrap"], info.get("_ver", ()), list(argv), binds=binds,
                sources=sources, env=spec.env, cwd=spec.cwd,
                scratch_bytes=lim.scratch_bytes, seccomp_fd=seccomp_fd,
                passwd_fd=passwd_fd, group_fd=group_fd)
            env = {}
            cwd = "/"

        preexec = _child.make_preexec(
            cg_files=cg.procs_files() if cg else [], stage=stage, stage_items=stage_items,
            cpus=spec.first_cpus(), rlimits=rl, uid=uid, unsafe=unsafe, err_w=err_w)

        def fork():
            return subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                pass_fds=tuple(pass_fds) + tuple(extra_fds), close_fds=True,
                env=env, cwd=cwd, start_new_session=True, preexec_fn=preexec)

        try:
            popen = _in_spawner_thread(fork)
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


def _unsafe_scratch(spec: SandboxSpec, cleanup_dirs: list[str]) -> tuple[str, dict[str, str]]:
    """(cwd, env) for unsafe mode. With no /scratch on the host, a temporary directory
    stands in for it, as the cwd and in env values such as HOME=/scratch."""
    cwd, env = spec.cwd, dict(spec.env)
    if os.path.isdir(cwd):
        return cwd, env
    tmp = tempfile.mkdtemp(prefix="proctor-scratch-")
    cleanup_dirs.append(tmp)
    cwd = tmp + spec.cwd[len("/scratch"):] if spec.cwd.startswith("/scratch") else tmp
    os.makedirs(cwd, exist_ok=True)
    env = {k: (tmp + v[len("/scratch"):] if v == "/scratch" or v.startswith("/scratch/")
               else v)
           for k, v in env.items()}
    return cwd, env


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


def _in_spawner_thread(fn):
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = _Spawner()
    return _spawner.call(fn)
