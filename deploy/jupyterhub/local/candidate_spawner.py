"""A local spawner for trying the candidate flow on one machine (no Kubernetes).

Each candidate's Jupyter server runs in its own work folder, seeded from the candidate
bundle (files already there are never overwritten, as in the candidate image), inside
bubblewrap: the machine is visible read-only, the campaign folder (every candidate's work
and the hub's state: database, cookie secret) is hidden, and only the candidate's own
folder is bound back, writable. The network is shared (the proxy must reach the server and
the server the hub), so this is not the production isolation: on Kubernetes each candidate
gets a pod, a volume and no egress (deploy/jupyterhub/values.yaml).
"""

from __future__ import annotations

import os
import shutil
import sys

from jupyterhub.spawner import SimpleLocalProcessSpawner
from traitlets import Bool, List, Unicode, default


def seed(bundle: str, work: str) -> int:
    """Copy into ``work`` the files of ``bundle`` that are missing there; returns how many."""
    copied = 0
    for dirpath, _dirs, files in os.walk(bundle):
        rel = os.path.relpath(dirpath, bundle)
        target = os.path.normpath(os.path.join(work, rel))
        os.makedirs(target, exist_ok=True)
        for name in files:
            dest = os.path.join(target, name)
            if not os.path.lexists(dest):
                shutil.copy2(os.path.join(dirpath, name), dest)
                copied += 1
    return copied


def python_paths_in_tmp() -> list[str]:
    """The folders under /tmp this Python needs (a venv or a checkout living there, as in a
    CI job's clone): the server's private /tmp would hide them."""
    paths = {sys.prefix, sys.base_prefix, *sys.path}
    return sorted(p for p in paths
                  if p and os.path.isdir(p) and os.path.realpath(p).startswith("/tmp/"))


def bwrap_argv(work: str, hidden: list[str], bwrap: str = "bwrap",
               keep: list[str] | None = None) -> list[str]:
    """bubblewrap: everything read-only with a private /tmp (``keep``: folders under /tmp
    bound back read-only), ``hidden`` folders replaced by empty ones, then ``work`` bound
    back writable; own user (uid 1000 inside, as in the candidate image), pid, IPC and UTS
    namespaces."""
    argv = [bwrap, "--die-with-parent", "--new-session", "--unshare-user", "--uid", "1000",
            "--gid", "1000", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--ro-bind", "/", "/", "--dev", "/dev",
            "--proc", "/proc", "--tmpfs", "/tmp"]
    for path in keep or ():
        argv += ["--ro-bind", path, path]
    for path in hidden:
        argv += ["--tmpfs", path]
    return argv + ["--bind", work, work, "--chdir", work, "--setenv", "HOME", work]


class CandidateSpawner(SimpleLocalProcessSpawner):
    """One folder per candidate under ``work_root``, seeded from ``bundle``, served from
    inside bubblewrap with ``hidden`` (the campaign folder) out of sight."""

    work_root = Unicode(config=True, help="folder holding one work folder per candidate")
    bundle = Unicode("", config=True, help="candidate bundle copied into new work folders")
    hidden = List(Unicode(), config=True,
                  help="folders the candidate's server must not see (other candidates' "
                       "work, the hub's state)")
    sandbox = Bool(True, config=True, help="run the server inside bubblewrap")

    @default("home_dir")
    def _home(self) -> str:
        return os.path.join(self.work_root, self.user.name)

    async def start(self):
        os.makedirs(self.home_dir, mode=0o700, exist_ok=True)
        if self.bundle:
            self.log.info("seeded %d bundle file(s) into %s", seed(self.bundle, self.home_dir),
                          self.home_dir)
        if self.sandbox:
            bwrap = shutil.which("bwrap")
            if not bwrap:
                raise RuntimeError("bubblewrap (bwrap) is not installed: install it, or set "
                                   "c.CandidateSpawner.sandbox = False on a machine where "
                                   "candidates may see each other's work")
            self.shell_cmd = [*bwrap_argv(self.home_dir, self.hidden, bwrap,
                                          keep=python_paths_in_tmp()), "/bin/sh", "-c"]
        return await super().start()
