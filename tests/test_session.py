"""The session clock (proctor.candidate.session) with an injected clock: started once and
never reset, TIME_LEFT.md, the deadline snapshot taken once and never changed, and the
submission manifest's claims (plan, bundle, session, times, per notebook)."""

from __future__ import annotations

import json
import os
import stat
import zipfile
from pathlib import Path

import pytest

from proctor.candidate import session
from proctor.candidate.api import check
from proctor.library import bundle, plans
from proctor.library.spec import Library
from proctor.submission import submit

REPO = Path(__file__).resolve().parents[1]
LIB = Library(REPO)
T0 = 1_900_000_000.0  # 2030-03-17 17:46:40 UTC


class FakeClock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def work(tmp_path, monkeypatch) -> Path:
    """A work folder seeded from the screen plan's bundle, as the container seeds it."""
    monkeypatch.delenv("PROCTOR_MINUTES", raising=False)
    out = tmp_path / "work"
    bundle.build(LIB, out, plan=plans.get_plan(LIB, "screen"), check_leaks=False)
    return out


def manifest_of(zip_path: Path) -> dict:
    with zipfile.ZipFile(zip_path) as zf:
        return json.loads(zf.read("manifest.json"))


def test_start_records_the_plan_time_box_once(work, monkeypatch):
    clock = FakeClock()
    state, new = session.start(work, clock)
    assert new and state["plan"] == "screen" and state["minutes"] == 60
    assert state["started_epoch"] == T0 and state["deadline_epoch"] == T0 + 3600
    assert state["started"] == "2030-03-17T17:46:40+00:00"
    # a restart later, even with another time box asked for, keeps the clock
    clock.t += 1800
    monkeypatch.setenv("PROCTOR_MINUTES", "600")
    again, new = session.start(work, clock)
    assert not new and again == state
    assert json.loads((work / submit.SESSION_FILE).read_text()) == state


def test_minutes_override_at_first_start(work, monkeypatch):
    monkeypatch.setenv("PROCTOR_MINUTES", "75")
    state, _ = session.start(work, FakeClock())
    assert state["minutes"] == 75 and state["deadline_epoch"] == T0 + 75 * 60
    monkeypatch.setenv("PROCTOR_MINUTES", "soon")
    with pytest.raises(SystemExit, match="not a number"):
        session.plan_minutes(work)


def test_no_plan_no_time_box(tmp_path):
    out = tmp_path / "w"
    bundle.build(LIB, out, ["box_ops"], check_leaks=False)
    state, _ = session.start(out, FakeClock())
    assert state["minutes"] is None and state["deadline_epoch"] is None
    assert session.tick(out, FakeClock(T0 + 10**6))["snapshot"] is None
    assert (out / session.TIME_LEFT).read_text().startswith("# No time box")
    assert session.watch(out, FakeClock(), sleep=pytest.fail) == 0


def test_time_left_file_and_status_line(work):
    clock = FakeClock()
    session.start(work, clock)
    clock.t += 60 * 18 + 5
    state = session.tick(work, clock)
    text = (work / session.TIME_LEFT).read_text()
    assert text.startswith("# Time left: 42 min\n")
    assert "Deadline: 2030-03-17 18:46:40 UTC (60 min time box)" in text
    assert "submissions/deadline-snapshot.zip" in text
    assert session.status_line(state, clock.t) == "time left: 42 min (deadline 18:46 UTC)"
    assert session.status_line(state, T0 + 3590).startswith("time left: less than a minute")
    assert session.fmt(3 * 3600 + 60) == "3 h 01 min"
    assert not (work / session.SNAPSHOT).exists()


