"""Starting workers side by side and ahead of their turn (proctor.grading.startup), and
moving a running sandbox to its timing core (SandboxedProcess.pin).

No absolute times are asserted: concurrency is shown by the order of events (one
worker's load began before the other's ended), the time limit by a load that only
succeeds when the limit counts from the turn."""

from __future__ import annotations

import os
import select
import sys
import textwrap
import threading
import time

import pytest
from conftest import submission_dir, write

from proctor import sandbox
from proctor.grading import startup
from proctor.grading import submission as submission_mod
from proctor.grading.exercise import Source
from proctor.grading.submission import grade_submission, reference_source
from proctor.sandbox import Limits, SandboxSpec
from proctor.worker import client as client_mod
from proctor.worker import config as config_mod

TWO_CORES = pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores")
GOOD = {"adder": ["def add(a, b):\n    return a + b"],
        "scale": ["def scale(x, k):\n    return x * k"]}
ISO = sandbox.isolation()
BACKENDS = ["none"] + (["bwrap"] if ISO["available"] else [])


# ------------------------------------------------------------------ where workers load

def test_each_worker_loads_on_one_core_and_ahead_never_on_the_timing_core(monkeypatch):
    def cores(*cpus):
        monkeypatch.setattr(config_mod.os, "sched_getaffinity", lambda pid: set(cpus))
    cores(0, 1)
    assert config_mod.start_cpus(2, ahead=False) == [(0,), (1,)]   # timing core is 1
    assert config_mod.start_cpus(2, ahead=True) == [(0,), (0,)]
    cores(0, 1, 2, 3)
    assert config_mod.start_cpus(2, ahead=True) == [(0,), (1,)]
    cores(5)
    assert config_mod.start_cpus(2, ahead=True) is None             # no core to spare
    assert config_mod.start_cpus(2, ahead=False) == [(5,), (5,)]


def test_start_cpus_need_a_core_to_pin_to():
    with pytest.raises(ValueError, match="needs cpu"):
        SandboxSpec(ro_binds=[], env={}, start_cpus=(0,))
    assert SandboxSpec(ro_binds=[], env={}, cpu=1, start_cpus=(0, 0)).first_cpus() == (0,)
    assert SandboxSpec(ro_binds=[], env={}, cpu=1).first_cpus() == (1,)
    assert SandboxSpec(ro_binds=[], env={}).first_cpus() is None


@TWO_CORES
@pytest.mark.parametrize("backend", BACKENDS)
def test_pin_moves_every_thread_and_process_of_the_tree(backend):
    """Started on core 0, then pinned to core 1: the main thread, a thread started while
    loading and a child process all end up on core 1, and (with a cpuset) cannot leave."""
    code = textwrap.dedent("""
        import os, subprocess, sys, threading
        go, say = os.fdopen(GO, "rb", 0), os.fdopen(SAY, "wb", 0)
        def aff(what):
            say.write(f"{what} {sorted(os.sched_getaffinity(0))}\\n".encode())
        moved = threading.Event()
        thread = threading.Thread(target=lambda: (moved.wait(), aff("thread")))
        thread.start()
        child = subprocess.Popen([sys.executable, "-c", "import os, sys; sys.stdin.read(); "
                                  "print('child', sorted(os.sched_getaffinity(0)))"],
                                 stdin=subprocess.PIPE, stdout=say)
        aff("before")
        go.read(1)
        moved.set(); thread.join()
        child.stdin.close(); child.wait()
        aff("after")
        try:
            os.sched_setaffinity(0, range(os.cpu_count()))
        except OSError:
            pass
        aff("widened")
    """)
    go_r, go_w = os.pipe()
    say_r, say_w = os.pipe()
    code = code.replace("GO", str(go_r)).replace("SAY", str(say_w))
    spec = SandboxSpec(ro_binds=sandbox.runtime_binds(), env={"PATH": "/usr/bin:/bin"},
                       limits=Limits(wall_s=60), cpu=1, start_cpus=(0,))
    proc = sandbox.get_backend(backend).spawn([sys.executable, "-c", code], spec,
                                              pass_fds=(go_r, say_w))
    os.close(go_r)
    os.close(say_w)
    try:
        first = _lines(say_r, 1)
        assert first == ["before [0]"]
        proc.pin()
        os.write(go_w, b"x")
        rest = _lines(say_r, 4)
        assert rest[:3] == ["thread [1]", "child [1]", "after [1]"]
        if "cgroup:cpuset" in ISO["limits"]:
            assert rest[3] == "widened [1]"
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        os.close(go_w)
        os.close(say_r)


