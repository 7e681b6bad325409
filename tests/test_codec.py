"""The plain-data wire format: what may cross, what may not, and hostile bytes."""

from __future__ import annotations

import io
import pickle
import struct

import msgpack
import numpy as np
import pytest

from proctor.worker import codec
from proctor.worker.codec import ARRAY_EXT, CodecError, dumps, loads, read_frame, write_frame


def rt(obj):
    return loads(dumps(obj))


def array_ext(dtype_str: str, shape, payload: bytes, header=None) -> bytes:
    """A hand-made array extension frame, as a hostile peer could send it."""
    header = header if header is not None else msgpack.packb([dtype_str, shape])
    return msgpack.packb(msgpack.ExtType(ARRAY_EXT, struct.pack("<I", len(header)) + header
                                         + payload))


# ------------------------------------------------------------------ round trips


def test_nested_plain_data_round_trips():
    obj = {"a": [1, -2, 2**40, 1.5, "ü", None, True, False],
           "nested": {"deeper": [[], {}, [{"x": b"\x00\xff"}]]},
           "empty": ""}
    assert rt(obj) == obj


def test_python_and_numpy_scalars_stay_apart():
    """A check can enforce "Python ints" (e.g. a COCO RLE that json.dumps must accept)
    only if np.int64(7) does not arrive as 7."""
    got = rt({"i": 7, "f": 0.5, "b": True,
              "ni": np.int64(7), "nf": np.float32(0.5), "nb": np.bool_(True),
              "n8": np.uint8(255), "n64": np.float64(2.5), "n16": np.int16(-3)})
    assert (type(got["i"]), type(got["f"]), type(got["b"])) == (int, float, bool)
    assert type(got["ni"]) is np.int64 and got["ni"] == 7
    assert type(got["nf"]) is np.float32 and got["nf"] == 0.5
    assert type(got["nb"]) is np.bool_ and got["nb"]
    assert type(got["n8"]) is np.uint8 and got["n8"] == 255
    # np.float64 subclasses float: it must still not pass for a Python float
    assert type(got["n64"]) is np.float64 and got["n64"] == 2.5
    assert type(got["n16"]) is np.int16 and got["n16"] == -3


def test_tuples_stay_tuples_and_lists_stay_lists():
    got = rt({"t": (1, (2, [3, (4,)]), ()), "l": [1, [2]], "empty": ()})
    assert got == {"t": (1, (2, [3, (4,)]), ()), "l": [1, [2]], "empty": ()}
    assert type(got["t"]) is tuple and type(got["t"][1]) is tuple
    assert type(got["t"][1][1]) is list and type(got["t"][1][1][1]) is tuple
    assert type(got["l"]) is list
    arr = rt((np.arange(3), np.int32(2)))
    assert type(arr) is tuple and type(arr[1]) is np.int32
    np.testing.assert_array_equal(arr[0], np.arange(3))


def test_lists_of_numpy_scalars_cross_as_one_block_and_keep_their_types():
    from proctor.worker.server import Worker

    plain = Worker().plain
    counts = list(np.arange(1000, dtype=np.int64))
    marked = plain(counts)
    assert isinstance(marked, codec.ScalarList)
    data = dumps(marked)
    assert len(data) < 8 * 1000 + 32  # one block of raw bytes, not 1,000 extensions
    got = loads(data)
    assert type(got) is list and len(got) == 1000
    assert all(type(v) is np.int64 for v in got) and got == counts
    # mixed scalar types, or Python numbers among them, stay item by item
    assert [type(v) for v in rt(plain([np.float32(1), np.float64(2), 3]))] == \
        [np.float32, np.float64, int]
    assert rt(plain([])) == [] and rt(plain([np.bool_(True)])) == [True]
    with pytest.raises(CodecError):
        dumps(plain([np.complex64(1), np.complex64(2)]))


@pytest.mark.parametrize("data", [
    bytes([3]) + b"<i8" + b"\0" * 12,     # not a whole number of items
    bytes([3]) + b"<i8",                   # no items
    bytes([2]) + b"|O" + b"\0" * 8,
    bytes([9]) + b"<i8",                   # length lies
    b"",
])
def test_hostile_scalar_lists_raise(data):
    with pytest.raises(CodecError):
        loads(msgpack.packb(msgpack.ExtType(codec.SCALAR_LIST_EXT, data)))


