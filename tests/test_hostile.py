"""The hostile-submission corpus, graded end to end inside the real sandbox.

Every folder of tests/hostile/ is one submission whose notebook carries one attack
(see its cell.py; tests/hostile/build.py makes the notebooks); intake attacks are zips
crafted here.  They are graded by two ``proctor grade`` runs (start-up is paid once per
run) against copies of the box_ops and connected_components exercises:

* **fast**: every item whose subject is not latency, with ``--jobs 2``.  The copy has
  no latency checks (measuring them is what costs time) and box_ops has short limits
  (15 s per notebook, 8 s per call) so that the timeouts cost little.
* **timed**: the latency attacks and the control, alone (``--jobs 1``), with box_ops'
  real limits and nms_latency kept.

Around the runs the test keeps watch on the host: TCP/UDP/unix listeners, decoy
processes (one holding a secret in its environment), a /proc scanner that records
every process of the grader's tree (the sandboxes and all they start), and digests of
every file a submission could want to change.  Each test then asserts one item's
verdict and that nothing got out.  The grader is started paused, so that its pid is
known to the cells that attack it.

Cells print ``HOSTILE <item>: ...`` lines (proof that the attack ran) and
``HOSTILE ESCAPED: ...`` if they get anything, in which case they also make box_ops
answers wrong, so that an escape shows in the grade too.  Items that would hurt the
host where a limit is missing (no cgroup, old bwrap) are not graded there.
Set PROCTOR_HOSTILE_KEEP=1 to keep the run's folder (/tmp/proctor-hostile-*) to debug.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import tree_digest, validate_report

from proctor import sandbox

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hostile import build  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "hostile"
ISO = sandbox.isolation()
if not ISO["available"]:
    pytest.skip(f"hostile corpus needs the real sandbox, unavailable here: {ISO['reason']}",
                allow_module_level=True)

TIME_LIMIT_S, CALL_TIMEOUT_S = 15, 8  # box_ops limits in the test library (60 s, 30 s real)
NPROC = sandbox.Limits().nproc
SANDBOX_UIDS = range(sandbox.UID_BASE, sandbox.UID_BASE + sandbox.MAX_SLOTS)
SEEDS = [(ROOT / "graders" / e / "seed.txt").read_text().strip()
         for e in ("box_ops", "connected_components")]
CORRECTNESS = ["iou_basic", "nms_basic", "batched_basic", "iou_random", "iou_zero_union",
               "nms_random", "nms_empty", "nms_ties", "nms_threshold_strict",
               "batched_classes", "batched_random"]
IOU = ["iou_basic", "iou_random", "iou_zero_union"]
NMS = ["nms_basic", "nms_random", "nms_ties", "nms_threshold_strict"]
BATCHED = ["batched_basic", "batched_classes", "batched_random"]
ZIP_WITH_CC = "zip_bad_json"  # the intake zip that also carries a correct connected_components
# items that would hurt the host where a limit is missing: not graded there, test skipped
LIMITS = set(ISO["limits"])
UNSAFE_HERE = {name: why for name, ok, why in [
    ("memory_bomb_cell", "cgroup:memory" in LIMITS, "no cgroup memory limit here"),
    ("fork_bomb", bool(LIMITS & {"cgroup:pids", "rlimit:nproc"}), "no process limit here"),
    ("thread_bomb", bool(LIMITS & {"cgroup:pids", "rlimit:nproc"}), "no process limit here"),
    ("disk_fill", "tmpfs-size" in LIMITS, "no tmpfs size limit here (bwrap < 0.7)"),
] if not ok}


def needs_limits(item: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(item in UNSAFE_HERE, reason=UNSAFE_HERE.get(item, ""))


# graded against the library that keeps nms_latency (alone: latency is their subject)
TIMED = ["control", "latency_patch_timers", "latency_patch_worker", "latency_memoise",
         "latency_fast_wrong", "latency_contention"]


# ------------------------------------------------------------------------- host watchers


class Listeners:
    """TCP (127.0.0.1 and ::1), UDP, unix-path and abstract-unix listeners that record
    whatever reaches them."""

    def __init__(self, mark: str) -> None:
        self.heard: list[str] = []
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.port = self.tcp.getsockname()[1]
        socks = [("tcp", self.tcp)]
        try:
            socks.append(("tcp6", socket.create_server(("::1", self.port),
                                                       family=socket.AF_INET6)))
        except OSError:
            pass
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp_port = self.udp.getsockname()[1]
        self.unix_path = f"/tmp/{mark}.sock"
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix.bind(self.unix_path)
        os.chmod(self.unix_path, 0o777)  # only the sandbox, not permissions, may keep it out
        unix.listen()
        self.abstract = f"{mark}-abstract"
        abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        abstract.bind("\0" + self.abstract)
        abstract.listen()
        socks += [("unix", unix), ("abstract", abstract)]
        self.socks = [s for _, s in socks] + [self.udp]
        self._stop = threading.Event()
        for name, s in socks:
            threading.Thread(target=self._accept, args=(name, s), daemon=True).start()
        threading.Thread(target=self._recv, daemon=True).start()

    def _accept(self, name: str, s: socket.socket) -> None:
        s.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = s.accept()
            except (TimeoutError, OSError):
                continue
            self.heard.append(f"{name} connection")
            conn.close()

    def _recv(self) -> None:
        self.udp.settimeout(0.2)
        while not self._stop.is_set():
            try:
                data, _ = self.udp.recvfrom(65536)
            except (TimeoutError, OSError):
                continue
            self.heard.append(f"udp {data[:40]!r}")

    def close(self) -> None:
        self._stop.set()
        time.sleep(0.3)
        for s in self.socks:
            s.close()
        Path(self.unix_path).unlink(missing_ok=True)


@dataclass(frozen=True)
class Proc:
    pid: int
    start: int  # clock ticks since boot: (pid, start) names one process, even if pids wrap
    uid: int
    depth: int  # below the grader (1 = its children); 0 = not its descendant
    cmdline: str


def _stat(pid: str) -> tuple[int, int] | None:
    """(ppid, starttime) of a live, non-zombie process, or None."""
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[1]), int(fields[19])


def _details(pid: int) -> tuple[int, int, str] | None:
    """(uid, threads, cmdline)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return (int(fields["Uid"].split()[0]), int(fields.get("Threads", "1")),
            cmdline.decode(errors="replace").strip())