def _lines(fd: int, n: int, timeout: float = 30) -> list[str]:
    data = b""
    deadline = time.monotonic() + timeout
    while data.count(b"\n") < n:
        assert select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0], data
        chunk = os.read(fd, 4096)
        assert chunk, f"closed after {data!r}"
        data += chunk
    return data.decode().splitlines()


# ------------------------------------------------------------------ one exercise

def _slow_reference(lib, ex_id="adder", seconds=1.0):
    path = lib.root / "reference_solutions" / ex_id / "accepted" / "reference.py"
    path.write_text(f"import time\ntime.sleep({seconds})\n" + path.read_text())


def _record_loads(monkeypatch) -> list[tuple[str, float, float]]:
    """(label, began, ended) of every worker start-and-load."""
    loads: list[tuple[str, float, float]] = []
    real = startup.Session._launch

    def launch(self, cpus):
        began = time.monotonic()
        try:
            real(self, cpus)
        finally:
            loads.append((self.label, began, time.monotonic()))
    monkeypatch.setattr(startup.Session, "_launch", launch)
    return loads


def test_candidate_and_reference_load_side_by_side(tiny_lib, monkeypatch):
    _slow_reference(tiny_lib)
    ex = tiny_lib.get("adder")
    loads = _record_loads(monkeypatch)
    workers = startup.Workers(ex, Source(["import time\ntime.sleep(1.0)", *GOOD["adder"]], None),
                              reference_source(ex), unsafe=True)
    try:
        workers.wait()
    finally:
        workers.close()
    (_, c0, c1), (_, r0, r1) = sorted(loads)
    assert c0 < r1 and r0 < c1, "one worker loaded only after the other had finished"

    loads.clear()
    monkeypatch.setenv(startup.OVERLAP_ENV, "0")   # as before: one after the other
    workers = startup.Workers(ex, Source(["import time\ntime.sleep(1.0)", *GOOD["adder"]], None),
                              reference_source(ex), unsafe=True)
    workers.close()
    (_, c0, c1), (_, r0, r1) = sorted(loads)
    assert c1 <= r0


@TWO_CORES
def test_workers_load_on_their_own_core_and_are_released_to_the_free_cores(tiny_lib):
    """Loaded, a worker runs on every core no measurement holds (``placement``); it is
    moved to the timing core only while measured (test_placement)."""
    ex = tiny_lib.get("adder")
    cells = ["import os\nLOADED = sorted(os.sched_getaffinity(0))",
             "def where():\n    return [LOADED, sorted(os.sched_getaffinity(0))]"]
    timing = config_mod.timing_cpu()
    for ahead in (False, True):
        workers = startup.Workers(ex, Source(cells, None), Source(cells, None), unsafe=True,
                                  ahead=ahead)
        try:
            workers.wait()
            where = [s.proxy().where() for s in workers.sessions]
        finally:
            workers.close()
        loaded = [w[0] for w in where]
        assert loaded == [list(c) for c in config_mod.start_cpus(2, ahead)]
        assert all(len(cores) == 1 for cores in loaded)
        free = sorted(os.sched_getaffinity(0))
        assert [w[1] for w in where] == [free, free]
        if ahead:
            assert [timing] not in loaded


def test_the_time_limit_counts_from_the_turn(tiny_lib):
    """A notebook that needs 4 s, a 3 s limit: started at its turn it fails; started ahead
    of its turn by 3.5 s it has all the time it needs."""
    toml = tiny_lib.root / "exercises" / "adder" / "exercise.toml"
    toml.write_text(toml.read_text().replace("time_limit_s = 20", "time_limit_s = 3"))
    ex = tiny_lib.get("adder")
    cells = Source(["import time\ntime.sleep(4)", *GOOD["adder"]], None)
    began = time.monotonic()
    ahead = startup.Workers(ex, cells, None, unsafe=True, ahead=True)
    now = startup.Workers(ex, cells, None, unsafe=True)
    try:
        now.wait()
        time.sleep(max(0.0, began + 3.5 - time.monotonic()))
        ahead.wait()
    finally:
        now.close()
        ahead.close()
    assert "longer than the 3 s limit" in now.candidate.load_failure.reason
    assert ahead.candidate.load_failure is None


