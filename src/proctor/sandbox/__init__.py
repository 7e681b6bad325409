"""Where untrusted code runs: a sandboxed process with limits, from a ``SandboxSpec``.

``spawn()`` starts a command under the strongest isolation this machine offers
(bubblewrap namespaces, an unprivileged uid, rlimits, a cgroup, seccomp); ``isolation()``
says what that is. See docs/security.md for the threat model.
"""

from proctor.sandbox.process import SandboxedProcess
from proctor.sandbox.slots import MAX_SLOTS, STATE_DIR, UID_BASE
from proctor.sandbox.spawn import isolation, runtime_binds, spawn, system_binds
from proctor.sandbox.spec import Limits, SandboxSpec, SandboxUnavailable

__all__ = [
    "Limits", "SandboxSpec", "SandboxUnavailable", "SandboxedProcess",
    "isolation", "spawn", "system_binds", "runtime_binds",
    "MAX_SLOTS", "STATE_DIR", "UID_BASE",
]
