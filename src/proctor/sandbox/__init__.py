"""Where untrusted code runs: a sandboxed process with limits, from a ``SandboxSpec``.

A ``Backend`` runs a command confined by a spec: ``bwrap`` (bubblewrap namespaces, an
unprivileged uid, rlimits, a cgroup, seccomp) or ``none`` (``--unsafe-no-sandbox``);
``isolation()`` says what this machine offers. See docs/security.md for the threat model.
"""

from proctor.sandbox.backend import Backend, backend_names, get_backend, register
from proctor.sandbox.backends import backend_for
from proctor.sandbox.process import SandboxedProcess
from proctor.sandbox.runner import isolation, runtime_binds, spawn, system_binds
from proctor.sandbox.slots import MAX_SLOTS, STATE_DIR, UID_BASE
from proctor.sandbox.spec import Limits, SandboxSpec, SandboxUnavailable

__all__ = [
    "Backend", "get_backend", "backend_for", "backend_names", "register",
    "Limits", "SandboxSpec", "SandboxUnavailable", "SandboxedProcess",
    "isolation", "spawn", "system_binds", "runtime_binds",
    "MAX_SLOTS", "STATE_DIR", "UID_BASE",
]