# ------------------------------------------------------------------ whole submissions

def _record_workers(monkeypatch) -> list[startup.Workers]:
    made: list[startup.Workers] = []
    real = startup.Workers.__init__

    def init(self, ex, source, reference, unsafe, ahead=False):
        self.ex_id, self.ahead, self.made_at = ex.id, ahead, time.monotonic()
        real(self, ex, source, reference, unsafe, ahead)
        made.append(self)
    monkeypatch.setattr(startup.Workers, "__init__", init)
    return made


def _all_dead(workers: startup.Workers) -> bool:
    return all(s.client is None or (s.client.proc is not None
                                    and s.client.proc.returncode is not None)
               for s in workers.sessions) and all(s._thread is None for s in workers.sessions)


def _with_scale2(tiny_lib):
    """The tiny library with a third exercise, scale2, a copy of scale."""
    import shutil

    root = tiny_lib.root
    for part in ("exercises", "graders", "reference_solutions"):
        shutil.copytree(root / part / "scale", root / part / "scale2")
    toml = root / "exercises" / "scale2" / "exercise.toml"
    toml.write_text(toml.read_text().replace('id = "scale"', 'id = "scale2"'))
    return type(tiny_lib).find(root)


@TWO_CORES
def test_the_next_exercise_starts_while_this_ones_checks_run(tiny_lib, tmp_path, monkeypatch):
    monkeypatch.setenv(submission_mod.AT_ONCE_ENV, "1")   # one by one: side by side below
    made = _record_workers(monkeypatch)
    calls: list[tuple[str, float, float, object]] = []
    real = submission_mod.grade_exercise

    def grade(ex, *a, workers=None, **kw):
        t0 = time.monotonic()
        r = real(ex, *a, workers=workers, **kw)
        calls.append((ex.id, t0, time.monotonic(), workers))
        return r
    monkeypatch.setattr(submission_mod, "grade_exercise", grade)
    sub = submission_dir(tmp_path / "sub", GOOD)
    report = grade_submission(sub, tiny_lib, None, unsafe=True)
    assert [e.score for e in report.exercises] == [4, 2]
    (a_id, a0, a1, a_workers), (s_id, _, _, s_workers) = calls
    assert (a_id, s_id) == ("adder", "scale")
    assert [(w.ex_id, w.ahead) for w in made] == [("adder", False), ("scale", True)]
    assert (a_workers, s_workers) == tuple(made)
    assert made[0].made_at < a0                 # the first: before its checks are loaded
    assert a0 < made[1].made_at < a1            # the next: while adder was being graded
    assert all(_all_dead(w) for w in made)


@TWO_CORES
def test_the_next_two_exercises_start_while_the_first_ones_checks_run(tiny_lib, tmp_path,
                                                                       monkeypatch):
    """A quick exercise's checks are shorter than a torch exercise's start: the two after
    it start while it is graded (``AHEAD_DEPTH``)."""
    monkeypatch.setenv(submission_mod.AT_ONCE_ENV, "1")
    lib = _with_scale2(tiny_lib)
    made = _record_workers(monkeypatch)
    calls: list[tuple[str, float, float]] = []
    real = submission_mod.grade_exercise

    def grade(ex, *a, **kw):
        t0 = time.monotonic()
        r = real(ex, *a, **kw)
        calls.append((ex.id, t0, time.monotonic()))
        return r
    monkeypatch.setattr(submission_mod, "grade_exercise", grade)
    sub = submission_dir(tmp_path / "sub", {**GOOD, "scale2": GOOD["scale"]})
    report = grade_submission(sub, lib, None, unsafe=True)
    assert [e.score for e in report.exercises] == [4, 2, 2]
    assert [(w.ex_id, w.ahead) for w in made] == [("adder", False), ("scale", True),
                                                  ("scale2", True)]
    (_, a0, a1), _, _ = calls
    assert a0 < made[1].made_at < a1 and a0 < made[2].made_at < a1
    assert all(_all_dead(w) for w in made)


