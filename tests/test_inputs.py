"""proctor.measure.inputs: fresh inputs, made one block ahead, outputs checked behind."""

import threading
import time
from collections import deque

import numpy as np
import pytest

from proctor.measure.compare import fingerprint
from proctor.measure.inputs import Inputs


def _blocks(inputs: Inputs, n: int, k: int, compare, run=lambda halves: None) -> None:
    """What Blocks.run does with its inputs: take a block, run it, check it."""
    for _ in range(n):
        halves = inputs.block(k)
        run(halves)
        calls = [c for h in halves for c in h]
        inputs.check(lambda calls=calls: compare(calls))
    inputs.settle()


def test_made_ahead_a_stateful_make_and_compare_stay_in_step() -> None:
    """make_args queues what it expects (detection's targets), compare pops it: made one
    block ahead and checked one behind, each block's check still pops its own."""
    pending: deque = deque()
    checked = []

    def make(rng):
        x = rng.random(3)
        pending.append(float(x.sum()))
        return (x,)

    def compare(calls):
        for args, _ in calls:
            want = pending.popleft()
            assert want == pytest.approx(float(args[0].sum()))
            checked.append(want)

    inputs = Inputs("f", make, np.random.default_rng(0))
    _blocks(inputs, 2, 1, compare)                 # warm-up: synchronous
    inputs.ahead(4)
    _blocks(inputs, 6, 4, compare)
    inputs.close()
    assert len(checked) == 2 + 24
    assert len(pending) == 4                       # the block made ahead, never run


def test_a_failed_check_is_raised_by_the_next_check_or_by_settle() -> None:
    inputs = Inputs("f", lambda rng: (rng.random(2),), np.random.default_rng(0))
    inputs.ahead(2)

    def bad():
        raise AssertionError("wrong in the last block")
    inputs.block(2)
    inputs.check(bad)
    with pytest.raises(AssertionError, match="last block"):
        inputs.settle()
    inputs.block(2)
    inputs.check(bad)
    with pytest.raises(AssertionError, match="last block"):
        inputs.check(lambda: None)
    inputs.close()


def test_the_block_size_is_fixed_once_made_ahead() -> None:
    inputs = Inputs("f", lambda rng: (rng.random(2),), np.random.default_rng(0))
    inputs.ahead(4)
    inputs.block(4)
    with pytest.raises(ValueError, match="made ahead"):
        inputs.block(2)
    inputs.close()


def test_the_next_block_is_made_while_this_one_runs() -> None:
    """make_args (10 ms a call) and the run (20 ms a block) overlap once made ahead."""
    def make(rng):
        time.sleep(0.005)
        return (rng.random(2),)

    def timed(ahead: bool) -> float:
        inputs = Inputs("f", make, np.random.default_rng(0))
        if ahead:
            inputs.ahead(4)
        t = time.perf_counter()
        _blocks(inputs, 10, 4, lambda calls: None, run=lambda halves: time.sleep(0.02))
        inputs.close()
        return time.perf_counter() - t

    serial, overlapped = timed(False), timed(True)
    assert overlapped < 0.75 * serial, (serial, overlapped)


def test_the_helper_thread_is_stopped_on_close() -> None:
    inputs = Inputs("f", lambda rng: (rng.random(2),), np.random.default_rng(0))
    inputs.ahead(2)
    inputs.block(2)
    inputs.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("proctor-ahead")]


def test_fingerprints_tell_inputs_apart_and_repeats_alike() -> None:
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    b = a.copy()
    b[2, 3] += 1
    assert fingerprint([a, 2]) == fingerprint([a.copy(), 2])
    assert fingerprint([a, 2]) != fingerprint([b, 2])
    assert fingerprint([a, 2]) != fingerprint([a, 3])
    assert fingerprint([a]) != fingerprint([a.reshape(4, 3)])       # shape counts
    assert fingerprint([a]) != fingerprint([a.view(np.int32)])      # dtype counts
    assert fingerprint({"x": a}) != fingerprint({"y": a})


def test_an_ignored_rng_is_a_grader_error() -> None:
    inputs = Inputs("f", lambda rng: (np.zeros(3),), np.random.default_rng(0))
    inputs.block(1)
    with pytest.raises(RuntimeError, match="fresh input"):
        inputs.block(1)
