"""The two built-in backends: bubblewrap, and no sandbox at all (rlimits and cgroup only)."""

from __future__ import annotations

from proctor.sandbox import runner as _runner
from proctor.sandbox.backend import Backend, register
from proctor.sandbox.process import SandboxedProcess
from proctor.sandbox.spec import SandboxSpec


class Bwrap(Backend):
    """Namespaces by bubblewrap, an unprivileged uid, rlimits, a cgroup and seccomp."""

    name = "bwrap"
    confines = True

    def available(self) -> tuple[bool, str]:
        info = _runner.isolation()
        return bool(info["available"]), str(info["reason"])

    def spawn(self, argv: list[str], spec: SandboxSpec, *, pass_fds: tuple[int, ...] = (),
              stdout: int | None = None, stderr: int | None = None) -> SandboxedProcess:
        return _runner.spawn(argv, spec, pass_fds=pass_fds, stdout=stdout, stderr=stderr)


class NoSandbox(Backend):
    """The host as it is, with rlimits, its own session and, where writable, a cgroup:
    for ``--unsafe-no-sandbox`` only, which the report states."""

    name = "none"
    confines = False

    def available(self) -> tuple[bool, str]:
        return True, "ok (no isolation)"

    def spawn(self, argv: list[str], spec: SandboxSpec, *, pass_fds: tuple[int, ...] = (),
              stdout: int | None = None, stderr: int | None = None) -> SandboxedProcess:
        return _runner.spawn(argv, spec, pass_fds=pass_fds, stdout=stdout, stderr=stderr,
                            unsafe=True)


register(Bwrap())
register(NoSandbox())


def backend_for(unsafe: bool) -> Backend:
    """The backend behind the CLI's choice: the sandbox, or none when told to run unsafely."""
    from proctor.sandbox.backend import get_backend
    return get_backend("none" if unsafe else "bwrap")