def test_no_worker_serves_two_exercises_or_two_submissions(tiny_lib, tmp_path, monkeypatch):
    started: list[tuple[str, str, int]] = []
    real = client_mod.WorkerClient.start

    def start(self, start_cpus=()):
        real(self, start_cpus)
        started.append((self.config.env["PROCTOR_EXERCISE"], self.label, self.proc.pid))
    monkeypatch.setattr(client_mod.WorkerClient, "start", start)
    for name in ("one", "two"):
        report = grade_submission(submission_dir(tmp_path / name, GOOD), tiny_lib, None,
                                  unsafe=True)
        assert [e.score for e in report.exercises] == [4, 2]
    assert sorted((e, label) for e, label, _ in started) == sorted(
        [(e, label) for e in ("adder", "scale") for label in ("candidate", "reference")] * 2)
    assert len({pid for _, _, pid in started}) == 8


@TWO_CORES
def test_workers_started_for_an_exercise_never_reached_are_killed(tiny_lib, tmp_path,
                                                                   monkeypatch):
    made = _record_workers(monkeypatch)

    def grade(ex, *a, on_ready=None, **kw):
        on_ready()                           # the next exercise's workers start...
        raise RuntimeError("harness bug")    # ...and this one never finishes
    monkeypatch.setattr(submission_mod, "grade_exercise", grade)
    with pytest.raises(RuntimeError, match="harness bug"):
        grade_submission(submission_dir(tmp_path / "sub", GOOD), tiny_lib, None, unsafe=True)
    assert [w.ex_id for w in made] == ["adder", "scale"]
    assert all(_all_dead(w) for w in made)


@TWO_CORES
def test_workers_started_for_an_exercise_with_a_grader_problem_are_killed(tiny_lib, tmp_path,
                                                                          monkeypatch):
    made = _record_workers(monkeypatch)
    write(tiny_lib.root / "graders" / "scale" / "checks.py", "this is not python\n")
    report = grade_submission(submission_dir(tmp_path / "sub", GOOD), tiny_lib, None,
                              unsafe=True)
    adder, scale = report.exercises
    assert adder.score == 4 and scale.status == "error" and "grader problem" in scale.message
    assert [w.ex_id for w in made] == ["adder", "scale"] and made[1].ahead
    assert all(_all_dead(w) for w in made)


def test_a_worker_that_dies_while_loading_costs_only_its_exercise(tiny_lib, tmp_path):
    crash = ["import os\nos._exit(4)"]
    for notebooks, dead in (({"adder": crash + GOOD["adder"], "scale": GOOD["scale"]}, 0),
                            ({"adder": GOOD["adder"], "scale": crash + GOOD["scale"]}, 1)):
        sub = submission_dir(tmp_path / f"sub{dead}", notebooks)
        report = grade_submission(sub, tiny_lib, None, unsafe=True)
        ok = report.exercises[1 - dead]
        assert ok.score == ok.max_score, ok
        broken = report.exercises[dead]
        assert broken.score == 0 and "notebook did not finish" in broken.message
        assert all(c.status == "error" for c in broken.checks)


def test_a_loading_worker_is_killed_by_close(tiny_lib):
    ex = tiny_lib.get("adder")
    workers = startup.Workers(ex, Source(["import time\ntime.sleep(60)"], None), None,
                              unsafe=True)
    deadline = time.monotonic() + 30
    while workers.candidate.client is None or workers.candidate.client.proc is None:
        assert time.monotonic() < deadline, "the worker never started"
        time.sleep(0.01)
    t = threading.Thread(target=workers.close)
    t.start()
    t.join(timeout=30)
    assert not t.is_alive() and _all_dead(workers)


# ------------------------------------------------------------------ side by side