def test_subclasses_of_plain_types_cross_as_their_base_type():
    import collections
    import enum

    class Colour(enum.IntEnum):
        RED = 3

    class Name(str):
        pass

    pair = collections.namedtuple("pair", "a b")
    got = rt({"e": Colour.RED, "s": Name("x"), "nt": pair(1, 2),
              "od": collections.OrderedDict(a=1), "dd": collections.defaultdict(list, b=[1]),
              "ba": bytearray(b"ab")})
    assert got == {"e": 3, "s": "x", "nt": (1, 2), "od": {"a": 1}, "dd": {"b": [1]},
                   "ba": b"ab"}
    assert type(got["e"]) is int and type(got["s"]) is str and type(got["nt"]) is tuple
    assert type(got["od"]) is dict and type(got["dd"]) is dict


def test_types_survive_a_call_through_the_worker():
    """End to end: a candidate function's result, as a check sees it."""
    from proctor.worker.local import LocalClient
    from proctor.worker.proxy import Proxy

    ns: dict = {}
    exec("import numpy as np\n"
         "def rle(): return {'size': (2, 3), 'counts': [np.int64(1), 5]}\n"
         "def echo(x): return x, type(x).__name__\n", ns)
    cand = Proxy(LocalClient(ns))
    got = cand.rle()
    assert type(got["size"]) is tuple and type(got["counts"]) is list
    assert type(got["counts"][0]) is np.int64 and type(got["counts"][1]) is int
    # and arguments reach the candidate as they were sent
    assert cand.echo((1, 2)) == ((1, 2), "tuple")
    assert cand.echo([1, 2]) == ([1, 2], "list")
    assert cand.echo(np.float64(1.5)) == (1.5, "float64")
    assert cand.echo(1.5) == (1.5, "float")


@pytest.mark.parametrize("dtype", sorted(codec.ALLOWED_DTYPES))
@pytest.mark.parametrize("shape", [(3, 2), (), (0,), (0, 4), (2, 0, 3)])
def test_every_whitelisted_dtype_round_trips(dtype, shape):
    rng = np.random.default_rng(0)
    values = rng.integers(0, 100, size=shape) % (2 if dtype == "|b1" else 100)
    arr = np.asarray(values).astype(dtype)
    assert arr.shape == shape
    got = rt({"x": arr})["x"]
    assert isinstance(got, np.ndarray) and type(got) is np.ndarray
    assert got.dtype == np.dtype(dtype) and got.dtype.str == dtype
    assert got.shape == shape
    np.testing.assert_array_equal(got, arr)
    assert got.flags.writeable and got.flags.c_contiguous
    got[...] = 0  # a fresh copy: writing to it must be allowed


@pytest.mark.parametrize("dtype", [">i2", ">i4", ">i8", ">u4", ">f4", ">f8", ">f2"])
def test_big_endian_input_is_normalised_to_little(dtype):
    arr = np.arange(6, dtype=dtype).reshape(2, 3)
    got = rt(arr)
    assert got.dtype.str == "<" + dtype[1:]
    np.testing.assert_array_equal(got, arr)


def test_non_contiguous_views_round_trip():
    base = np.arange(24, dtype=np.float64).reshape(4, 6)
    view = base[::2, 1::2].T
    np.testing.assert_array_equal(rt(view), view)


def test_special_float_values_survive():
    arr = np.array([np.nan, np.inf, -np.inf, -0.0])
    got = rt(arr)
    assert np.isnan(got[0]) and got[1] == np.inf and got[2] == -np.inf
    assert np.signbit(got[3])


# ------------------------------------------------------------------ what may not cross


class Anything:
    pass


@pytest.mark.parametrize("bad", [
    np.array([1, "a", None], dtype=object),
    np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")]),
    np.zeros(2, dtype=np.complex128),
    np.array(["ab", "c"]),
    np.zeros(2, dtype="datetime64[s]"),
    np.zeros(2, dtype=np.float128) if hasattr(np, "float128") else np.zeros(2, "V8"),
    Anything(),
    {1, 2},
    lambda: 1,
    np.complex64(1),
    {"deep": [1, {"x": Anything()}]},
])
def test_non_plain_values_raise_codec_error(bad):
    with pytest.raises(CodecError):
        dumps(bad)


@pytest.mark.parametrize("bad", [np.complex128(1), np.str_("a"), np.datetime64(1, "s"),
                                 np.void(b"ab"), (1, Anything()), 2**70])
