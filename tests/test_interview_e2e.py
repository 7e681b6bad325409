"""One interview stage end to end, through the candidate image's entrypoint script with a
fake clock (no Docker engine): bundle the screen plan → the candidate's first start
starts the clock → a restart keeps it → the deadline passes and the container snapshots a
submission → later edits and a restart do not change it → `proctor grade --plan screen`
→ the report shows the plan, the session's times and the snapshot flag."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from test_check_cli import set_starter_cell

from proctor import cli, sandbox
from proctor.library.spec import Library

REPO = Path(__file__).resolve().parents[1]
ENTRYPOINT = REPO / "docker" / "candidate-entrypoint.sh"
BIN = Path(sys.executable).parent
T0 = 1_900_000_000  # 2030-03-17 17:46:40 UTC
REFERENCE = (Library(REPO).get("conv2d").solutions_dir / "accepted" / "reference.py").read_text()


class Container:
    """The candidate container as its entrypoint runs it: JupyterLab is a stand-in that
    sleeps until stopped; the session's clock is a file the test sets."""

    def __init__(self, tmp: Path, bundle: Path) -> None:
        self.work, self.clock = tmp / "work", tmp / "clock"
        fake = tmp / "fakebin"
        fake.mkdir(exist_ok=True)
        (fake / "jupyter").write_text("#!/usr/bin/env bash\nexec sleep 600\n")
        (fake / "jupyter").chmod(0o755)
        self.env = {**os.environ, "PATH": f"{fake}:{BIN}:{os.environ.get('PATH', '')}",
                    "PROCTOR_BUNDLE_SRC": str(bundle), "PROCTOR_WORK": str(self.work),
                    "PROCTOR_CLOCK_FILE": str(self.clock), "PROCTOR_TICK_SECONDS": "0.2",
                    "JUPYTER_TOKEN": "t"}
        for k in ("PROCTOR_MINUTES", "PROCTOR_BUNDLE"):
            self.env.pop(k, None)
        self.proc: subprocess.Popen | None = None

    def set_clock(self, t: float) -> None:
        tmp = self.clock.with_suffix(".tmp")
        tmp.write_text(str(t))
        tmp.replace(self.clock)

    def start(self) -> str:
        """Start it and wait until JupyterLab (the stand-in) runs; its output so far."""
        log = self.work.parent / "container.log"
        self.proc = subprocess.Popen(["bash", str(ENTRYPOINT)], env=self.env,
                                     stdout=log.open("w"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_for(lambda: "proctor-candidate: open http" in log.read_text()
                 or self.proc.poll() is not None, "the entrypoint to start JupyterLab")
        assert self.proc.poll() is None, log.read_text()
        return log.read_text()

    def stop(self) -> None:
        """`docker stop`: JupyterLab ends; the session's watcher must follow by itself."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        wait_for(lambda: not _alive(self.proc.pid), "the watcher to stop with JupyterLab")

    def kill(self) -> None:
        if self.proc is not None and _alive(self.proc.pid):
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def wait_for(cond, what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def edit(nb_path: Path, marker: str) -> None:
    nb = nbformat.read(nb_path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    code[1].source += f"\n# {marker}\n"
    nbformat.write(nb, nb_path)


@pytest.fixture
def container(tmp_path):
    b = tmp_path / "out" / "bundles" / "screen"
    assert cli.main(["--root", str(REPO), "bundle", str(b), "--plan", "screen"]) == 0
    c = Container(tmp_path, b)
    yield c
    c.kill()


def test_a_screen_session_end_to_end(container, tmp_path, capsys):
    c, work = container, container.work
    session_file = work / ".proctor" / "session.json"
    snap = work / "submissions" / "deadline-snapshot.zip"

    # first start: the clock starts at T0, from the plan's 60 minutes
    c.set_clock(T0)
    out = c.start()
    assert "started the session: time left: 60 min (deadline 18:46 UTC)" in out
    started = json.loads(session_file.read_text())
    assert started["started_epoch"] == T0 and started["deadline_epoch"] == T0 + 3600
    assert (work / "TIME_LEFT.md").read_text().startswith("# Time left: 60 min")
    edit(work / "notebooks" / "conv2d.ipynb", "my first idea")

    # twenty minutes later the candidate restarts the container: the clock goes on
    c.set_clock(T0 + 1200)
    c.stop()
    out = c.start()
    assert "session resumed: time left: 40 min" in out
    assert json.loads(session_file.read_text()) == started
    wait_for(lambda: (work / "TIME_LEFT.md").read_text().startswith("# Time left: 40 min"),
             "the watcher to refresh TIME_LEFT.md")
    set_starter_cell(work / "notebooks" / "conv2d.ipynb", REFERENCE + "\n# my final answer\n")

    # the deadline passes while JupyterLab runs: the watcher snapshots a submission
    c.set_clock(T0 + 3600 + 3)
    wait_for(lambda: json.loads(session_file.read_text()).get("snapshot"),
             "the deadline snapshot")
    data = snap.read_bytes()
    assert "# Time is up" in (work / "TIME_LEFT.md").read_text()

    # edits after the deadline (breaking the solution), a restart: the snapshot and the
    # clock stay as they were
    set_starter_cell(work / "notebooks" / "conv2d.ipynb",
                     "raise SystemExit  # after the deadline\n")
    c.set_clock(T0 + 3600 + 900)
    c.stop()
    out = c.start()
    assert "session resumed: time is up (deadline 18:46 UTC); your work was saved to " \
           "submissions/deadline-snapshot.zip" in out
    assert snap.read_bytes() == data
    state = json.loads(session_file.read_text())
    assert {k: state[k] for k in started if k != "snapshot"} == \
        {k: v for k, v in started.items() if k != "snapshot"}
    c.stop()

    # the interviewer grades the snapshot as the screen plan
    reports = tmp_path / "reports"
    extra = [] if sandbox.isolation().get("available") else ["--unsafe-no-sandbox"]
    capsys.readouterr()
    assert cli.main(["--root", str(REPO), "grade", str(snap), "--plan", "screen",
                     "--out", str(reports), *extra]) == 0
    report = json.loads((reports / "deadline-snapshot" / "report.json").read_text())
    assert [e["id"] for e in report["exercises"]] == ["conv2d", "detection_ap"]
    by_id = {e["id"]: e for e in report["exercises"]}
    assert by_id["conv2d"]["score"] == 20, [  # the work as it was at the deadline
        (c["id"], c["status"], c["message"]) for c in by_id["conv2d"]["checks"]]
    assert by_id["detection_ap"]["score"] == 0
    plan = report["plan"]
    assert plan["name"] == "screen" and plan["minutes"] == 60
    assert plan["warnings"] == [] and plan["ignored"] == []  # the bundle this library builds
    assert (plan["score"], plan["max_score"]) == (20, 40)
    said = report["submission"]["manifest"]
    assert said["plan"] == "screen" and said["deadline_snapshot"] is True
    assert said["session_started"] == "2030-03-17T17:46:40+00:00"
    assert said["deadline"] == "2030-03-17T18:46:40+00:00" and said["minutes"] == 60
    assert said["submitted"] == "2030-03-17T18:46:43+00:00"
    assert said["notebooks"]["conv2d"]["changed"] is True
    assert said["notebooks"]["detection_ap"]["changed"] is False
    assert report["submission"]["received"] and report["submission"]["graded"]
    # the snapshot holds the work as it was at the deadline, not the later edit
    with zipfile.ZipFile(snap) as zf:
        nb = zf.read("notebooks/conv2d.ipynb").decode()
    assert "my final answer" in nb and "after the deadline" not in nb
    html = (reports / "deadline-snapshot" / "report.html").read_text()
    for needle in ("Graded as plan <b>Technical screen", "deadline snapshot",
                   "started 2030-03-17T17:46:40+00:00", "2030-03-17T18:46:43+00:00",
                   "file received"):
        assert needle in html, needle


def test_a_container_stopped_at_the_deadline_snapshots_on_its_next_start(container):
    c, work = container, container.work
    c.set_clock(T0)
    c.start()
    c.stop()
    c.set_clock(T0 + 7200)  # it was down when the deadline passed
    out = subprocess.run(["bash", str(ENTRYPOINT), "true"], env=c.env, capture_output=True,
                         text=True, timeout=120)  # e.g. the interviewer collecting the work
    assert out.returncode == 0, out.stderr
    state = json.loads((work / ".proctor" / "session.json").read_text())
    assert state["started_epoch"] == T0 and state["snapshot"]["sha256"]
    assert state["snapshot"]["taken"] == "2030-03-17T19:46:40+00:00"  # later than the deadline
    # a command start never starts a clock of its own
    (work.parent / "second").mkdir()
    other = Container(work.parent / "second", Path(c.env["PROCTOR_BUNDLE_SRC"]))
    out = subprocess.run(["bash", str(ENTRYPOINT), "true"], env=other.env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and not (other.work / ".proctor" / "session.json").exists()