def test_deadline_snapshot_is_taken_once_and_never_changes(work):
    clock = FakeClock()
    session.start(work, clock)
    nb = work / "notebooks" / "conv2d.ipynb"
    nb.write_text(nb.read_text().replace("raise NotImplementedError", "return None  # mine", 1))
    clock.t = T0 + 3600 + 2
    state = session.tick(work, clock)
    snap = work / session.SNAPSHOT
    assert snap.is_file() and stat.S_IMODE(snap.stat().st_mode) == 0o444
    assert state["snapshot"]["taken"] == "2030-03-17T18:46:42+00:00"
    data = snap.read_bytes()
    m = manifest_of(snap)
    assert m["deadline_snapshot"] is True and m["plan"] == "screen"
    assert m["submitted"] == "2030-03-17T18:46:42+00:00" and m["submitted_epoch"] == T0 + 3602
    assert m["session"]["started_epoch"] == T0 and m["session"]["deadline_epoch"] == T0 + 3600
    assert m["bundle"]["sha256"] == json.loads((work / "bundle.json").read_text())["sha256"]
    assert m["exercises"]["conv2d"]["changed_from_starter"] is True
    assert m["exercises"]["detection_ap"]["changed_from_starter"] is False
    assert m["exercises"]["conv2d"]["notebook_modified"].endswith("+00:00")
    assert "# Time is up" in (work / session.TIME_LEFT).read_text()
    # later edits, later ticks, a restart: the snapshot stays what it was
    nb.write_text(nb.read_text().replace("# mine", "# edited after the deadline"))
    clock.t += 600
    session.start(work, clock)
    session.tick(work, clock)
    assert snap.read_bytes() == data
    # even when it is deleted, it is not retaken (the session records it)
    snap.chmod(0o644)
    snap.unlink()
    assert session.tick(work, clock)["snapshot"]["sha256"] == state["snapshot"]["sha256"]
    assert not snap.exists()


def test_the_candidate_may_submit_earlier(work, capsys):
    clock = FakeClock()
    session.start(work, clock)
    clock.t += 1200
    out = work / "submission.zip"
    assert submit.pack(work, out, Library.find(work), now=clock) == 0
    m = manifest_of(out)
    assert m["deadline_snapshot"] is False and m["submitted_epoch"] == T0 + 1200
    assert m["session"]["minutes"] == 60
    clock.t = T0 + 3601  # the session goes on: the snapshot is still taken at the deadline
    assert session.tick(work, clock)["snapshot"]["sha256"]
    assert manifest_of(out)["deadline_snapshot"] is False


def test_a_snapshot_that_cannot_be_made_is_recorded(work):
    clock = FakeClock()
    session.start(work, clock)
    for p in (work / "notebooks").iterdir():
        p.unlink()
    (work / "notebooks").rmdir()
    clock.t = T0 + 4000
    state = session.tick(work, clock)
    assert "no notebooks/ folder" in state["snapshot"]["error"]
    assert "The deadline snapshot failed" in (work / session.TIME_LEFT).read_text()


def test_watch_ticks_until_the_snapshot(work):
    clock = FakeClock()
    session.start(work, clock)
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(s)
        clock.t += 1000  # each tick, about 17 minutes pass

    assert session.watch(work, clock, tick_seconds=5, sleep=sleep) == 0
    assert len(sleeps) == 4 and all(0.05 <= s <= 5 for s in sleeps)
    assert (work / session.SNAPSHOT).is_file()
    # a watcher whose parent (JupyterLab) is gone stops without waiting for the deadline
    other = work.parent / "other"
    bundle.build(LIB, other, plan=plans.get_plan(LIB, "screen"), check_leaks=False)
    session.start(other, FakeClock())
    assert session.watch(other, FakeClock(), sleep=pytest.fail, parent=os.getppid() + 1) == 0


def test_check_prints_the_time_left(work, monkeypatch, capsys):
    clock = FakeClock()
    session.start(work, clock)
    monkeypatch.setenv("PROCTOR_BUNDLE", str(work))
    clock_file = work.parent / "clock"
    clock_file.write_text(str(T0 + 600))
    monkeypatch.setenv("PROCTOR_CLOCK_FILE", str(clock_file))
    check("conv2d", namespace={})
    out = capsys.readouterr().out
    assert "public checks for conv2d" in out
    assert out.rstrip().endswith("time left: 50 min (deadline 18:46 UTC)")
    clock_file.write_text(str(T0 + 3600))
    check("conv2d", namespace={})
    assert "time is up (deadline 18:46 UTC)" in capsys.readouterr().out


def test_cli(work, monkeypatch, capsys):
    clock_file = work.parent / "clock"
    clock_file.write_text(str(T0))
    monkeypatch.setenv("PROCTOR_CLOCK_FILE", str(clock_file))
    assert session.main(["status", "--work", str(work)]) == 0
    assert capsys.readouterr().out == "no session started here\n"
    assert session.main(["start", "--work", str(work)]) == 0
    assert capsys.readouterr().out == "started the session: time left: 60 min (deadline " \
                                      "18:46 UTC)\n"
    assert session.main(["start", "--work", str(work)]) == 0
    assert capsys.readouterr().out.startswith("session resumed: time left: 60 min")
    assert session.main(["expect-plan", "screen", "--work", str(work)]) == 0
    assert session.main(["expect-plan", "edge", "--work", str(work)]) == 1
    assert "is the bundle of plan 'screen', not 'edge'" in capsys.readouterr().err