def test_non_plain_scalars_and_tuples_raise_codec_error(bad):
    with pytest.raises(CodecError):
        dumps(bad)


def test_object_array_error_names_the_dtype():
    with pytest.raises(CodecError, match="object"):
        dumps(np.array([None]))


# ------------------------------------------------------------------ hostile bytes


def test_unknown_extension_type_raises():
    with pytest.raises(CodecError, match="unknown extension type 7"):
        loads(msgpack.packb(msgpack.ExtType(7, b"whatever")))


@pytest.mark.parametrize("dtype_str,shape,payload", [
    ("<f8", [10], b"\0" * 8),           # shape needs 80 bytes, 8 sent
    ("<f8", [1], b"\0" * 16),           # more bytes than the shape needs
    ("<i4", [2, 2], b"\0" * 12),
    ("|u1", [2**32, 2**32], b""),       # product overflows int64 to 0
    ("<f8", [2**63, 2], b""),
    ("<f8", [-1], b""),
    ("|u1", [2**62, 4, 0, 1], b""),      # zero-size, absurd dims
    ("<f8", [1.5], b"\0" * 8),
    ("<f8", "3", b"\0" * 24),
    ("<f8", None, b""),
    ("|O", [1], b"\0" * 8),             # object dtype is never rebuilt
    ("<U1", [1], b"\0" * 4),
    ("<c16", [1], b"\0" * 16),
    ("V8", [1], b"\0" * 8),
])
def test_lying_or_forbidden_array_headers_raise(dtype_str, shape, payload):
    with pytest.raises(CodecError):
        loads(array_ext(dtype_str, shape, payload))


@pytest.mark.parametrize("shape", [[2**32, 2**32], [2**63, 2]])
def test_shape_products_do_not_overflow_into_a_match(shape):
    with pytest.raises(CodecError, match="shape needs|bad array shape"):
        loads(array_ext("|u1", shape, b""))


def test_array_header_length_lies():
    header = msgpack.packb(["<f8", [1]])
    data = struct.pack("<I", 10_000) + header + b"\0" * 8
    with pytest.raises(CodecError):
        loads(msgpack.packb(msgpack.ExtType(ARRAY_EXT, data)))
    with pytest.raises(CodecError, match="truncated"):
        loads(msgpack.packb(msgpack.ExtType(ARRAY_EXT, b"\x01\x00")))
    with pytest.raises(CodecError):
        loads(msgpack.packb(msgpack.ExtType(ARRAY_EXT, struct.pack("<I", 3) + b"\xc1\xc1\xc1")))


def scalar_ext(tag: bytes, payload: bytes) -> bytes:
    return msgpack.packb(msgpack.ExtType(codec.SCALAR_EXT, bytes([len(tag)]) + tag + payload))


@pytest.mark.parametrize("data", [
    scalar_ext(b"<i8", b"\0" * 4),            # payload shorter than the dtype
    scalar_ext(b"<i8", b"\0" * 9),            # longer
    scalar_ext(b"|O", b"\0" * 8),             # object dtype is never rebuilt
    scalar_ext(b"<U1", b"\0" * 4),
    scalar_ext(b"<c16", b"\0" * 16),
    scalar_ext(b"\xff\xfe", b"\0" * 8),        # not ascii
    msgpack.packb(msgpack.ExtType(codec.SCALAR_EXT, b"")),
    msgpack.packb(msgpack.ExtType(codec.SCALAR_EXT, b"\x09<i8")),   # length lies
])
def test_lying_or_forbidden_scalars_raise(data):
    with pytest.raises(CodecError):
        loads(data)


def test_hostile_tuples_raise():
    # a tuple's payload must be a well-formed list
    for payload in (msgpack.packb({"a": 1}), b"\xc1", msgpack.packb([1, 2])[:-1]):
        with pytest.raises(CodecError):
            loads(msgpack.packb(msgpack.ExtType(codec.TUPLE_EXT, payload)))
    # nesting is bounded (decoding tuples recurses)
    def nested(levels: int) -> bytes:
        items = msgpack.packb([])
        for _ in range(levels - 1):
            items = msgpack.packb([msgpack.ExtType(codec.TUPLE_EXT, items)])
        return msgpack.packb(msgpack.ExtType(codec.TUPLE_EXT, items))

    with pytest.raises(CodecError, match="nested deeper"):
        loads(nested(codec.MAX_TUPLE_DEPTH + 1))
    assert isinstance(loads(nested(codec.MAX_TUPLE_DEPTH)), tuple)
    assert rt(((((),),),)) == ((((),),),)