class ProcessWatch:
    """Scans /proc while a grader runs: records every descendant of the grader (the
    sandboxes and everything they start, daemons included) and every process with the
    run's marker in its command line, and the most tasks any sandbox uid had."""

    def __init__(self, mark: str) -> None:
        self.mark = mark
        self.seen: dict[tuple[int, int], Proc] = {}
        self.max_tasks: dict[int, int] = {}
        self.grader: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, grader_pid: int) -> None:
        self.grader = grader_pid
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.scan(all_cmdlines=False)
            time.sleep(0.05)

    def scan(self, all_cmdlines: bool = True) -> list[Proc]:
        """Live processes of interest now (also recorded in ``seen``)."""
        stats = {int(p): st for p in os.listdir("/proc") if p.isdigit() and (st := _stat(p))}
        children: dict[int, list[int]] = {}
        for pid, (ppid, _) in stats.items():
            children.setdefault(ppid, []).append(pid)
        depth: dict[int, int] = {}
        todo = [(c, 1) for c in children.get(self.grader, [])] if self.grader else []
        while todo:
            pid, d = todo.pop()
            depth[pid] = d
            todo += [(c, d + 1) for c in children.get(pid, [])]
        now, tasks = [], {}
        for pid in stats if all_cmdlines else depth:
            info = _details(pid)
            if info is None:
                continue
            uid, threads, cmdline = info
            if pid in depth or self.mark in cmdline:
                proc = Proc(pid, stats[pid][1], uid, depth.get(pid, 0), cmdline)
                now.append(proc)
                self.seen[(pid, proc.start)] = proc
                if pid in depth:
                    tasks[uid] = tasks.get(uid, 0) + threads
        for uid, n in tasks.items():
            self.max_tasks[uid] = max(self.max_tasks.get(uid, 0), n)
        return now

    def survivors(self) -> list[Proc]:
        """Processes seen during grading (or carrying the marker) that are still alive."""
        alive = self.scan(all_cmdlines=True)
        return [p for p in alive if self.mark in p.cmdline] + [
            p for (pid, start), p in self.seen.items()
            if _stat(str(pid)) is not None and _stat(str(pid))[1] == start
            and self.mark not in p.cmdline]


# ------------------------------------------------------------------------- libraries


def _strip_latency(lib: Path, ex_id: str, keep: tuple[str, ...] = ()) -> None:
    """Drop the latency checks of ``ex_id`` (but ``keep``) from the copied library and
    fix its points, so that only runs whose subject is latency pay for measuring it."""
    from proctor.checks import load_checks

    hidden = lib / "graders" / ex_id / "checks.py"
    drop = [d.id for d in load_checks(hidden, hidden=True)
            if d.kind == "latency" and d.id not in keep]
    hidden.write_text(hidden.read_text() + f"\n\ndel {', '.join(drop)}\n")
    public = lib / "exercises" / ex_id / "checks.py"
    points = sum(d.points for d in load_checks(hidden, hidden=True) + load_checks(public, False))
    _set_toml(lib / "exercises" / ex_id / "exercise.toml", "points", f"{points:g}")


def _set_toml(path: Path, key: str, value: str) -> None:
    text, n = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", path.read_text())
    assert n == 1, f"{path} no longer has one '{key} = ...' line"
    path.write_text(text)


