"""The trusted end of a worker: candidate exceptions, deaths, hangs, floods, garbage."""

from __future__ import annotations

import time

import pytest

from proctor.worker.client import CandidateError, WorkerError
from proctor.worker.output import OUTPUT_CAP

CODE = r'''
import os, sys, struct

class MyError(ValueError):
    pass

def ok(x):
    return {"x": x, "twice": [x, x]}

def raises_key():
    return {}["missing"]

def raises_custom():
    raise MyError("custom message")

def todo(a, b):
    raise NotImplementedError

def todo_subclass():
    class NotYet(NotImplementedError):
        pass
    raise NotYet("later")

def hard_exit():
    os._exit(7)

def soft_exit():
    sys.exit(3)

class Escape(BaseException):
    pass

def escape():
    raise Escape("not an Exception")

def interrupt():
    raise KeyboardInterrupt

def kill_self():
    import signal
    os.kill(os.getpid(), signal.SIGKILL)

def segfault():
    import ctypes
    return ctypes.string_at(0)

def spin():
    while True:
        pass

def flood(mb):
    line = "y" * 1023 + "\n"
    block = line * 1024
    for _ in range(mb):
        sys.stdout.write(block)
    sys.stdout.flush()
    print("THE END", flush=True)
    return mb

def say(text):
    print(text, flush=True)
    return len(text)

def _frame_fd():
    return int(sys.argv[2])

def garbage_frame():
    os.write(_frame_fd(), struct.pack("<Q", 4) + b"\xc1\xc1\xc1\xc1")
    return "real answer"

def oversize_header():
    os.write(_frame_fd(), struct.pack("<Q", 1 << 40))
    return "real answer"

def list_frame():
    os.write(_frame_fd(), struct.pack("<Q", 2) + b"\x91\x01")  # msgpack [1]
    return "real answer"

def empty_mapping_frame():
    os.write(_frame_fd(), struct.pack("<Q", 1) + b"\x80")  # msgpack {}
    return "real answer"

def forged_answer():
    # A well-formed frame the grader did not ask for: the next real reply follows it.
    os.write(_frame_fd(), struct.pack("<Q", 5) + b"\x81\xa2ok\x2a")  # {"ok": 42}
    return "real answer"

def close_channel():
    os.close(_frame_fd())
    return 1

def after():
    return "after"
'''


def call(client, name, *args, timeout=10.0):
    return client.request({"op": "call", "target": name, "args": list(args)}, timeout,
                          where=name)


@pytest.fixture
def w(worker):
    return worker(CODE)


def test_plain_call(w):
    assert call(w, "ok", 3) == {"x": 3, "twice": [3, 3]}
    assert w.request({"op": "has", "names": ["ok", "nope", "os"]}, 5) == {
        "ok": True, "nope": False, "os": False}


def test_candidate_exception_becomes_candidate_error(w):
    with pytest.raises(CandidateError) as info:
        call(w, "raises_key")
    e = info.value
    assert e.type_name == "KeyError" and "'missing'" in e.text
    assert e.mro[:3] == ["KeyError", "LookupError", "Exception"]
    assert e.is_a("LookupError") and e.is_a("KeyError") and not e.is_a("TypeError")
    assert e.summary() == "raises_key raised KeyError: 'missing'"
    assert "raises_key" in e.traceback
    assert call(w, "after") == "after"  # the worker is still fine


def test_custom_exception_keeps_its_ancestry(w):
    with pytest.raises(CandidateError) as info:
        call(w, "raises_custom")
    assert info.value.type_name == "MyError" and info.value.is_a("ValueError")
    assert "custom message" in str(info.value)


@pytest.mark.parametrize("name", ["todo", "todo_subclass"])
def test_not_implemented_gives_a_friendly_summary(w, name):
    with pytest.raises(CandidateError) as info:
        w.request({"op": "call", "target": name, "args": [1, 2] if name == "todo" else []},
                  10, where=name)
    assert info.value.summary() == f"{name} is not implemented yet"