@pytest.mark.parametrize("data", [
    b"",
    b"\xc1",                                   # a byte msgpack never uses
    msgpack.packb([1, 2, 3])[:-1],             # truncated message
    msgpack.packb({"a": "x" * 100})[:20],
    msgpack.packb(1) + msgpack.packb(2),       # trailing data
    b"\x91" * 100_000 + b"\xc0",               # nested far too deep
])
def test_malformed_messages_raise_codec_error(data):
    with pytest.raises(CodecError):
        loads(data)


class _Boom:
    triggered = False

    def __reduce__(self):
        return (_Boom._trigger, ())

    @staticmethod
    def _trigger():
        _Boom.triggered = True
        return "pwned"


def test_loads_never_unpickles(monkeypatch):
    def forbidden(*a, **k):
        raise AssertionError("pickle was called")

    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    evil = pickle.dumps(_Boom(), protocol=0)
    # a pickle payload as a bytes value stays bytes
    assert loads(msgpack.packb({"x": evil}, use_bin_type=True)) == {"x": evil}
    # raw pickle bytes as a whole message, or inside the array extension, are refused
    for data in (evil, pickle.dumps(_Boom()),
                 msgpack.packb(msgpack.ExtType(ARRAY_EXT, evil)),
                 msgpack.packb(msgpack.ExtType(ARRAY_EXT, struct.pack("<I", 0) + evil))):
        with pytest.raises(CodecError):
            loads(data)
    assert not _Boom.triggered


# ------------------------------------------------------------------ frames


def test_frames_round_trip_in_sequence():
    buf = io.BytesIO()
    msgs = [{"op": "call", "args": [np.arange(5)]}, [1, 2], "x", None]
    for m in msgs:
        write_frame(buf, m)
    buf.seek(0)
    got = [read_frame(buf) for _ in msgs]
    np.testing.assert_array_equal(got[0]["args"][0], np.arange(5))
    assert got[1:] == msgs[1:]
    with pytest.raises(EOFError):  # clean end between frames
        read_frame(buf)


def test_clean_eof_is_not_a_codec_error():
    with pytest.raises(EOFError) as info:
        read_frame(io.BytesIO(b""))
    assert not isinstance(info.value, CodecError)


@pytest.mark.parametrize("cut", [3, 8, 9, -1])
def test_truncated_frames_raise_codec_error(cut):
    buf = io.BytesIO()
    write_frame(buf, {"payload": "x" * 100})
    data = buf.getvalue()[:cut]
    with pytest.raises(CodecError, match="short"):
        read_frame(io.BytesIO(data))


def test_oversize_frame_header_is_refused_before_reading():
    class NoRead(io.BytesIO):
        reads = 0

        def read(self, n=-1):
            NoRead.reads += 1
            if NoRead.reads > 1:
                raise AssertionError("the payload must not be read")
            return super().read(n)

    with pytest.raises(CodecError, match="exceeds"):
        read_frame(NoRead(struct.pack("<Q", codec.MAX_FRAME + 1) + b"x" * 100))
    buf = io.BytesIO()
    write_frame(buf, "x" * 200)
    buf.seek(0)
    with pytest.raises(CodecError, match="exceeds the 100-byte cap"):
        read_frame(buf, max_bytes=100)


def test_frame_with_garbage_payload_raises_codec_error():
    with pytest.raises(CodecError):
        read_frame(io.BytesIO(struct.pack("<Q", 4) + b"\xc1\xc1\xc1\xc1"))


def test_timed_results_take_the_same_one_block_path_through_memory_staging():
    """A timed run encodes results with ``plain_described``: a list of numpy scalars must
    cost what it costs outside timing (one block), or the latency check would charge the
    boundary for a type slip that its own clause judges."""
    from proctor.worker import staging
    from proctor.worker.server import Worker

    counts = list(np.arange(1000, dtype=np.int64))
    out = staging.plain_described({"size": [2, 500], "counts": counts}, staging.Outbox(),
                                  Worker().plain)
    assert isinstance(out["counts"], codec.ScalarList)
    assert len(dumps(out)) < 8 * 1000 + 64
    assert loads(dumps(out))["counts"] == counts
