"""The cgroup code (proctor.sandbox.cgroup*) against a FAKE cgroup tree in a temporary directory.

The host running the suite may have only one cgroup version (often v1 on CI, v2 on
users' machines), and the real-kernel paths are covered by tests/test_sandbox.py. Here
both versions are driven end to end, detection -> create -> limits -> counters ->
kill -> removal, over plain directories. ``FakeKernel`` supplies what makes cgroupfs
unlike a plain filesystem (see ``proctor.sandbox.cgroupfs``): interface files appear with a new
cgroup and go with it, and writes to ``cgroup.subtree_control``/``cgroup.procs`` are
commands. Counters are set by writing the files, as the kernel would update them.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import types
from pathlib import Path

import pytest

from proctor import sandbox
from proctor.measure.memory import PeakMeter
from proctor.sandbox import Limits, SandboxSpec
from proctor.sandbox import cgroup as _cgroup
from proctor.sandbox import cgroup_base as _cgroup_base
from proctor.sandbox import cgroup_v2 as _cgroup_v2
from proctor.sandbox import cgroupfs as _cgroupfs
from proctor.sandbox import runner as sandbox_runner
from proctor.sandbox.cgroup_v1 import CgroupV1
from proctor.sandbox.cgroup_v2 import CgroupV2
from proctor.sandbox.process import SandboxedProcess

SELF = os.getpid()
DEAD_PID = 2 ** 22 + 1  # above the kernel's maximum pid: never a live process

V2_FILES = {
    "": {"cgroup.procs": "", "cgroup.threads": "", "cgroup.subtree_control": "",
         "cgroup.kill": "", "cgroup.events": "populated 0\nfrozen 0\n",
         "cpu.stat": "usage_usec 0\nuser_usec 0\nsystem_usec 0\n"},
    "memory": {"memory.max": "max\n", "memory.swap.max": "max\n", "memory.current": "0\n",
               "memory.peak": "0\n",
               "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"},
    "pids": {"pids.max": "max\n", "pids.current": "0\n", "pids.peak": "0\n",
             "pids.events": "max 0\n"},
    "cpuset": {"cpuset.cpus": "\n", "cpuset.mems": "\n"},
}
V1_FILES = {
    "": {"cgroup.procs": "", "tasks": ""},
    "memory": {"memory.limit_in_bytes": "9223372036854771712\n",
               "memory.memsw.limit_in_bytes": "9223372036854771712\n",
               "memory.usage_in_bytes": "0\n", "memory.max_usage_in_bytes": "0\n",
               "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"},
    "pids": {"pids.max": "max\n", "pids.current": "0\n", "pids.events": "max 0\n"},
    "cpuacct": {"cpuacct.usage": "0\n"},
    "cpuset": {"cpuset.cpus": "\n", "cpuset.mems": "\n"},
}


class FakeKernel:
    """cgroupfs semantics over ``root``: ``root/unified`` is a v2 mount, ``root/<ctrl>``
    v1 hierarchies. ``mount_v1``/``mount_v2`` also write the fake ``/proc/self``."""

    def __init__(self, root: Path):
        self.root = root
        self.proc_self = root / "proc-self"
        self.proc_self.mkdir(parents=True)
        self.mountinfo: list[str] = []
        self.own: list[str] = []
        self.refuse_mkdir = False       # a cgroup that was not delegated to us
        self.refuse_subtree = False
        self._write = _cgroupfs.write

    # --- building trees -------------------------------------------------------------
    def mount_v2(self, own: str = "/grader", controllers: str = "cpuset cpu io memory pids",
                 enabled: str = "", procs: str = "") -> Path:
        """A cgroup2 mount whose root offers ``controllers``; we are in ``own``, which
        has ``enabled`` in its subtree_control and ``procs`` in it. Returns ``own``'s dir."""
        mp = self.root / "unified"
        mp.mkdir()
        self._populate(mp, "v2", "")
        (mp / "cgroup.controllers").write_text(controllers + "\n")
        (mp / "cgroup.subtree_control").write_text(controllers + "\n")
        d = mp / own.strip("/")
        self.make_dir(str(d))
        (d / "cgroup.subtree_control").write_text(enabled + "\n")
        (d / "cgroup.procs").write_text(procs)
        self.mountinfo.append(f"36 25 0:30 / {mp} rw,nosuid,nodev - cgroup2 cgroup2 rw")
        self.own.append(f"0::{own}")
        self._flush()
        return d

    def mount_v1(self, ctrl: str, own: str = "/grader", mount_root: str = "/",
                 n: int = 4) -> Path:
        """A v1 hierarchy of ``ctrl``, showing cgroup ``mount_root`` (a cgroup namespace
        shows only its subtree); we are in ``own``. Returns ``own``'s dir."""
        mp = self.root / ctrl
        mp.mkdir()
        self._populate(mp, "v1", ctrl)
        rel = own[len(mount_root.rstrip("/")):].strip("/")
        d = mp / rel
        for parent in reversed([d, *d.parents]):
            if parent.is_relative_to(mp) and parent != mp and not parent.exists():
                self.make_dir(str(parent))
        if ctrl == "cpuset":
            (d / "cpuset.mems").write_text("0-1\n")
        self.mountinfo.append(f"4{n} 25 0:3{n} {mount_root} {mp} rw,nosuid - cgroup cgroup "
                              f"rw,{ctrl}")
        self.own.append(f"{n}:{ctrl}:{own}")
        self._flush()
        return d

    def _flush(self) -> None:
        (self.proc_self / "mountinfo").write_text("\n".join(self.mountinfo) + "\n")
        (self.proc_self / "cgroup").write_text("\n".join(self.own) + "\n")

    def _populate(self, d: Path, version: str, ctrl: str) -> None:
        files = V2_FILES if version == "v2" else V1_FILES
        for group in ("", ctrl) if version == "v1" else ("", *self._offered(d)):
            for name, text in files.get(group, {}).items():
                (d / name).write_text(text)
        if version == "v2":
            (d / "cgroup.controllers").write_text(" ".join(self._offered(d)) + "\n")

    def _offered(self, d: Path) -> list[str]:
        sub = d.parent / "cgroup.subtree_control"
        return sub.read_text().split() if sub.exists() else []

    def _kind(self, d: Path) -> tuple[str, str]:
        top = d.relative_to(self.root).parts[0]
        return ("v2", "") if top == "unified" else ("v1", top)

    # --- the three cgroupfs operations ----------------------------------------------
    def make_dir(self, path: str) -> None:
        d = Path(path)
        if not d.is_relative_to(self.root):
            return os.mkdir(path)
        if self.refuse_mkdir:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        os.mkdir(path)
        self._populate(d, *self._kind(d))

    def remove_dir(self, path: str) -> None:
        d = Path(path)
        if not d.is_relative_to(self.root):
            return os.rmdir(path)
        if not d.exists():
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        if (d / "cgroup.procs").read_text().split():
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), path)
        for f in d.iterdir():
            if f.is_file():
                f.unlink()
        d.rmdir()

    def write(self, path: str, value: str) -> None:
        p = Path(path)
        if p.is_relative_to(self.root) and p.name == "cgroup.subtree_control":
            return self._subtree_control(p, value)
        if p.is_relative_to(self.root) and p.name == "cgroup.procs":
            pid = SELF if value.strip() == "0" else int(value)
            for other in (self.root / "unified").rglob("cgroup.procs"):
                other.write_text(" ".join(x for x in other.read_text().split()
                                          if int(x) != pid))
            p.write_text(f"{p.read_text()} {pid}".strip())
            return None
        return self._write(path, value)

    def _subtree_control(self, p: Path, value: str) -> None:
        if self.refuse_subtree:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(p))
        if (p.parent / "cgroup.procs").read_text().split():
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), str(p))  # no internal procs
        offered = set((p.parent / "cgroup.controllers").read_text().split())
        on = set(p.read_text().split())
        for tok in value.split():
            if tok[1:] not in offered:
                raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), str(p))
            (on.add if tok[0] == "+" else on.discard)(tok[1:])
        p.write_text(" ".join(sorted(on)) + "\n")