def test_unknown_name_is_a_candidate_name_error(w):
    with pytest.raises(CandidateError) as info:
        call(w, "does_not_exist")
    assert info.value.is_a("NameError")


@pytest.mark.parametrize("name,type_name,text", [
    ("soft_exit", "SystemExit", "3"),
    ("escape", "Escape", "not an Exception"),
    ("interrupt", "KeyboardInterrupt", ""),
])
def test_base_exceptions_in_a_call_are_reported_and_the_worker_survives(w, name, type_name,
                                                                         text):
    # sys.exit() and other BaseExceptions raised by candidate code in a call are caught
    # by the worker loop and described; the check fails, the worker goes on.
    with pytest.raises(CandidateError) as info:
        call(w, name)
    assert info.value.type_name == type_name and info.value.text == text
    assert call(w, "after") == "after"


def _dies(w, name, status="error", timeout=10.0):
    t0 = time.monotonic()
    with pytest.raises(WorkerError) as info:
        call(w, name, timeout=timeout)
    assert info.value.status == status
    assert time.monotonic() - t0 < timeout + 5
    # the worker is gone: later calls fail at once with the same reason
    t1 = time.monotonic()
    with pytest.raises(WorkerError) as again:
        call(w, "after")
    assert again.value is info.value and time.monotonic() - t1 < 1
    assert w.proc.poll() is not None
    return info.value.reason


def test_os_exit(w):
    reason = _dies(w, "hard_exit")
    assert "exited with code 7" in reason and "os._exit()" in reason


def test_killed_by_a_signal(w):
    assert "SIGKILL" in _dies(w, "kill_self")


def test_segfault(w):
    assert "SIGSEGV" in _dies(w, "segfault")


def test_infinite_loop_times_out(w):
    reason = _dies(w, "spin", status="timeout", timeout=1.5)
    assert "no answer within 2 s" in reason


def test_closing_the_channel(w):
    reason = _dies(w, "close_channel")
    assert reason


def test_stdout_flood_is_drained_and_capped(w):
    t0 = time.monotonic()
    assert call(w, "flood", 200, timeout=120) == 200
    elapsed = time.monotonic() - t0
    deadline = time.monotonic() + 10   # the drain thread may lag the reply a little
    while not w.output_text().rstrip().endswith("THE END") and time.monotonic() < deadline:
        time.sleep(0.05)
    text = w.output_text()
    assert w.output.total >= 200 << 20
    assert len(text) < 2 * OUTPUT_CAP
    assert "bytes omitted" in text and text.rstrip().endswith("THE END")
    assert call(w, "after") == "after"
    print(f"200 MB of stdout drained in {elapsed:.2f} s")


def test_small_output_is_kept_whole(w):
    call(w, "say", "hello from the candidate")
    deadline = time.monotonic() + 5
    while "hello" not in w.output_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert w.output_text() == "hello from the candidate\n"


@pytest.mark.parametrize("name,needle", [
    ("garbage_frame", "malformed message"),
    ("oversize_header", "1099511627776-byte message"),
    ("list_frame", "not a mapping"),
    ("empty_mapping_frame", "neither 'ok' nor 'raised'"),
])
def test_hostile_frames_kill_the_worker_instead_of_desynchronising(w, name, needle):
    reason = _dies(w, name)
    assert needle in reason


def test_a_forged_well_formed_frame_is_only_wrong_data(w):
    # The worker is untrusted: a frame it forges is just a (wrong) plain answer, which
    # checks compare on the trusted side; the grader neither crashes nor runs its code.
    assert call(w, "forged_answer") == 42
    assert call(w, "after") in ("real answer", "after")


def test_dead_worker_cannot_be_sent_to(worker):
    w = worker(CODE)
    w.close()
    with pytest.raises(WorkerError, match="not running"):
        call(w, "after")


# --------------------------------------------------------- staging through memory

