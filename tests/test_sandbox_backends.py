"""The suite every sandbox backend must pass (``proctor.sandbox.backend_names()``).

Every backend, confined or not, must: run a command with exactly the given environment;
enforce the wall-clock backstop and CPU limit; kill the whole process tree with the top
process; report a signal death like Popen. A *confining* backend must also hide the host
(graders, tests, other files), keep the filesystem read-only outside the scratch dirs,
and give the code no network. A new backend registers itself and is tested here, unchanged.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from proctor import sandbox
from proctor.sandbox import Limits, SandboxSpec

REPO = Path(__file__).resolve().parent.parent
ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}


def _usable(name: str) -> tuple[bool, str]:
    backend = sandbox.get_backend(name)
    if backend.confines and os.geteuid() != 0:
        return False, "confining backends are tested as root (per-slot uids)"
    return backend.available()


@pytest.fixture(params=sandbox.backend_names())
def backend(request):
    ok, why = _usable(request.param)
    if not ok:
        pytest.skip(f"backend {request.param} unavailable here: {why}")
    return sandbox.get_backend(request.param)


def run(backend, code: str, tmp_path: Path, **limits) -> tuple[int, str]:
    lim = {"wall_s": 20.0, **limits}
    env = dict(ENV, HOME="/scratch" if backend.confines else str(tmp_path))
    spec = SandboxSpec(ro_binds=sandbox.runtime_binds(), env=env, limits=Limits(**lim),
                       cwd="/scratch" if backend.confines else str(tmp_path))
    out = tmp_path / f"out-{time.monotonic_ns()}"
    with out.open("wb") as f:
        proc = backend.spawn([sys.executable, "-I", "-c", textwrap.dedent(code)], spec,
                             stdout=f.fileno(), stderr=f.fileno())
        rc = proc.wait(timeout=lim["wall_s"] + 30)
    return rc, out.read_text(errors="replace")


def test_registry_names_the_builtin_backends():
    assert {"bwrap", "none"} <= set(sandbox.backend_names())
    assert sandbox.backend_for(unsafe=True).confines is False
    assert sandbox.backend_for(unsafe=False).confines is True
    with pytest.raises(ValueError, match="unknown sandbox backend 'nope'"):
        sandbox.get_backend("nope")


def test_runs_with_exactly_the_given_environment(backend, tmp_path):
    rc, out = run(backend, "import json, os; print(json.dumps(sorted(os.environ)))", tmp_path)
    assert rc == 0, out
    names = set(json.loads(out.strip().splitlines()[-1]))
    # PWD (bwrap sets it) and LC_CTYPE (Python's C-locale coercion) are the only additions
    assert names - {"LC_CTYPE", "PWD"} == set(ENV) | {"HOME"}


def test_wall_backstop_kills_a_sleeper(backend, tmp_path):
    t0 = time.monotonic()
    rc, _ = run(backend, "import time; time.sleep(60)", tmp_path, wall_s=2.0)
    assert rc != 0 and time.monotonic() - t0 < 30


def test_cpu_limit_stops_a_spinner(backend, tmp_path):
    rc, _ = run(backend, "while True: pass", tmp_path, cpu_s=1, wall_s=30.0)
    assert rc != 0


def test_the_tree_dies_with_the_top_process(backend, tmp_path):
    marker = tmp_path / "alive"
    code = f"""
        import os, time
        if os.fork() == 0:
            os.setsid()
            time.sleep(4)
            open({str(marker)!r}, "w").write("survived")
            os._exit(0)
        print("parent exits")
    """
    rc, out = run(backend, code, tmp_path)
    assert rc == 0, out
    time.sleep(5)
    assert not marker.exists(), "a daemon outlived its sandbox"


def test_signal_death_is_reported_like_popen(backend, tmp_path):
    rc, _ = run(backend, "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)", tmp_path)
    assert rc == -11


def test_confining_backend_hides_the_host_and_the_network(backend, tmp_path):
    if not backend.confines:
        pytest.skip(f"{backend.name} does not confine (by definition)")
    hidden = [str(REPO / "graders"), str(REPO / "reference_solutions"), str(REPO / "tests")]
    code = f"""
        import os, socket
        seen = [p for p in {hidden!r} if os.path.exists(p)]
        try:
            open("/etc/proctor-write-test", "w")
            wrote = True
        except OSError:
            wrote = False
        try:
            s = socket.create_connection(("1.1.1.1", 53), timeout=2)
            net = True
        except OSError:
            net = False
        print(seen, wrote, net)
    """
    rc, out = run(backend, code, tmp_path)
    assert rc == 0, out
    assert out.strip().splitlines()[-1] == "[] False False"