@pytest.fixture
def kernel(tmp_path, monkeypatch) -> FakeKernel:
    k = FakeKernel(tmp_path / "cg")
    monkeypatch.setattr(_cgroupfs, "make_dir", k.make_dir)
    monkeypatch.setattr(_cgroupfs, "remove_dir", k.remove_dir)
    monkeypatch.setattr(_cgroupfs, "write", k.write)
    for var in ("PROCTOR_CGROUP", "PROCTOR_CGROUP_ROOT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(_cgroup_base, "_deferred", [])
    return k


@pytest.fixture
def sleeper():
    """A real, harmless process to list in a fake cgroup."""
    p = subprocess.Popen(["sleep", "60"], start_new_session=True)
    yield p
    p.kill()
    p.wait()


def detect(kernel: FakeKernel):
    return _cgroup.detect(proc_self=str(kernel.proc_self))


def text(d: Path, name: str) -> str:
    return (d / name).read_text().strip()


# --- cgroup v2 ---------------------------------------------------------------------------

def test_v2_detection_enables_the_controllers_it_needs(kernel):
    base = kernel.mount_v2(enabled="cpu")
    mgr, why = detect(kernel)
    assert why == "" and mgr.version == "v2"
    assert mgr.bases == {"": str(base)} and mgr.note == f"cgroup v2: {base}"
    assert mgr.features == ["memory", "memory+swap", "cpuset", "pids", "cpu-accounting"]
    assert set(text(base, "cgroup.subtree_control").split()) == {"cpu", "cpuset", "memory",
                                                                  "pids"}
    assert [p.name for p in base.iterdir() if p.is_dir()] == []  # the probe cleaned up


def test_v2_detection_moves_a_lone_grader_out_of_the_way(kernel):
    # "no internal processes": controllers cannot be enabled for children of a cgroup
    # that holds processes; a grader alone in it moves itself into a leaf first
    base = kernel.mount_v2(procs=str(SELF))
    mgr, why = detect(kernel)
    assert mgr is not None, why
    assert text(base, "cgroup.procs") == ""
    assert text(base / "proctor.supervisor", "cgroup.procs") == str(SELF)
    assert "memory" in text(base, "cgroup.subtree_control").split()


def test_v2_detection_leaves_other_processes_alone(kernel, sleeper):
    kernel.mount_v2(procs=f"{SELF} {sleeper.pid}")
    mgr, why = detect(kernel)
    assert mgr is None
    assert "cannot enable controllers" in why and "PROCTOR_CGROUP_ROOT" in why


def test_v2_cgroup_gets_the_limits(kernel):
    kernel.mount_v2()
    mgr, _ = detect(kernel)
    cg = mgr.create(256 << 20, 32, cpu=1)
    d = Path(cg.path)
    assert isinstance(cg, CgroupV2) and d.parent == Path(mgr.bases[""])
    assert d.name.startswith(f"proctor.{SELF}.")
    assert text(d, "memory.max") == str(256 << 20)
    assert text(d, "memory.swap.max") == "0"
    assert text(d, "pids.max") == "32"
    assert text(d, "cpuset.cpus") == "1"
    assert cg.has_pids
    assert cg.procs_files() == [os.fsencode(d / "cgroup.procs")]
    assert cg.destroy() and not d.exists()
    # started on other cores (loading ahead), then moved to the timing core
    cg = mgr.create(256 << 20, 32, cpu=(2, 0))
    assert text(Path(cg.path), "cpuset.cpus") == "0,2"
    assert cg.set_cpus(1) and text(Path(cg.path), "cpuset.cpus") == "1"
    assert cg.destroy()


def test_v2_without_pids_or_cpuset_controller_limits_what_it_can(kernel):
    base = kernel.mount_v2(controllers="cpu memory")
    mgr, _ = detect(kernel)
    assert mgr.features == ["memory", "memory+swap", "cpu-accounting"]
    cg = mgr.create(64 << 20, 32, cpu=0)
    d = Path(cg.path)
    assert text(d, "memory.max") == str(64 << 20)
    assert not (d / "pids.max").exists() and not (d / "cpuset.cpus").exists()
    assert not cg.set_cpus(1) and not (d / "cpuset.cpus").exists()
    assert not cg.has_pids and cg.pids_limit_hits() == 0
    assert set(text(base, "cgroup.subtree_control").split()) == {"memory"}


def test_v2_counters_are_parsed(kernel):
    kernel.mount_v2()
    mgr, _ = detect(kernel)
    cg = mgr.create(256 << 20, 32)
    d = Path(cg.path)
    (d / "memory.peak").write_text("123456789\n")
    (d / "memory.current").write_text("4096\n")
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 9\noom 2\noom_kill 2\n")
    (d / "cpu.stat").write_text("usage_usec 1500000\nuser_usec 1000000\n"
                                "system_usec 500000\nnr_periods 0\n")
    (d / "pids.events").write_text("max 3\n")
    (d / "pids.peak").write_text("7\n")
    assert cg.memory_peak() == 123456789
    assert cg.memory_current() == 4096
    assert cg.oom_kills() == 2
    assert cg.cpu_seconds() == 1.5
    assert cg.pids_limit_hits() == 3
    assert cg.pids_peak() == 7
    cg.destroy()


def test_v2_peak_reset_needs_linux_6_12(kernel, monkeypatch):
    kernel.mount_v2()
    mgr, _ = detect(kernel)
    cg = mgr.create(256 << 20, 32)
    peak = Path(cg.path) / "memory.peak"
    peak.write_text("5000\n")
    monkeypatch.setattr(_cgroup_v2, "kernel_version", lambda: (6, 11, 9))
    assert cg.reset_memory_peak() is False       # memory.peak is read-only before 6.12
    assert cg.memory_peak() == 5000
    monkeypatch.setattr(_cgroup_v2, "kernel_version", lambda: (6, 12))
    assert cg.reset_memory_peak() is True
    peak.write_text("1234\n")                    # what the kernel reports after a reset
    assert cg.memory_peak() == 1234
    # the reset holds only for the descriptor that was written: a fresh open of the
    # file (another inode here) would show the all-time peak again
    fresh = peak.with_name("new")
    fresh.write_text("5000\n")
    os.replace(fresh, peak)
    assert cg.memory_peak() == 1234
    assert cg.reset_memory_peak() is True        # again, through the same descriptor
    assert cg.destroy() and not peak.parent.exists()
    assert cg.reset_memory_peak() is False


def test_v2_without_memory_peak_cannot_reset(kernel, monkeypatch):
    kernel.mount_v2()
    mgr, _ = detect(kernel)
    cg = mgr.create(256 << 20, 32)
    (Path(cg.path) / "memory.peak").unlink()     # Linux < 5.19
    monkeypatch.setattr(_cgroup_v2, "kernel_version", lambda: (6, 12))
    assert cg.reset_memory_peak() is False and cg.memory_peak() is None
    cg.destroy()


def test_v2_kill_uses_cgroup_kill_else_signals(kernel, sleeper):
    kernel.mount_v2()
    mgr, _ = detect(kernel)
    cg = mgr.create(256 << 20, 32)
    d = Path(cg.path)
    (d / "cgroup.procs").write_text(str(sleeper.pid))
    cg.kill()
    assert text(d, "cgroup.kill") == "1" and sleeper.poll() is None
    (d / "cgroup.kill").unlink()                 # Linux < 5.14
    cg.kill()
    assert sleeper.wait(timeout=10) == -signal.SIGKILL


def test_v2_busy_cgroup_is_removed_later(kernel):
    kernel.mount_v2()
    mgr, _ = detect(kernel)
    cg = mgr.create(256 << 20, 32)
    d = Path(cg.path)
    (d / "cgroup.threads").write_text(f"{DEAD_PID}\n")
    (d / "cgroup.procs").write_text(f"{DEAD_PID}\n")   # a task still exiting
    assert cg.procs() == [DEAD_PID]
    assert cg.destroy(timeout=0) is False and d.exists()
    assert _cgroup_base._deferred == [cg]
    (d / "cgroup.procs").write_text("")
    mgr.create(256 << 20, 32).destroy()          # the next create retries first
    assert not d.exists() and _cgroup_base._deferred == []


def test_stale_cgroups_of_dead_graders_are_swept(kernel):
    base = kernel.mount_v2()
    for name in (f"proctor.{DEAD_PID}.3", f"proctor.{SELF}.9", "proctor.1.0", "other"):
        kernel.make_dir(str(base / name))
    detect(kernel)
    left = sorted(p.name for p in base.iterdir() if p.is_dir())
    assert left == ["other", "proctor.1.0", f"proctor.{SELF}.9"]


def test_sandboxed_process_reports_v2_counters(kernel, sleeper, monkeypatch):
    kernel.mount_v2()
    mgr, _ = detect(kernel)
    spec = SandboxSpec(ro_binds=[], env={}, limits=Limits(memory_bytes=256 << 20, nproc=32))
    cg = mgr.create(spec.limits.memory_bytes, spec.limits.nproc)
    d = Path(cg.path)
    (d / "memory.peak").write_text(f"{300 << 20}\n")
    (d / "memory.current").write_text(f"{40 << 20}\n")
    proc = SandboxedProcess(sleeper, spec=spec, unsafe=True, slot=None, cgroup=cg,
                            cleanup_dirs=[])
    monkeypatch.setattr(_cgroup_v2, "kernel_version", lambda: (6, 11))
    assert proc.reset_peak_memory() is None
    with pytest.raises(ValueError, match="no resettable memory cgroup"):
        PeakMeter(types.SimpleNamespace(proc=proc), "cgroup")
    assert PeakMeter(types.SimpleNamespace(proc=proc), "auto").source == "proc"
    monkeypatch.setattr(_cgroup_v2, "kernel_version", lambda: (6, 12))
    meter = PeakMeter(types.SimpleNamespace(proc=proc), "auto")
    assert meter.source == "cgroup"
    assert meter.reset() == 40 << 20
    (d / "memory.peak").write_text(f"{90 << 20}\n")
    assert meter.peak() == proc.peak_memory_bytes() == 90 << 20
    assert proc.limit_hit() is None
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n")
    (d / "cpu.stat").write_text("usage_usec 2500000\n")
    assert proc.limit_hit() == "memory limit 256 MiB exceeded"
    assert proc.cpu_seconds() == 2.5
    proc.kill()
    assert proc.returncode == -signal.SIGKILL and text(d.parent, "cgroup.procs") == ""
    assert not d.exists()                        # removed, counters kept
    assert proc.peak_memory_bytes() == 90 << 20 and proc.cpu_seconds() == 2.5
    assert proc.limit_hit() == "memory limit 256 MiB exceeded"
    assert proc.reset_peak_memory() is None


# --- cgroup v1 ---------------------------------------------------------------------------

def mount_all_v1(kernel: FakeKernel) -> dict[str, Path]:
    return {c: kernel.mount_v1(c, n=i) for i, c in enumerate(
        ("memory", "pids", "cpuacct", "cpuset"), start=2)}


def test_v1_detection_finds_each_hierarchy(kernel):
    dirs = mount_all_v1(kernel)
    mgr, why = detect(kernel)
    assert why == "" and mgr.version == "v1"
    assert mgr.bases == {c: str(d) for c, d in dirs.items()}
    assert mgr.features == ["memory", "memory+swap", "pids", "cpu-accounting", "cpuset"]
    assert mgr.note.startswith("cgroup v1: memory=")


def test_v1_detection_in_a_cgroup_namespace(kernel):
    # the mount shows only the subtree /lxc/c1; we are in /lxc/c1/grader
    d = kernel.mount_v1("memory", own="/lxc/c1/grader", mount_root="/lxc/c1")
    mgr, _ = detect(kernel)
    assert mgr.bases == {"memory": str(d)} and d == kernel.root / "memory" / "grader"
    assert mgr.features == ["memory", "memory+swap"]


def test_v1_is_preferred_unless_v2_is_forced(kernel, monkeypatch):
    mount_all_v1(kernel)
    kernel.mount_v2()
    assert detect(kernel)[0].version == "v1"
    monkeypatch.setenv("PROCTOR_CGROUP", "v2")
    assert detect(kernel)[0].version == "v2"
    monkeypatch.setenv("PROCTOR_CGROUP", "none")
    assert detect(kernel) == (None, "cgroups disabled by PROCTOR_CGROUP=none")


def test_v1_cgroup_gets_the_limits(kernel):
    dirs = mount_all_v1(kernel)
    mgr, _ = detect(kernel)
    cg = mgr.create(256 << 20, 32, cpu=1)
    assert isinstance(cg, CgroupV1) and set(cg.dirs) == set(dirs)
    mem, cpuset = Path(cg.dirs["memory"]), Path(cg.dirs["cpuset"])
    assert cg.path == str(mem)
    assert text(mem, "memory.limit_in_bytes") == str(256 << 20)
    assert text(mem, "memory.memsw.limit_in_bytes") == str(256 << 20)
    assert text(Path(cg.dirs["pids"]), "pids.max") == "32"
    assert text(cpuset, "cpuset.cpus") == "1"
    assert text(cpuset, "cpuset.mems") == "0-1"      # inherited: needed to accept tasks
    assert len(cg.procs_files()) == 4 and cg.has_pids
    assert cg.destroy() and not any(Path(d).exists() for d in cg.dirs.values())
    assert "cpuset" not in mgr.create(256 << 20, 32).dirs   # not pinned: no cpuset
    cg = mgr.create(256 << 20, 32, cpu=(0,))                # loads on 0, then timed on 1
    cpuset = Path(cg.dirs["cpuset"])
    assert text(cpuset, "cpuset.cpus") == "0"
    assert cg.set_cpus(1) and text(cpuset, "cpuset.cpus") == "1"
    assert cg.destroy()
    cg = mgr.create(256 << 20, 32)
    assert not cg.set_cpus(1) and cg.destroy()                # no cpuset to move


def test_v1_counters_and_peak_reset(kernel):
    mount_all_v1(kernel)
    mgr, _ = detect(kernel)
    cg = mgr.create(256 << 20, 32)
    mem = Path(cg.dirs["memory"])
    (mem / "memory.max_usage_in_bytes").write_text("123456789\n")
    (mem / "memory.usage_in_bytes").write_text("4096\n")
    (mem / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    (Path(cg.dirs["cpuacct"]) / "cpuacct.usage").write_text("1500000000\n")
    (Path(cg.dirs["pids"]) / "pids.events").write_text("max 3\n")
    assert cg.memory_peak() == 123456789 and cg.memory_current() == 4096
    assert cg.oom_kills() == 2 and cg.cpu_seconds() == 1.5 and cg.pids_limit_hits() == 3
    assert cg.reset_memory_peak() is True
    assert text(mem, "memory.max_usage_in_bytes") == "0"
    cg.destroy()


def test_v1_without_memory_hierarchy(kernel, sleeper):
    kernel.mount_v1("pids")
    mgr, _ = detect(kernel)
    assert mgr.features == ["pids"]
    cg = mgr.create(256 << 20, 32)
    assert cg.memory_peak() is None and cg.oom_kills() == 0 and cg.cpu_seconds() is None
    assert cg.reset_memory_peak() is False
    (Path(cg.path) / "tasks").write_text(f"{sleeper.pid}\n")
    cg.kill()
    assert sleeper.wait(timeout=10) == -signal.SIGKILL


# --- nothing writable: rlimits only, and say so -------------------------------------------

def test_nothing_writable_degrades_with_the_reasons(kernel):
    mount_all_v1(kernel)
    base = kernel.mount_v2(enabled="cpuset memory pids")
    kernel.refuse_mkdir = True
    assert detect(kernel) == (None, "cgroup v1: no writable memory/pids hierarchy; "
                                    f"cgroup v2: {base} is not writable")
    kernel.refuse_subtree = True
    (base / "cgroup.subtree_control").write_text("\n")
    mgr, why = detect(kernel)
    assert mgr is None
    assert f"cgroup v2: cannot enable controllers in {base} (Permission denied)" in why


def test_v2_without_memory_and_pids_is_not_used_unless_forced(kernel, monkeypatch):
    base = kernel.mount_v2(controllers="cpu io")
    assert detect(kernel) == (None, "cgroup v1: no writable memory/pids hierarchy; "
                                    f"cgroup v2 at {base} has no memory/pids controller")
    monkeypatch.setenv("PROCTOR_CGROUP", "v2")
    mgr, _ = detect(kernel)
    assert mgr.features == ["cpu-accounting"]


def test_isolation_without_a_writable_cgroup_uses_rlimits_and_says_so(kernel, monkeypatch):
    base = kernel.mount_v2(enabled="cpuset memory pids")
    kernel.refuse_mkdir = True
    monkeypatch.setenv("PROCTOR_CGROUP", "v2")
    monkeypatch.setenv("PROCTOR_CGROUP_ROOT", str(base))
    monkeypatch.setattr(sandbox_runner, "_iso", sandbox_runner._iso)      # restored afterwards
    monkeypatch.setattr(sandbox_runner, "_cg_mgr", sandbox_runner._cg_mgr)
    iso = sandbox.isolation(refresh=True)
    assert iso["cgroup"] is None and sandbox_runner._cg_mgr is None
    assert iso["cgroup_note"] == f"cgroup v2: {base} is not writable"
    assert {"rlimit:cpu", "rlimit:data", "rlimit:nofile", "rlimit:fsize",
            "wall-backstop"} <= set(iso["limits"])
    assert not [x for x in iso["limits"] if x.startswith("cgroup:")]
    assert "tree-cpu-backstop" not in iso["limits"]