@TWO_CORES
def test_two_exercises_are_graded_side_by_side_and_reported_in_order(tiny_lib, tmp_path,
                                                                     monkeypatch):
    """``AT_ONCE_ENV`` unset: two at once. Each exercise's grading is held for a second
    first: one by one their spans could not overlap, side by side they do; the report
    keeps the library's order."""
    monkeypatch.delenv(submission_mod.AT_ONCE_ENV, raising=False)
    spans: dict[str, tuple[float, float]] = {}
    real = submission_mod.grade_exercise

    def grade(ex, *a, **kw):
        t0 = time.monotonic()
        time.sleep(1.0)
        r = real(ex, *a, **kw)
        spans[ex.id] = (t0, time.monotonic())
        return r
    monkeypatch.setattr(submission_mod, "grade_exercise", grade)
    report = grade_submission(submission_dir(tmp_path / "sub", GOOD), tiny_lib, None,
                              unsafe=True)
    assert [(e.id, e.score) for e in report.exercises] == [("adder", 4), ("scale", 2)]
    (a0, a1), (s0, s1) = spans["adder"], spans["scale"]
    assert a0 < s1 and s0 < a1


def test_one_at_a_time_when_asked(tiny_lib, tmp_path, monkeypatch):
    monkeypatch.setenv(submission_mod.AT_ONCE_ENV, "1")
    spans: dict[str, tuple[float, float]] = {}
    real = submission_mod.grade_exercise

    def grade(ex, *a, **kw):
        t0 = time.monotonic()
        r = real(ex, *a, **kw)
        spans[ex.id] = (t0, time.monotonic())
        return r
    monkeypatch.setattr(submission_mod, "grade_exercise", grade)
    grade_submission(submission_dir(tmp_path / "sub", GOOD), tiny_lib, None, unsafe=True)
    assert spans["adder"][1] <= spans["scale"][0]


@pytest.mark.parametrize("value, want", [("1", 1), ("3", 3), ("0", 1), ("many", 2)])
def test_at_once_reads_the_environment(monkeypatch, value, want):
    monkeypatch.setenv(submission_mod.AT_ONCE_ENV, value)
    expected = want if startup.Workers.can_start_ahead() else 1
    assert submission_mod.at_once() == expected


def test_paired_order_alternates_the_most_and_the_fewest_latency_budgets():
    class Spec:
        def __init__(self, n):
            self.budgets = {f"b{i}": type("B", (), {"kind": "latency"})() for i in range(n)}
            self.budgets["size"] = type("B", (), {"kind": "size"})()

    def job(n):
        return submission_mod._Job(type("Ex", (), {"spec": Spec(n)})(), Source([], None), None)
    missing = submission_mod.ExerciseResult("gone", "gone", "missing", 0.0, 1.0)
    jobs = [job(1), job(2), missing, job(0), job(2), job(1)]
    order = submission_mod._paired_order(jobs)
    assert sorted(order) == list(range(len(jobs)))
    assert order == [1, 2, 4, 3, 0, 5]


@TWO_CORES
def test_side_by_side_a_loaded_exercise_goes_before_one_still_loading(tiny_lib, tmp_path,
                                                                      monkeypatch):
    """scale2 comes before scale in the grading order but its notebook loads for 1.5 s:
    the free slot grades scale meanwhile (loaded ahead), and the report keeps the
    library's order."""
    monkeypatch.delenv(submission_mod.AT_ONCE_ENV, raising=False)
    lib = _with_scale2(tiny_lib)
    began: dict[str, float] = {}
    real = submission_mod.grade_exercise

    def grade(ex, *a, **kw):
        began[ex.id] = time.monotonic()
        return real(ex, *a, **kw)
    monkeypatch.setattr(submission_mod, "grade_exercise", grade)
    slow = ["import time\ntime.sleep(1.5)", *GOOD["scale"]]
    sub = submission_dir(tmp_path / "sub", {**GOOD, "scale2": slow})
    jobs = [type("J", (), {})()] * 3
    assert submission_mod._paired_order(jobs) == [0, 2, 1]   # adder, scale2, scale
    report = grade_submission(sub, lib, None, unsafe=True)
    assert [(e.id, e.score) for e in report.exercises] == [("adder", 4), ("scale", 2),
                                                          ("scale2", 2)]
    assert began["scale"] < began["scale2"]