def _write_lib(lib: Path, fast: bool) -> None:
    """A copy of the two algorithm exercises.  ``fast``: no latency checks, and box_ops
    gets short time limits so that the timeouts cost little.  Else only nms_latency."""
    for ex_id in ("box_ops", "connected_components"):
        shutil.copytree(ROOT / "exercises" / ex_id, lib / "exercises" / ex_id)
        shutil.copytree(ROOT / "graders" / ex_id, lib / "graders" / ex_id)
        shutil.copytree(ROOT / "reference_solutions" / ex_id / "accepted",
                        lib / "reference_solutions" / ex_id / "accepted")
    if fast:
        _strip_latency(lib, "box_ops")
        _strip_latency(lib, "connected_components")
        toml = lib / "exercises" / "box_ops" / "exercise.toml"
        _set_toml(toml, "time_limit_s", str(TIME_LIMIT_S))
        _set_toml(toml, "call_timeout_s", str(CALL_TIMEOUT_S))
    else:
        _strip_latency(lib, "box_ops", keep=("nms_latency",))


# ------------------------------------------------------------------------- submissions


def _notebook(ex_id: str, solution: str) -> str:
    """The starter notebook of ``ex_id`` with ``solution`` in its starter cell."""
    nb = json.loads((ROOT / "notebooks" / f"{ex_id}.ipynb").read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and "NotImplementedError" in "".join(cell["source"]):
            cell["source"] = solution
    return json.dumps(nb)


def _good_cc_notebook() -> str:
    ref = (ROOT / "reference_solutions" / "connected_components" / "accepted" / "reference.py")
    return _notebook("connected_components", ref.read_text())


def _copy_corpus(subs: Path, values: dict[str, str]) -> None:
    for item in build.items():
        dest = subs / item / "notebooks"
        dest.mkdir(parents=True)
        text = build.target(item).read_text().replace("@@SUB@@", str(subs / item))
        for key, value in values.items():
            text = text.replace(f"@@{key}@@", value)
        left = set(re.findall(r"@@[A-Z_]+@@", text))
        assert not left, f"{item}: placeholders without a value: {left}"
        (dest / "box_ops.ipynb").write_text(text)
    # the memory bomb's submission also has a correct connected_components notebook
    (subs / "memory_bomb_cell" / "notebooks" / "connected_components.ipynb").write_text(
        _good_cc_notebook())
    # the artifact dir of this one is a symlink to the hidden graders of the library
    os.symlink(values["LIB"] + "/graders", subs / "symlinked_artifacts" / "artifacts")
    # a folder whose notebooks/ is a symlink to another candidate's
    (subs / "symlinked_notebooks").mkdir()
    os.symlink(subs / "control" / "notebooks", subs / "symlinked_notebooks" / "notebooks")


def _zip(path: Path, entries: list[tuple[zipfile.ZipInfo | str, bytes | str]],
         compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for info, data in entries:
            zf.writestr(info, data)
    return path


def _info(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # unix, so that external_attr holds a st_mode
    info.external_attr = mode << 16
    return info


def _make_zips(zips: Path, lib: Path, mark: str) -> dict[str, str]:
    """Crafted submissions; returns name -> the entry name that must survive in it."""
    good = (CORPUS / "control" / "notebooks" / "box_ops.ipynb").read_text()
    nb = "notebooks/box_ops.ipynb"
    slip = "../" * 12 + f"tmp/{mark}-slip"
    _zip(zips / "zip_slip.zip", [(nb, good), (slip, "HOSTILE")])
    _zip(zips / "zip_absolute.zip", [(nb, good), (f"/tmp/{mark}-absolute", "HOSTILE")])
    _zip(zips / "zip_symlink.zip", [
        (_info(nb, stat.S_IFLNK | 0o777), str(lib / "graders" / "box_ops" / "checks.py"))])
    _zip(zips / "zip_device.zip", [(nb, good), (_info("dev/null", stat.S_IFCHR | 0o666), "")])
    _zip(zips / "zip_many_entries.zip",
         [(nb, good)] + [(f"pad/{i}.txt", "") for i in range(2500)])
    _zip(zips / "zip_bomb.zip", [(nb, good), ("data/zeros.bin", bytes(64 << 20))])
    _zip(zips / "zip_entry_conflict.zip", [("notebooks", "a file"), (nb, good)])
    # a good zip, then a few bytes of the notebook's compressed data flipped
    corrupt = _zip(zips / "zip_corrupt.zip", [(nb, good)])
    data = bytearray(corrupt.read_bytes())
    with zipfile.ZipFile(corrupt) as zf:
        info = zf.getinfo(nb)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 100, start + 110):
        data[i] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    (zips / "zip_not_a_zip.zip").write_bytes(b"PK\x03\x04" + secrets.token_bytes(4000))
    big = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "id": "big", "metadata": {},
         "source": secrets.token_hex(25 << 20)}]})
    _zip(zips / "zip_big_notebook.zip", [(nb, big)], zipfile.ZIP_STORED)
    _zip(zips / f"{ZIP_WITH_CC}.zip", [(nb, good[: len(good) // 2]),
                                       ("notebooks/connected_components.ipynb",
                                        _good_cc_notebook())])
    _zip(zips / "zip_not_nbformat.zip", [(nb, json.dumps({"cells": 42, "hello": "world"}))])
    _zip(zips / "zip_json_bomb.zip", [(nb, "[" * 200_000 + "]" * 200_000)], zipfile.ZIP_STORED)
    return {"zip_slip": slip, "zip_absolute": f"/tmp/{mark}-absolute"}


# ------------------------------------------------------------------------- the run


@dataclass
class Run:
    base: Path
    mark: str
    token: str
    libs: dict[str, Path]
    subs: Path
    zips: Path
    out: Path
    markers: Path
    listeners: Listeners
    watch: ProcessWatch
    decoys: dict[str, subprocess.Popen]
    rc: dict[str, int] = field(default_factory=dict)
    log: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    reports: dict[str, dict] = field(default_factory=dict)
    survivors: dict[str, list[Proc]] = field(default_factory=dict)
    before: dict[str, object] = field(default_factory=dict)
    after: dict[str, object] = field(default_factory=dict)

    def report(self, name: str) -> dict:
        assert name in self.reports, f"no report for {name}: {self.log}"
        return self.reports[name]

    def exercise(self, name: str, ex_id: str = "box_ops") -> dict:
        (ex,) = [e for e in self.report(name)["exercises"] if e["id"] == ex_id]
        return ex

    def checks(self, name: str, ex_id: str = "box_ops") -> dict[str, dict]:
        return {c["id"]: c for c in self.exercise(name, ex_id)["checks"]}

    def output(self, name: str) -> str:
        return self.exercise(name)["output"]

    def launch(self, run: str, submissions: list[Path], jobs: int) -> subprocess.Popen:
        """Start `proctor grade` of ``submissions`` against library ``run``, paused in a
        wrapper that execs the grader (same pid) on ``finish``: so the grader's pid is
        known, and given to the hostile cells, before grading starts."""
        env = {**os.environ, "PROCTOR_HOSTILE_SECRET": self.token}
        env.pop("PROCTOR_ROOT", None)
        wrapper = "import os, sys; sys.stdin.readline(); os.execv(sys.argv[1], sys.argv[1:])"
        cmd = [sys.executable, "-c", wrapper, sys.executable, "-m", "proctor",
               "--root", str(self.libs[run]), "grade", *map(str, submissions),
               "--out", str(self.out / run), "--exercise", "box_ops",
               "--exercise", "connected_components", "--jobs", str(jobs)]
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def finish(self, run: str, proc: subprocess.Popen, submissions: list[Path]) -> None:
        """Let a launched grader go, watch it to the end, collect its reports."""
        t0 = time.monotonic()
        self.watch.start(proc.pid)
        try:
            self.log[run] = proc.communicate("go\n", timeout=900)[0]
        finally:
            proc.kill()
            proc.wait()
            self.watch.stop()
        self.rc[run] = proc.returncode
        self.seconds[run] = time.monotonic() - t0
        time.sleep(0.3)
        self.survivors[run] = self.watch.survivors()
        for p in submissions:
            name = p.stem if p.suffix == ".zip" else p.name
            path = self.out / run / name / "report.json"
            if path.is_file():
                self.reports[name] = json.loads(path.read_text())


def _decoy(env: dict[str, str], uid: int | None = None) -> subprocess.Popen:
    def drop() -> None:
        if uid is not None:
            os.setgid(uid)
            os.setuid(uid)
    return subprocess.Popen(["sleep", "900"], env=env, preexec_fn=drop,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _site_packages() -> Path:
    import sysconfig

    return Path(sysconfig.get_paths()["purelib"])


def _marked_files(r: Run) -> list[str]:
    """Files named with the run's marker in the repo, the venv and the host's /tmp (top
    level: a sandbox could only create it there), other than the test's own socket."""
    found = [str(p) for p in Path("/tmp").iterdir() if r.mark in p.name]
    for root in (ROOT, _site_packages()):
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in (".venv", ".git")]
            found += [os.path.join(dirpath, n) for n in dirnames + filenames if r.mark in n]
    return sorted(set(found) - {r.listeners.unix_path})


def _snapshot(r: Run) -> dict[str, object]:
    return {
        "submissions": tree_digest(r.subs),
        "zips": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in r.zips.iterdir()},
        "libraries": {k: tree_digest(v) for k, v in r.libs.items()},
        "site-packages": sorted(os.listdir(_site_packages())),
        "tmp-sandbox-owned": sorted(
            p.name for p in Path("/tmp").iterdir()
            if ISO["root"] and p.lstat().st_uid in SANDBOX_UIDS),
        "markers": sorted(os.listdir(r.markers)),
    }


@pytest.fixture(scope="module")
def run() -> Run:
    mark = f"proctorhostile{secrets.token_hex(4)}"
    token = f"hostile-secret-{secrets.token_hex(16)}"
    base = Path(tempfile.mkdtemp(prefix="proctor-hostile-", dir="/tmp"))
    os.chmod(base, 0o755)  # world-traversable: only the sandbox may keep candidates out
    subs, zips, out, markers = (base / n for n in ("subs", "zips", "out", "markers"))
    for d in (subs, zips, out, markers):
        d.mkdir()
        os.chmod(d, 0o777)
    libs = {"fast": base / "lib-fast", "timed": base / "lib-timed"}
    for name, lib in libs.items():
        _write_lib(lib, fast=name == "fast")
    secret = base / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text(token + "\n")
    os.chmod(secret, 0o644)

    listeners = Listeners(mark)
    decoy_env = {"PATH": "/usr/bin:/bin", "PROCTOR_HOSTILE_SECRET": token}
    decoys = {"root": _decoy(decoy_env)}  # "root": the grader's own uid
    decoys["nobody"] = _decoy(decoy_env, uid=65534) if os.geteuid() == 0 else decoys["root"]
    values = {"REPO": str(ROOT), "LIB": str(libs["fast"]), "OUT": str(out),
              "OTHER": str(subs / "control"), "SECRET": str(secret), "MARKERS": str(markers),
              "MARK": mark, "PORT": str(listeners.port), "UDP_PORT": str(listeners.udp_port),
              "UNIX": listeners.unix_path, "ABSTRACT": listeners.abstract,
              "DECOY_PID": str(decoys["root"].pid), "NOBODY_PID": str(decoys["nobody"].pid)}
    r = Run(base, mark, token, libs, subs, zips, out, markers, listeners,
            ProcessWatch(mark), decoys)
    timed = [subs / n for n in TIMED]
    fast = sorted({subs / n for n in build.items() + ["symlinked_notebooks"]}
                  - set(timed) - {subs / n for n in UNSAFE_HERE}) \
        + [zips / f"{n}.zip" for n in sorted(INTAKE) + sorted(NOTEBOOK_INTAKE)]
    grader = r.launch("fast", fast, jobs=2)
    try:
        _copy_corpus(subs, {**values, "GRADER_PID": str(grader.pid)})
        crafted = _make_zips(zips, libs["fast"], mark)
        for name, entry in crafted.items():  # zipfile kept the hostile entry names as crafted
            assert entry in zipfile.ZipFile(zips / f"{name}.zip").namelist()
        assert sorted(zips.iterdir()) == sorted(p for p in fast if p.suffix == ".zip")
        r.before = _snapshot(r)
        r.finish("fast", grader, fast)
        # alone, and after the rest: latency is the subject here
        r.finish("timed", r.launch("timed", timed, jobs=1), timed)
        r.after = _snapshot(r)
        yield r
    finally:
        grader.kill()
        listeners.close()
        for d in decoys.values():
            d.kill()
            d.wait()
        if not os.environ.get("PROCTOR_HOSTILE_KEEP"):  # keep it to debug a failure
            shutil.rmtree(base, ignore_errors=True)


# ------------------------------------------------------------------------- helpers


def assert_statuses(r: Run, name: str, ids: list[str], statuses: set[str],
                    says: str | None = None) -> None:
    checks = r.checks(name)
    for cid in ids:
        c = checks[cid]
        assert c["status"] in statuses, f"{name}: {cid} is {c['status']}: {c['message']}"
        if says is not None:
            assert says.lower() in c["message"].lower(), f"{name}: {cid}: {c['message']!r}"


def assert_correct(r: Run, name: str, ids: list[str] = CORRECTNESS) -> None:
    assert_statuses(r, name, ids, {"pass"})


def assert_ran(r: Run, name: str, proof: str) -> None:
    out = r.output(name)
    ex = r.exercise(name)
    assert proof in out, (
        f"{name}: attack did not report running ({proof!r}); the exercise was "
        f"{ex['status']} ({ex.get('message')!r}; checks: "
        f"{ {c['id']: c['status'] for c in ex['checks']} }), cell errors "
        f"{ex.get('cell_errors')}, output:\n{out[-2000:]}")
    assert "HOSTILE ESCAPED" not in out, out


# ------------------------------------------------------------------------- whole run


def test_corpus_notebooks_are_fresh():
    assert build.stale() == [], "run: python tests/hostile/build.py"


def test_grading_completed_with_a_report_per_submission(run):
    assert run.rc == {"fast": 0, "timed": 0}, run.log
    expected = set(build.items()) - set(UNSAFE_HERE) | {"symlinked_notebooks"} \
        | {p.stem for p in run.zips.iterdir()}
    assert set(run.reports) == expected
    for report in run.reports.values():
        validate_report(report)
        assert report["environment"]["unsafe_no_sandbox"] is False
    print(f"\nhostile corpus: {len(run.reports)} submissions graded in "
          + ", ".join(f"{k} {v:.0f} s" for k, v in run.seconds.items()))


def test_control_gets_full_marks(run):
    assert_ran(run, "control", "HOSTILE control: ran")
    assert_correct(run, "control")
    assert_statuses(run, "control", ["nms_latency"], {"pass", "inconclusive"})
    assert run.exercise("control", "connected_components")["status"] == "missing"


def test_no_secret_or_hidden_byte_in_any_report(run):
    hidden = [run.token, "def clustered_boxes", *SEEDS]
    for path in run.out.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            for needle in hidden:
                assert needle not in text, f"{needle!r} leaked into {path}"


def test_no_sandbox_process_survives_grading(run):
    assert run.survivors == {"fast": [], "timed": []}


def test_sandboxed_processes_ran_unprivileged(run):
    sandboxed = [p for p in run.watch.seen.values()
                 if p.depth >= 2 or "--unshare-all" in p.cmdline or run.mark in p.cmdline]
    assert len(sandboxed) > 40, "the process watch saw too few sandboxed processes"
    assert [p for p in sandboxed if p.uid == 0] == []
    if ISO["root"]:
        assert all(p.uid in SANDBOX_UIDS for p in sandboxed)


def test_files_outside_the_sandbox_unchanged(run):
    for key in run.before:
        assert run.after[key] == run.before[key], f"{key} changed during grading"
    assert run.after["markers"] == []
    assert _marked_files(run) == []


def test_output_dir_holds_only_reports(run):
    assert {p.name for p in run.out.iterdir()} == {"fast", "timed"}
    names = {p.name for p in (run.out / "fast").iterdir()} | \
        {p.name for p in (run.out / "timed").iterdir()}
    pages = {"summary.json", "summary.csv", "index.html", "similarity.html"}
    assert names == set(run.reports) | pages
    for path in run.out.glob("*/*/"):
        assert {p.name for p in path.iterdir()} == {"report.json", "report.html"}


def test_listeners_heard_nothing(run):
    assert run.listeners.heard == []


def test_decoy_processes_survived(run):
    assert all(d.poll() is None for d in run.decoys.values())


# ------------------------------------------------------------------------- reading


def test_read_hidden(run):
    assert_ran(run, "read_hidden", "HOSTILE read_hidden: done")
    assert_correct(run, "read_hidden")
    out = run.output("read_hidden")
    assert "PROCTOR_HOSTILE_SECRET" not in out and run.token not in out


def test_symlinked_artifacts_dir_is_refused(run):
    assert_ran(run, "symlinked_artifacts", "HOSTILE symlinked_artifacts: done")
    assert_correct(run, "symlinked_artifacts")
    problems = " ".join(run.report("symlinked_artifacts")["problems"])
    assert "artifacts" in problems and "symlink" in problems


def test_symlinked_notebooks_dir_is_refused(run):
    ex = run.exercise("symlinked_notebooks")
    assert ex["status"] == "missing" and ex["score"] == 0
    problems = " ".join(run.report("symlinked_notebooks")["problems"])
    assert "notebooks" in problems and "symlink" in problems


# ------------------------------------------------------------------------- network


def test_network(run):
    assert_ran(run, "network", "HOSTILE network: done")
    assert_correct(run, "network")
    out = run.output("network")
    for attempt in ("tcp 127.0.0.1", "tcp ::1", "tcp 1.1.1.1:53", "udp 127.0.0.1",
                    "udp 1.1.1.1:53", "dns example.com", f"unix {run.listeners.unix_path}",
                    "unix abstract", "raw packet socket"):
        assert f"HOSTILE network {attempt}: blocked" in out, attempt
    assert "HOSTILE network interfaces: ['lo']" in out
    assert run.listeners.heard == []


# ------------------------------------------------------------------------- surviving


def test_daemons_die_with_the_worker(run):
    assert_ran(run, "daemon", "HOSTILE daemon: started")
    assert_correct(run, "daemon")
    ticks = int(re.search(r"HOSTILE daemon: started, (\d+) ticks", run.output("daemon"))[1])
    assert ticks > 0, "the daemon never ran"
    daemons = {p.cmdline.split()[-1]: p for p in run.watch.seen.values()
               if run.mark in p.cmdline}
    assert {f"{run.mark}-daemon-py", f"{run.mark}-daemon-sh"} <= set(daemons), daemons
    assert all(p.uid != 0 and p.depth >= 2 for p in daemons.values()), daemons
    assert not any(run.mark in p.cmdline for p in run.survivors["fast"])
    assert not (run.markers / "daemon-alive").exists()


# ------------------------------------------------------------------------- tampering


def test_tamper(run):
    assert_ran(run, "tamper", "HOSTILE tamper: done")
    assert_correct(run, "tamper")
    out = run.output("tamper")
    assert out.count("HOSTILE tamper ") == 18 and out.count(": blocked (") == 18
    assert not Path(f"/tmp/{run.mark}-tamper").exists()
    assert not (ROOT / f"evil-{run.mark}.txt").exists()
    assert (ROOT / "src" / "proctor" / "__init__.py").stat().st_mtime > 0
    assert "sitecustomize.py" not in run.after["site-packages"] or \
        "sitecustomize.py" in run.before["site-packages"]


# ------------------------------------------------------------------------- latency


def test_frozen_clocks_do_not_hide_a_quadratic_nms(run):
    assert_ran(run, "latency_patch_timers", "HOSTILE latency_patch_timers: clocks frozen")
    assert_correct(run, "latency_patch_timers")
    assert_statuses(run, "latency_patch_timers", ["nms_latency"], {"fail"},
                    says="over the 3x budget")


def test_patched_worker_cannot_precompute(run):
    assert_ran(run, "latency_patch_worker", "HOSTILE latency_patch_worker: patched")
    assert_correct(run, "latency_patch_worker")
    assert_statuses(run, "latency_patch_worker", ["nms_latency"], {"fail"},
                    says="over the 3x budget")


def test_memoising_does_not_help(run):
    assert_ran(run, "latency_memoise", "HOSTILE latency_memoise")
    assert_correct(run, "latency_memoise")
    assert_statuses(run, "latency_memoise", ["nms_latency"], {"fail"}, says="over the 3x budget")


def test_fast_wrong_answers_fail_latency(run):
    assert_ran(run, "latency_fast_wrong", "HOSTILE latency_fast_wrong")
    assert_correct(run, "latency_fast_wrong")
    assert_statuses(run, "latency_fast_wrong", ["nms_latency"], {"fail"},
                    says="wrong result during timing")


def test_stealing_the_references_core_does_not_help(run):
    assert_ran(run, "latency_contention", "HOSTILE latency_contention: 8 spinners")
    assert_correct(run, "latency_contention")
    assert_statuses(run, "latency_contention", ["nms_latency"], {"fail"},
                    says="over the 3x budget")


# ------------------------------------------------------------------------- lying results


@pytest.mark.parametrize("name", ["lies_objects", "lies_subclasses"])
def test_lying_results_fail(run, name):
    assert_ran(run, name, f"HOSTILE {name}")
    assert_statuses(run, name, IOU + NMS + BATCHED + ["nms_empty"], {"fail"})
    assert not (run.markers / "reduce-ran").exists()


# ------------------------------------------------------------------------- bombs


def test_memory_bomb_in_a_call(run):
    assert_ran(run, "memory_bomb_call", "HOSTILE memory_bomb_call")
    assert_statuses(run, "memory_bomb_call", IOU, {"fail", "error"}, says="memory")
    assert_correct(run, "memory_bomb_call", NMS + BATCHED)


@needs_limits("memory_bomb_cell")
def test_memory_bomb_in_a_cell_costs_only_its_exercise(run):
    ex = run.exercise("memory_bomb_cell")
    assert "memory limit" in ex["message"], ex["message"]
    assert_statuses(run, "memory_bomb_cell", CORRECTNESS, {"error"}, says="memory limit")
    assert "HOSTILE ESCAPED" not in ex["output"]
    cc = run.exercise("memory_bomb_cell", "connected_components")
    assert cc["status"] == "graded"
    assert all(c["status"] in ("pass", "inconclusive") for c in cc["checks"]), cc["checks"]


def test_cpu_spin_in_a_cell_times_out(run):
    assert_statuses(run, "cpu_spin_cell", CORRECTNESS, {"timeout"},
                    says=f"{TIME_LIMIT_S} s limit")
    assert "notebook did not finish" in run.exercise("cpu_spin_cell")["message"]


def test_spinning_call_ignoring_signals_times_out_alone(run):
    assert_ran(run, "spin_call_ignore_signals", "HOSTILE spin_call_ignore_signals")
    assert_statuses(run, "spin_call_ignore_signals", ["iou_basic"], {"timeout"},
                    says=f"{CALL_TIMEOUT_S} s")
    assert_correct(run, "spin_call_ignore_signals", [c for c in CORRECTNESS if c != "iou_basic"])


@needs_limits("fork_bomb")
def test_fork_bomb_is_contained(run):
    assert_ran(run, "fork_bomb", "HOSTILE fork_bomb: fork refused")
    assert "Resource temporarily unavailable" in run.output("fork_bomb")
    assert_correct(run, "fork_bomb")
    assert run.watch.max_tasks and max(run.watch.max_tasks.values()) <= NPROC, \
        run.watch.max_tasks


@needs_limits("thread_bomb")
def test_thread_bomb_is_contained(run):
    assert_ran(run, "thread_bomb", "HOSTILE thread_bomb: started")
    started = int(re.search(r"thread_bomb: started (\d+)", run.output("thread_bomb"))[1])
    assert started < NPROC
    errors = run.exercise("thread_bomb")["cell_errors"]
    assert any("can't start new thread" in e["message"] for e in errors), errors
    assert_correct(run, "thread_bomb")


def test_stdout_flood_is_capped(run):
    assert_ran(run, "stdout_flood", "HOSTILE stdout_flood: wrote 2 GiB")
    assert_correct(run, "stdout_flood")
    assert len(run.output("stdout_flood")) <= 8000
    assert (run.out / "fast" / "stdout_flood" / "report.json").stat().st_size < 1 << 20


@needs_limits("disk_fill")
def test_disk_fill_stops_at_the_limits(run):
    out = run.output("disk_fill")
    assert_ran(run, "disk_fill", "HOSTILE disk_fill /dev/shm")
    for where in ("/scratch", "/tmp", "/dev/shm"):
        m = re.search(rf"HOSTILE disk_fill {where}: (\d+) MiB; (.*)", out)
        assert m, out[-2000:]
        assert int(m[1]) <= (sandbox.Limits().scratch_bytes >> 20) + 1, m[0]
        assert "File too large" in m[2] and "No space left on device" in m[2], m[0]
    assert_correct(run, "disk_fill")


# ------------------------------------------------------------------------- killing, exiting


def test_killing_the_parent_hurts_nobody(run):
    assert_ran(run, "kill_parent", "HOSTILE kill_parent: still alive")
    assert "HOSTILE kill_parent: kill -9 -1" in run.output("kill_parent")
    assert_correct(run, "kill_parent")
    assert all(d.poll() is None for d in run.decoys.values())


def test_os_exit_in_a_cell(run):
    assert_statuses(run, "early_exit_cell", CORRECTNESS, {"error"}, says="exited with code 0")


def test_exits_in_calls(run):
    assert_ran(run, "exit_in_call", "HOSTILE exit_in_call: armed")
    assert_statuses(run, "exit_in_call", IOU, {"fail"}, says="SystemExit")
    assert_statuses(run, "exit_in_call", ["nms_basic"], {"error"}, says="exited with code 7")
    assert_statuses(run, "exit_in_call", ["batched_basic"], {"fail", "error"},
                    says="KeyboardInterrupt")
    assert_correct(run, "exit_in_call", [c for c in NMS + BATCHED if not c.endswith("_basic")])


def test_segfault_in_a_cell(run):
    assert_statuses(run, "segfault_cell", CORRECTNESS, {"error"}, says="SIGSEGV")


def test_keyboard_interrupt_in_a_cell_is_a_cell_error(run):
    assert_ran(run, "keyboard_interrupt_cell", "HOSTILE keyboard_interrupt_cell: raising")
    errors = run.exercise("keyboard_interrupt_cell")["cell_errors"]
    assert [e["type"] for e in errors] == ["KeyboardInterrupt"], errors
    assert_correct(run, "keyboard_interrupt_cell")


def test_forged_frames_break_the_channel_not_the_grader(run):
    checks = run.checks("forged_frames")
    assert all(c["status"] in ("fail", "error") for c in checks.values()), checks
    messages = " ".join(c["message"] for c in checks.values())
    assert "malformed" in messages or "neither" in messages, messages


# ------------------------------------------------------------------------- intake


INTAKE = {
    "zip_slip": "'..'",
    "zip_absolute": "absolute path",
    "zip_symlink": "symlink",
    "zip_device": "not a regular file",
    "zip_many_entries": "entries exceeds the cap",
    "zip_bomb": "zip bomb",
    "zip_corrupt": "unreadable zip entry",
    "zip_entry_conflict": "unreadable zip entry",
    "zip_not_a_zip": "not a readable zip",
}
NOTEBOOK_INTAKE = {
    "zip_big_notebook": "byte cap",
    ZIP_WITH_CC: "JSON",
    "zip_not_nbformat": "invalid notebook",
    "zip_json_bomb": "notebook",
}


@pytest.mark.parametrize("name", sorted(INTAKE))
def test_bad_zip_is_refused_with_a_reason(run, name):
    report = run.report(name)
    assert any(INTAKE[name] in p for p in report["problems"]), report["problems"]
    for ex in report["exercises"]:
        assert ex["status"] == "error" and INTAKE[name] in ex["message"], ex
    assert not Path(f"/tmp/{run.mark}-slip").exists()
    assert not Path(f"/tmp/{run.mark}-absolute").exists()


@pytest.mark.parametrize("name", sorted(NOTEBOOK_INTAKE))
def test_bad_notebook_is_an_exercise_error(run, name):
    ex = run.exercise(name)
    assert ex["status"] == "error" and NOTEBOOK_INTAKE[name] in ex["message"], ex
    assert ex["checks"] == []
    cc = run.exercise(name, "connected_components")
    if name == ZIP_WITH_CC:  # the rest of the submission is still graded
        assert cc["status"] == "graded"
        assert all(c["status"] in ("pass", "inconclusive") for c in cc["checks"]), cc["checks"]
    else:
        assert cc["status"] == "missing"
