"""How a worker is configured: the environment, what is bound in, the limits.

Candidate and reference workers for one exercise come from the same function with
the same arguments except the artifact dir, which is what "identically configured"
means for side-by-side timing.
"""

from __future__ import annotations

import os
from pathlib import Path

from proctor import sandbox
from proctor.library.spec import Exercise
from proctor.worker.client import WorkerConfig

ARTIFACTS_IN_SANDBOX = "/submission/artifacts"
_PASS_THROUGH = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "LD_LIBRARY_PATH")


def timing_cpu() -> int:
    """The core both timed workers are pinned to: the last one we may use."""
    return max(os.sched_getaffinity(0))


def start_cpus(count: int, ahead: bool) -> list[tuple[int, ...]] | None:
    """The core each of ``count`` workers loads its notebook on, before ``pin()`` moves it
    to the timing core: one each, so that a worker sees one core while loading as it does
    when timed. ``ahead`` (another exercise's checks may be measuring meanwhile): only
    cores other than the timing core, None if there is none; else the timing core too."""
    timing = timing_cpu()
    pool = sorted(os.sched_getaffinity(0) - {timing}) + ([] if ahead else [timing])
    if not pool:
        return None
    return [(pool[i % len(pool)],) for i in range(count)]


def config_for(spec: Exercise, artifact_dir: Path | None, unsafe: bool,
               pinned: bool = True) -> tuple[WorkerConfig, str | None]:
    """A worker config and the path at which the worker sees ``artifact_dir``."""
    backend = sandbox.backend_for(unsafe)
    binds = sandbox.runtime_binds()
    seen_at: str | None = None
    if artifact_dir is not None:
        if not backend.confines:  # nothing is bound: the worker sees the host path
            seen_at = str(artifact_dir.resolve())  # the worker's cwd is not ours
        else:
            seen_at = f"{ARTIFACTS_IN_SANDBOX}/{spec.id}"
            binds.append((str(artifact_dir.resolve()), seen_at))
    env = {
        "PROCTOR_GRADING": "1",
        "PROCTOR_EXERCISE": spec.id,
        "HOME": "/scratch" if backend.confines else os.environ.get("TMPDIR", "/tmp"),
        "TMPDIR": "/scratch" if backend.confines else os.environ.get("TMPDIR", "/tmp"),
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "NUMEXPR_NUM_THREADS": "1",
    }
    if seen_at:
        env["PROCTOR_ARTIFACT_DIR"] = seen_at
    if spec.forbidden_imports:
        env["PROCTOR_FORBIDDEN_IMPORTS"] = ",".join(spec.forbidden_imports)
    env.update({k: os.environ[k] for k in _PASS_THROUGH if k in os.environ})
    limits = sandbox.Limits(
        wall_s=spec.limits.time_limit_s + 600,
        cpu_s=int(spec.limits.time_limit_s * 4 + 600),
        memory_bytes=spec.limits.memory_mb << 20,
    )
    cpu = timing_cpu() if pinned else None
    return WorkerConfig(env=env, ro_binds=binds, limits=limits, cpu=cpu,
                        backend=backend.name), seen_at
