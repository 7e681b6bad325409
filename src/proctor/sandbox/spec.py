"""What a sandbox is asked for: the filesystem view, environment, limits and core.

A leaf module, so that every backend and the launcher share these types without cycles.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
    # with ``cpu``: the cores it starts on (say, to load a notebook off the timing core)
    # until ``SandboxedProcess.pin()`` moves the whole tree to ``cpu``; () = ``cpu`` at once
    start_cpus: tuple[int, ...] = ()

    def __post_init__(self):
        if self.start_cpus and self.cpu is None:
            raise ValueError("SandboxSpec.start_cpus needs cpu (the core pin() moves it to)")

    def first_cpus(self) -> tuple[int, ...] | None:
        """The cores the sandbox starts confined to; None: not pinned at all."""
        if self.cpu is None:
            return None
        return tuple(sorted(set(self.start_cpus))) or (self.cpu,)
