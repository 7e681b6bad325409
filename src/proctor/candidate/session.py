"""The session clock in the candidate's container.

The container's entrypoint runs ``python -m proctor.candidate.session start`` on every
start of JupyterLab, then ``... watch`` in the background:

- ``start`` records the session in the work volume (``.proctor/session.json``) the first
  time only: its start time and deadline (the plan's minutes from ``bundle.json``, or
  ``PROCTOR_MINUTES``) are never reset by a restart, since the volume outlives the
  container.  It then does what ``tick`` does.
- ``tick`` rewrites ``TIME_LEFT.md`` (JupyterLab shows it in the file browser) and, once
  the deadline has passed, takes the deadline snapshot if it has not been taken: a
  ``proctor submit`` of the work folder into ``submissions/deadline-snapshot.zip``, made
  read-only and recorded in the session so that it is never taken again (later edits
  cannot change it; a container that was stopped at the deadline takes it on its next
  start, and the submission times say so).
- ``watch`` ticks until the deadline's snapshot is taken or the container's main
  process (JupyterLab) is gone.

The candidate may submit earlier with ``proctor submit``; that does not end the session.
Every time here comes from :func:`proctor.clock.now` (injectable in tests, and through
``PROCTOR_CLOCK_FILE`` for the entrypoint's tests).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from proctor import clock
from proctor.library.bundle import read_manifest
from proctor.submission.submit import SESSION_FILE, read_session

SCHEMA = "proctor.session/1"
TIME_LEFT = "TIME_LEFT.md"
SNAPSHOT = "submissions/deadline-snapshot.zip"
TICK_SECONDS = 20.0
Clock = Callable[[], float]


def plan_minutes(work: Path) -> tuple[str | None, float | None]:
    """The plan's name and time box: ``PROCTOR_MINUTES`` overrides the bundle's minutes
    (extra time agreed with a candidate), decided once, at the first start."""
    made = read_manifest(work) or {}
    plan = made.get("plan") if isinstance(made.get("plan"), dict) else {}
    minutes = plan.get("minutes")
    override = os.environ.get("PROCTOR_MINUTES", "").strip()
    if override:
        try:
            minutes = float(override)
        except ValueError:
            raise SystemExit(f"PROCTOR_MINUTES={override!r} is not a number of minutes") from None
    ok = isinstance(minutes, (int, float)) and not isinstance(minutes, bool) and minutes > 0
    return plan.get("name"), (float(minutes) if ok else None)


def _save(work: Path, state: dict, exclusive: bool = False) -> bool:
    """Write the session record atomically; with ``exclusive``, only if there is none."""
    path = work / SESSION_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(state, indent=2) + "\n"
    if exclusive:
        try:
            with open(path, "x") as f:
                f.write(data)
            return True
        except FileExistsError:
            return False
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(data)
    os.replace(tmp, path)
    return True


def start(work: Path, now: Clock = clock.now) -> tuple[dict, bool]:
    """The session, started now if this work folder has none; (state, started_now)."""
    work = Path(work)
    state = read_session(work)
    if state is not None:
        return state, False
    t = now()
    plan, minutes = plan_minutes(work)
    state = {"schema": SCHEMA, "plan": plan, "minutes": minutes,
             "started": clock.iso(t), "started_epoch": round(t, 3),
             "deadline": clock.iso(t + minutes * 60) if minutes else None,
             "deadline_epoch": round(t + minutes * 60, 3) if minutes else None,
             "snapshot": None}
    if not _save(work, state, exclusive=True):  # another start won the race: keep its clock
        return read_session(work) or state, False
    return state, True


def left(state: dict, t: float) -> float | None:
    """Seconds left (negative once past the deadline); None without a time box."""
    dl = state.get("deadline_epoch")
    return float(dl) - t if isinstance(dl, (int, float)) else None


def fmt(seconds: float) -> str:
    if seconds < 60:
        return "less than a minute"
    m = math.ceil(seconds / 60)
    return f"{m} min" if m < 120 else f"{m // 60} h {m % 60:02d} min"


def status_line(state: dict, t: float) -> str:
    """One line for ``check()`` and the terminal."""
    rest = left(state, t)
    if rest is None:
        return "session: no time box"
    if rest > 0:
        return f"time left: {fmt(rest)} (deadline {_hm(state['deadline'])} UTC)"
    snap = state.get("snapshot") or {}
    taken = f"; your work was saved to {SNAPSHOT}" if snap.get("sha256") else ""
    return f"time is up (deadline {_hm(state['deadline'])} UTC){taken}"


def _hm(iso: str) -> str:
    return iso[11:16] if isinstance(iso, str) and len(iso) >= 16 else str(iso)


def _when(iso: object) -> str:
    return str(iso).replace("T", " ").replace("+00:00", " UTC")


def time_left_text(state: dict, t: float) -> str:
    rest = left(state, t)
    plan = f", plan {state['plan']}" if state.get("plan") else ""
    head = f"Session started {_when(state.get('started'))}{plan}."
    if rest is None:
        return f"# No time box\n\n{head} Submit with `proctor submit` when you are done.\n"
    box = f"{state['minutes']:g} min time box"
    deadline = _when(state.get("deadline"))
    if rest > 0:
        return (f"# Time left: {fmt(rest)}\n\n{head} Deadline: {deadline} ({box}).\n\n"
                "At the deadline your `notebooks/` and `artifacts/` are saved as "
                f"`{SNAPSHOT}`: save your notebooks often. You may also submit earlier with "
                "`proctor submit` (see README.md).\n\nThis file is updated while the container "
                "runs: reopen it to refresh.\n")
    snap = state.get("snapshot") or {}
    if snap.get("sha256"):
        saved = (f"Your work was saved at {_when(snap.get('taken'))} as `{SNAPSHOT}` "
                 "(read-only); edits made since do not change it.")
    elif snap.get("error"):
        saved = f"The deadline snapshot failed: {snap['error']}. Run `proctor submit` now."
    else:
        saved = "Your work is being saved."
    return f"# Time is up\n\n{head} The deadline was {deadline} ({box}).\n\n{saved}\n"


def write_time_left(work: Path, state: dict, t: float) -> None:
    path = Path(work) / TIME_LEFT
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(time_left_text(state, t))
    os.replace(tmp, path)


def snapshot(work: Path, state: dict, now: Clock = clock.now) -> dict:
    """Take the deadline snapshot once (``proctor submit``'s own packing, flagged as the
    deadline snapshot); the state records it, or why it failed."""
    from proctor.library.spec import Library, SpecError
    from proctor.submission.submit import build

    work = Path(work)
    out = work / SNAPSHOT
    if out.exists():  # never overwrite: a snapshot on disk is the one that counts
        rec = {"taken": None, "sha256": _sha256(out), "note": "found on disk"}
    else:
        try:
            library = Library.find(work)
        except SpecError:
            library = None
        res = build(work, out, library, deadline_snapshot=True, now=now)
        for w in res.warnings:
            print(f"warning: {w}")
        if res.errors or not out.is_file():
            rec = {"taken": clock.iso(now()), "error": "; ".join(res.errors)[:500]
                   or "proctor submit wrote nothing"}
        else:
            out.chmod(0o444)
            rec = {"taken": clock.iso(now()), "sha256": _sha256(out)}
            print(f"deadline snapshot: wrote {out} ({len(res.files)} files)")
    state = {**state, "snapshot": {"path": SNAPSHOT, **rec}}
    _save(work, state)
    return state


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def tick(work: Path, now: Clock = clock.now) -> dict | None:
    """Refresh TIME_LEFT.md; take the snapshot if the deadline has passed. The state, or
    None when no session was started here."""
    state = read_session(Path(work))
    if state is None:
        return None
    rest = left(state, now())
    if rest is not None and rest <= 0 and state.get("snapshot") is None:
        state = snapshot(Path(work), state, now)
    write_time_left(Path(work), state, now())
    return state


def watch(work: Path, now: Clock = clock.now, tick_seconds: float = TICK_SECONDS,
          sleep: Callable[[float], None] = time.sleep, parent: int | None = None) -> int:
    """Tick until the snapshot is taken, or until the parent process (the container's
    JupyterLab) is gone."""
    parent = os.getppid() if parent is None else parent
    while True:
        state = tick(work, now)
        if state is None or state.get("snapshot") is not None or left(state, now()) is None:
            return 0
        if os.getppid() != parent:
            return 0
        sleep(max(0.05, min(tick_seconds, left(state, now()) or tick_seconds)))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m proctor.candidate.session",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=["start", "tick", "watch", "status", "expect-plan"])
    p.add_argument("plan", nargs="?", help="expect-plan: the plan the bundle must be of")
    p.add_argument("--work", default=os.environ.get("PROCTOR_WORK", "."))
    p.add_argument("--parent", type=int, help="watch: stop when this process is gone "
                   "(default: the parent at start)")
    args = p.parse_args(argv)
    work = Path(args.work)
    if args.command == "expect-plan":  # the image build: is this the bundle of PLAN?
        made = (read_manifest(work) or {}).get("plan")
        name = made.get("name") if isinstance(made, dict) else None
        if name != args.plan:
            print(f"{work} is the bundle of plan {name!r}, not {args.plan!r}: run `proctor "
                  f"bundle out/bundles/{args.plan} --plan {args.plan}`", file=sys.stderr)
            return 1
        return 0
    if args.command == "start":
        state, new = start(work)
        state = tick(work) or state
        print(("started the session: " if new else "session resumed: ")
              + status_line(state, clock.now()))
        return 0
    if args.command == "watch":
        tick_s = float(os.environ.get("PROCTOR_TICK_SECONDS", TICK_SECONDS))
        return watch(work, tick_seconds=tick_s, parent=args.parent)
    state = tick(work) if args.command == "tick" else read_session(work)
    print(status_line(state, clock.now()) if state else "no session started here")
    return 0


if __name__ == "__main__":
    sys.exit(main())