STAGING = r'''
import os
import numpy as np

def echo(*args, **kwargs):
    return [list(args), kwargs]

def shapes(x):
    return {"t": x.T, "big_endian": x.astype(">f8"), "empty": np.zeros((0, 3)),
            "flags": x > 0.5, "counts": [1, 2, 3], "nested": [{"a": x[:2]}, (1, "b")],
            7: "seven", "scalar": np.float32(1.5), "none": None}

def pid():
    return os.getpid()

_buf = np.zeros(4)

def same_buffer(x):             # one buffer, overwritten on every call
    _buf[:] = x.reshape(-1)[:4]
    return _buf

def reversed_view(x):
    return x[:, ::-1]

def as_big_endian(x):
    return x.astype(">f8")

def fork_holder():
    if os.fork() == 0:          # a child that holds the worker's pipe too, forever
        import time
        time.sleep(60)
        os._exit(0)
    return True
'''


def _staged_call(client, function, calls, mem):
    """Stage ``calls`` and run them once, the way a latency block does."""
    from proctor.measure.blocks import _Side

    side = _Side(client, None, mem)
    assert (side.window is not None) == mem
    side.stage("k", calls, 10.0)
    side.send_run("k", function)
    return side.results(client.receive(10.0), function)


def _tuples_as_lists(v):
    if isinstance(v, (list, tuple)):
        return [_tuples_as_lists(x) for x in v]
    if isinstance(v, dict):
        return {k: _tuples_as_lists(x) for k, x in v.items()}
    return v


def test_staged_calls_cross_memory_as_they_cross_the_pipe(worker):
    import numpy as np

    from proctor.measure.compare import same_result

    client = worker(STAGING)
    rng = np.random.default_rng(0)
    x = rng.random((5, 4))
    calls = [[[x, np.arange(6, dtype=np.int32).reshape(2, 3), [x[0], 3], "s"], {"k": x > 0.2}],
             [[np.zeros(0, np.uint8), np.array([True, False]), 1.5], {}]]
    for function in ("echo", "shapes"):
        runs = calls if function == "echo" else [[[x], {}], [[x[:, ::-1]], {}]]
        via_memory = _staged_call(client, function, runs, mem=True)
        via_pipe = _staged_call(client, function, runs, mem=False)
        same_result(via_memory, via_pipe)
        # tuples arrive as lists through memory (timed results are compared by value only;
        # a tuple-vs-list clause is judged by its own untimed check)
        assert repr(_tuples_as_lists(via_memory)) == repr(_tuples_as_lists(via_pipe))
    got = _staged_call(client, "shapes", [[[x], {}]], mem=True)[0]
    assert set(got) == {"t", "big_endian", "empty", "flags", "counts", "nested", "7",
                        "scalar", "none"}
    assert np.array_equal(got["t"], x.T) and got["t"].flags.writeable
    assert got["big_endian"].dtype == np.dtype("<f8")
    assert got["flags"].dtype == bool and got["empty"].shape == (0, 3)


def test_array_results_are_kept_at_their_call_and_described_after_the_run(worker):
    """A timed run copies an array result into its outbox right after the call, and
    describes it after the run's last call (``staging.kept``): each call's value must come
    back, even when the function returns one buffer it overwrites on every call; any
    layout and a big-endian array come back as the pipe brings them."""
    import numpy as np

    from proctor.measure.compare import same_result

    client = worker(STAGING)
    rng = np.random.default_rng(1)
    xs = [rng.random((3, 5)) for _ in range(4)]
    runs = [[[x], {}] for x in xs]
    got = _staged_call(client, "same_buffer", runs, mem=True)
    assert [list(g) for g in got] == [list(x.reshape(-1)[:4]) for x in xs]
    for function in ("reversed_view", "as_big_endian", "same_buffer"):
        via_memory = _staged_call(client, function, runs, mem=True)
        same_result(via_memory, _staged_call(client, function, runs, mem=False))
        assert all(g.dtype == np.dtype("<f8") for g in via_memory)
    assert np.array_equal(_staged_call(client, "reversed_view", runs, mem=True)[2],
                          xs[2][:, ::-1])


