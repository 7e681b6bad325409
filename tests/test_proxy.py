"""What a check holds: remote functions, remote objects, plain results only."""

from __future__ import annotations

import numpy as np
import pytest

from proctor.checks import CheckDef, run_check
from proctor.checks.asserts import assert_equal
from proctor.worker.client import CandidateError
from proctor.worker.codec import CodecError
from proctor.worker.proxy import Proxy, RemoteObject

CODE = r'''
import numpy as np

class Counter:
    def __init__(self, start):
        self.n = start
    def incr(self, k=1):
        self.n += k
        return self.n
    def snapshot(self):
        return {"n": self.n, "arr": np.arange(self.n), "pair": (self.n, [self.n])}
    def child(self):
        return Counter(self.n * 10)

def make_counter(start):
    return Counter(start)

def stats(x, scale=1.0, *, offset=0):
    return {"mean": float(x.mean()) * scale + offset, "shape": x.shape,
            "rows": [x[0], x[-1]], "sum": np.sum(x), 1: "int key"}

class Liar:
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    __hash__ = object.__hash__
    def __array__(self, *a, **k):
        return np.array([1, 2, 3])

def liar():
    return Liar()

def liars():
    return [Liar(), {"inner": Liar()}]

class LyingList(list):
    def __eq__(self, other):
        return True

class LyingInt(int):
    def __eq__(self, other):
        return True

class LyingArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)

def lying_list():
    return LyingList([1, 2])

def lying_int():
    return LyingInt(5)

def lying_array():
    return np.arange(3).view(LyingArray)

def object_array():
    return np.array([1, "a", None], dtype=object)

def nested_object_array():
    return {"ok": np.arange(2), "bad": [np.array([{}], dtype=object)]}

def structured():
    return np.zeros(2, dtype=[("a", "<i4")])

def generator():
    return (i for i in range(3))

def fake_handle():
    return {"__proctor_handle__": "not an int", "type": "x"}

def scribble(x, y, *, z=None):
    x[0] = -1.0
    return x.sum()
'''


@pytest.fixture
def proxy(worker):
    return Proxy(worker(CODE), timeout=10)


def test_functions_with_args_kwargs_and_arrays(proxy):
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    got = proxy.stats(x, 2.0, offset=1)
    assert got["mean"] == pytest.approx(2.5 * 2 + 1)
    assert got["shape"] == (2, 3)  # a tuple stays a tuple
    np.testing.assert_array_equal(got["rows"][0], [0, 1, 2])
    np.testing.assert_array_equal(got["rows"][1], [3, 4, 5])
    assert got["sum"] == 15.0 and got["1"] == "int key"  # keys become strings
    assert repr(proxy.stats) == "<remote stats>"


def test_remote_object_handles(proxy):
    c = proxy.make_counter(5)
    assert isinstance(c, RemoteObject) and repr(c) == "<remote Counter object>"
    assert c.incr() == 6 and c.incr(k=3) == 9
    snap = c.snapshot()
    np.testing.assert_array_equal(snap["arr"], np.arange(9))
    assert snap["pair"] == (9, [9]) and type(snap["pair"]) is tuple
    other = proxy.make_counter(1)
    assert other.incr() == 2 and c.incr() == 10  # independent objects
    child = c.child()
    assert isinstance(child, RemoteObject) and child.incr(0) == 100
    with pytest.raises(CandidateError) as info:
        c.no_such_method()
    assert info.value.is_a("AttributeError") and "Counter.no_such_method" in str(info.value)


def test_private_names_are_not_reachable(proxy):
    with pytest.raises(AttributeError):
        proxy._secret  # noqa: B018
    c = proxy.make_counter(1)
    with pytest.raises(AttributeError):
        c._n  # noqa: B018
    with pytest.raises(AttributeError):
        c.__reduce_ex_remote__  # noqa: B018


