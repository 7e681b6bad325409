"""Where loaded workers run (proctor.measure.placement): on the free cores between
measurements, on the timing core only while measured, and never on a core another
measurement holds. Fakes record the moves; one test moves real sandboxed workers."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from proctor.measure import placement
from proctor.measure.pinning import quick_handover
from proctor.worker.client import WorkerClient, WorkerConfig

CORES = tuple(sorted(os.sched_getaffinity(0)))
TWO_CORES = pytest.mark.skipif(len(CORES) < 2, reason="needs two cores")


class FakeClient:
    """Records every move; ``placement`` only ever calls ``pin``."""

    def __init__(self) -> None:
        self.moves: list[tuple[int, ...]] = []

    def pin(self, cores: tuple[int, ...] | None = None) -> None:
        self.moves.append(tuple(cores) if cores else ())

    @property
    def where(self) -> tuple[int, ...]:
        return self.moves[-1]


@pytest.fixture
def clients():
    made: list[FakeClient] = []

    def make() -> FakeClient:
        made.append(FakeClient())
        return made[-1]
    yield make
    for c in made:
        placement.forget(c)


def test_a_released_worker_runs_on_every_free_core(clients):
    w = clients()
    placement.release(w)
    assert w.where == CORES


@TWO_CORES
def test_a_measurement_has_its_core_to_itself(clients):
    timing = CORES[-1]
    cand, ref, other = clients(), clients(), clients()
    for w in (cand, ref, other):
        placement.release(w)
    with placement.measuring(timing, (cand, ref)):
        assert cand.where == ref.where == (timing,)
        assert timing not in other.where and other.where
        late = clients()
        placement.release(late)            # loaded while the core is held
        assert timing not in late.where
    assert cand.where == ref.where == other.where == late.where == CORES


@TWO_CORES
def test_a_forgotten_worker_is_not_moved_again(clients):
    w = clients()
    placement.release(w)
    placement.forget(w)
    moves = len(w.moves)
    with placement.measuring(CORES[-1], ()):
        pass
    assert len(w.moves) == moves


@TWO_CORES
def test_measured_workers_never_released_stay_on_the_timing_core(clients):
    """A caller that pins its own workers (tests, benchmarks) keeps them where they are."""
    cand, ref = clients(), clients()
    with placement.measuring(CORES[-1], (cand, ref)):
        pass
    assert cand.where == ref.where == (CORES[-1],)


def test_no_core_means_no_move(clients):
    w = clients()
    with placement.measuring(None, (w,)):
        pass
    assert w.moves == []


def test_a_single_core_is_free_even_while_held(clients, monkeypatch):
    monkeypatch.setattr(placement, "_ALL", frozenset({0}))
    w = clients()
    placement.release(w)
    with placement.measuring(0, ()):
        assert w.where == (0,)


def test_quick_handover_shortens_the_switch_interval_and_restores_it():
    before = sys.getswitchinterval()
    with quick_handover(0.0005):
        assert sys.getswitchinterval() == pytest.approx(0.0005)
        with quick_handover(0.001):
            assert sys.getswitchinterval() == pytest.approx(0.0005)
        assert sys.getswitchinterval() == pytest.approx(0.0005)
    assert sys.getswitchinterval() == pytest.approx(before)


def test_quick_handover_from_two_threads_restores_the_first_interval():
    before = sys.getswitchinterval()
    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        with quick_handover(0.0002):
            inside.set()
            leave.wait(10)
    t = threading.Thread(target=other)
    with quick_handover(0.0005):
        t.start()
        inside.wait(10)
        assert sys.getswitchinterval() == pytest.approx(0.0002)
    assert sys.getswitchinterval() == pytest.approx(0.0002)   # the other is still inside
    leave.set()
    t.join()
    assert sys.getswitchinterval() == pytest.approx(before)


@TWO_CORES
def test_real_workers_move_between_the_free_cores_and_the_timing_core():
    timing = CORES[-1]
    config = WorkerConfig(backend="none", cpu=timing)
    workers = [WorkerClient(config, f"w{i}") for i in range(3)]
    try:
        for w in workers:
            w.start(start_cpus=(CORES[0],))
            placement.release(w)

        def where(w: WorkerClient) -> set[int]:
            return os.sched_getaffinity(w.proc.pid)
        assert all(where(w) == set(CORES) for w in workers)
        with placement.measuring(timing, workers[:2]):
            assert where(workers[0]) == where(workers[1]) == {timing}
            assert timing not in where(workers[2])
        assert all(where(w) == set(CORES) for w in workers)
    finally:
        for w in workers:
            placement.forget(w)
            w.close()