def test_kept_results_encode_as_described_results():
    """``encoded(kept(...))`` gives what describing each result at once gives (addresses
    taken relative to each outbox), and only small native arrays wait as ``Held``."""
    import numpy as np

    from proctor.worker import codec, staging

    def plain(v, depth=0):
        return v

    def relative(v, base):
        if isinstance(v, dict):
            if staging.MEM_KEY in v:
                return {**v, staging.MEM_KEY: [v[staging.MEM_KEY][0] - base,
                                               v[staging.MEM_KEY][1]]}
            return {k: relative(x, base) for k, x in v.items()}
        return [relative(x, base) for x in v] if isinstance(v, list) else v

    values = [np.arange(6, dtype=np.int64).reshape(2, 3), np.float32(2.5), [1, 2],
              np.arange(4, dtype=">i4"), np.zeros((0, 2), bool), {"a": np.ones(2)},
              np.ones((4, 4))[:, ::2], None, np.ones(staging.HELD_BYTES // 8 + 1)]
    a, b = staging.Outbox(), staging.Outbox()
    kept = [staging.kept(v, a, plain) for v in values]
    assert [type(k).__name__ for k in kept] == [
        "Held", "bytes", "bytes", "bytes", "Held", "bytes", "Held", "bytes", "bytes"]
    held = staging.encoded(kept)
    at_once = [codec.dumps(staging.plain_described(v, b, plain)) for v in values]
    for h, o in zip(held, at_once, strict=True):
        assert relative(codec.loads(h), a.bases[0]) == relative(codec.loads(o), b.bases[0])


def test_the_window_is_the_server_not_a_child_that_holds_the_pipe(worker):
    client = worker(STAGING)
    assert call(client, "fork_holder") is True
    window = client.window()
    assert window is not None and window.pid == call(client, "pid")


def test_a_window_is_opened_only_on_a_process_that_holds_our_pipe(worker):
    from proctor.worker.memwindow import Window

    client = worker(STAGING)
    assert Window.open(client.proc.pid, pipe_inode=1) is None
    assert Window.open(999_999_999, client._pipe_inode) is None


@pytest.mark.parametrize("descriptor,needle", [
    ({"__proctor_mem__": [0, 8], "dtype": "<f8", "shape": [1]}, "cannot read"),
    ({"__proctor_mem__": [4096, 16], "dtype": "<f8", "shape": [1]}, "shape needs 8"),
    ({"__proctor_mem__": [4096, 8], "dtype": "|O", "shape": [1]}, "not allowed"),
    ({"__proctor_mem__": [-1, 8], "dtype": "<f8", "shape": [1]}, "malformed"),
    ({"__proctor_mem__": [2 ** 70, 8], "dtype": "<f8", "shape": [1]}, "cannot read"),
    ({"__proctor_mem__": [4096, 8], "dtype": "<f8", "shape": [-1]}, "bad result shape"),
    ({"__proctor_mem__": [4096, 1 << 30], "dtype": "|u1", "shape": [1 << 30]}, "over"),
])
def test_hostile_result_descriptors_are_refused(worker, descriptor, needle):
    from proctor.worker.memwindow import StagingError, gather

    client = worker(STAGING)
    with pytest.raises(StagingError, match=needle):
        gather([descriptor], client.window(), cap=1 << 20)


def test_a_worker_that_lies_about_its_input_buffers_is_stopped(worker):
    import numpy as np

    client = worker(STAGING + '''
import sys
from proctor.worker import staging
_allocate = staging.allocate

def _lie(calls):
    calls, where, arrays = _allocate(calls)
    return calls, [[0, n] for _, n in where], arrays     # address 0: not writable

staging.allocate = _lie
''')
    with pytest.raises(WorkerError, match="staging protocol"):
        _staged_call(client, "echo", [[[np.ones(4)], {}]], mem=True)
    assert client.dead_reason is not None
