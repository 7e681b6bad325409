"""The sandbox backend interface: one small class per way of running untrusted code.

A backend turns a ``SandboxSpec`` into a running ``SandboxedProcess``. ``bwrap`` (Linux
namespaces, an unprivileged uid, rlimits, cgroup, seccomp) is the default; ``none`` runs
with rlimits and a cgroup only, for ``--unsafe-no-sandbox``. A new backend (say, macOS
``sandbox-exec``) is one module in this package that subclasses ``Backend`` and calls
``register``; tests/test_sandbox_backends.py is the suite every backend must pass.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from proctor.sandbox.process import SandboxedProcess
from proctor.sandbox.spec import SandboxSpec


class Backend(ABC):
    """How to run ``argv`` confined by a ``SandboxSpec``.

    ``confines`` says whether the spec's filesystem view is real: binds appear at their
    sandbox paths, nothing else of the host is visible, and there is no network. Callers
    use it to decide which paths to hand the worker (sandbox paths, or host paths)."""

    name: ClassVar[str]
    confines: ClassVar[bool]

    @abstractmethod
    def available(self) -> tuple[bool, str]:
        """(usable here, why not) — cheap after the first call."""

    @abstractmethod
    def spawn(self, argv: list[str], spec: SandboxSpec, *, pass_fds: tuple[int, ...] = (),
              stdout: int | None = None, stderr: int | None = None) -> SandboxedProcess:
        """Start the command; raise ``SandboxUnavailable`` when ``available()`` is false."""


_REGISTRY: dict[str, Backend] = {}


def register(backend: Backend) -> Backend:
    _REGISTRY[backend.name] = backend
    return backend


def get_backend(name: str) -> Backend:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown sandbox backend {name!r}; known: {sorted(_REGISTRY)}") from None


def backend_names() -> list[str]:
    return sorted(_REGISTRY)
