"""One latency measurement per core at a time: threads of one grader and other
grader processes wait for the core instead of timing side by side on it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from proctor.measure import pinning as _pinning


@pytest.fixture(autouse=True)
def lock_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(_pinning, "LOCK_DIR", tmp_path / "locks")
    return tmp_path / "locks"


def test_threads_take_turns_on_a_core():
    inside, overlaps, waits = [], [], []

    def measure():
        with _pinning.core_lock(7) as waited:
            waits.append(waited)
            inside.append(1)
            overlaps.append(len(inside))
            time.sleep(0.2)
            inside.pop()

    threads = [threading.Thread(target=measure) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == [1, 1, 1]
    assert sorted(waits)[-1] >= 0.3  # the last one waited for the two before it


def test_another_core_does_not_wait():
    with _pinning.core_lock(1), _pinning.core_lock(2) as waited:
        assert waited < 0.1
    with _pinning.core_lock(None) as waited:
        assert waited == 0.0


HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _holder(lock_dir, seconds: float) -> subprocess.Popen:
    lock_dir.mkdir(parents=True, exist_ok=True)
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(lock_dir / "core-3.lock"),
                          str(seconds)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def test_another_grader_process_holding_the_core_is_waited_for(lock_dir):
    p = _holder(lock_dir, 0.6)
    with _pinning.core_lock(3) as waited:
        assert p.poll() is not None or waited >= 0.4
    p.wait()
    assert waited >= 0.4


def test_a_stale_lock_delays_but_never_blocks_grading(lock_dir):
    p = _holder(lock_dir, 30)
    try:
        t = time.monotonic()
        with _pinning.core_lock(3, wait_s=0.5) as waited:
            assert 0.45 <= waited < 5
        assert time.monotonic() - t < 5
    finally:
        p.kill()
        p.wait()


def test_an_untrusted_lock_dir_is_not_used(tmp_path, monkeypatch):
    """A lock dir that is a symlink, or writable by others, could steer our O_CREAT
    elsewhere: the cross-process lock is skipped (threads still take turns)."""
    target = tmp_path / "elsewhere"
    target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target)
    monkeypatch.setattr(_pinning, "LOCK_DIR", link)
    assert _pinning._flock(3, 0.1) is None
    assert list(target.iterdir()) == []
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    monkeypatch.setattr(_pinning, "LOCK_DIR", shared)
    assert _pinning._flock(3, 0.1) is None


def test_a_symlinked_lock_file_is_not_followed(lock_dir, tmp_path):
    lock_dir.mkdir(mode=0o700)
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    (lock_dir / "core-3.lock").symlink_to(victim)
    assert _pinning._flock(3, 0.1) is None
    assert victim.read_text() == "untouched"