def test_an_object_whose_eq_lies_is_a_handle_not_data(proxy):
    got = proxy.liar()
    assert isinstance(got, RemoteObject)
    assert got != 5 and not (got == [1, 2, 3])  # no remote __eq__ is ever called
    with pytest.raises(AssertionError, match="must be a numpy array, got RemoteObject"):
        assert_equal(got, np.array([1, 2, 3]), "liar()")
    inner = proxy.liars()
    assert isinstance(inner[0], RemoteObject) and isinstance(inner[1]["inner"], RemoteObject)


def test_subclasses_of_plain_types_arrive_as_the_plain_type(proxy):
    lst = proxy.lying_list()
    assert type(lst) is list and lst == [1, 2] and lst != [9, 9]
    i = proxy.lying_int()
    assert type(i) is int and i == 5 and i != 6
    arr = proxy.lying_array()
    assert type(arr) is np.ndarray
    assert not np.array_equal(arr, np.array([7, 7, 7]))
    with pytest.raises(AssertionError):
        assert_equal(arr, np.array([7, 7, 7]), "lying_array()")


@pytest.mark.parametrize("name", ["object_array", "nested_object_array", "structured"])
def test_numpy_arrays_that_cannot_cross_fail_with_a_clear_message(proxy, name):
    with pytest.raises(CandidateError) as info:
        getattr(proxy, name)()
    assert info.value.type_name == "CodecError"
    assert "cannot cross the boundary" in info.value.summary()
    assert name in info.value.summary()


def test_object_array_result_fails_its_check(proxy):
    defn = CheckDef("c", lambda ctx: assert_equal(proxy.object_array(), np.arange(3), "x"),
                    1.0, "correctness", False, None, "", "")
    outcome = run_check(defn, None)
    assert outcome.status == "fail"
    assert "object_array raised CodecError: arrays of dtype object cannot cross" in outcome.message


def test_generators_become_handles(proxy):
    gen = proxy.generator()
    assert isinstance(gen, RemoteObject) and repr(gen) == "<remote generator object>"


def test_a_dict_shaped_like_a_handle_with_a_bad_id_is_plain_data(proxy):
    assert proxy.fake_handle() == {"__proctor_handle__": "not an int", "type": "x"}


def test_defines(proxy):
    assert proxy.defines("stats", "Counter", "np", "nothing") == {
        "stats": True, "Counter": True, "np": False, "nothing": False}


def test_arguments_must_be_plain_data_too(proxy):
    with pytest.raises(CodecError):
        proxy.stats(object())
    with pytest.raises(CodecError):
        proxy.stats(proxy.make_counter(1))


def test_objects_returned_by_a_call_keep_the_proxys_timeout():
    """A method of a returned object gets the exercise's call timeout, not a default."""
    from proctor.worker import codec
    from proctor.worker.proxy import Proxy, RemoteObject

    class Recorder:
        dead_reason = None

        def __init__(self):
            self.timeouts = []

        def request(self, msg, timeout, where=""):
            self.timeouts.append(timeout)
            return {codec.HANDLE_KEY: 7, "type": "Tracker"}

    channel = Recorder()
    tracker = Proxy(channel, timeout=60.0).Tracker()
    assert isinstance(tracker, RemoteObject)
    nested = tracker.update([1, 2])
    nested.step()
    assert channel.timeouts == [60.0, 60.0, 60.0]


def test_returning_args_shows_what_the_call_wrote_into_its_inputs(proxy):
    """The candidate works on copies; a check sees its writes only through this."""
    x, y = np.arange(3.0), [1, 2]
    result, args = proxy.scribble.returning_args(x, y, z=(1, 2))
    assert result == -1.0 + 1.0 + 2.0
    np.testing.assert_array_equal(args[0], [-1.0, 1.0, 2.0])
    assert args[1] == [1, 2]
    np.testing.assert_array_equal(x, [0.0, 1.0, 2.0])  # the check's own array is untouched
    c = proxy.make_counter(2)
    assert c.incr.returning_args(3) == (5, [3])
