"""Plain-data wire format between the trusted grader and untrusted workers.

msgpack carries numbers, strings, lists and dicts; numpy arrays travel as an
extension type holding (dtype, shape, raw bytes) and are rebuilt with
``np.frombuffer`` from a whitelisted dtype.  Nothing is ever unpickled, so a
hostile worker can at worst send wrong data, never code.

Types survive the crossing, so that a check can enforce what a prompt says about
them: a numpy scalar (``np.int64(3)``) arrives as a numpy scalar of the same dtype,
not as the Python ``int`` 3, and a tuple arrives as a tuple, not a list.  Both are
extension types of their own (a scalar is a whitelisted dtype and its raw bytes; a
tuple is a nested message), decoded into plain numpy / Python values only.
Subclasses of the plain types (an ``IntEnum``, an ``OrderedDict``, a named tuple)
cross as their plain base type: they carry no behaviour to the other side.
"""

from __future__ import annotations

import math
import struct
from typing import Any, BinaryIO

import msgpack
import numpy as np

ARRAY_EXT = 1
SCALAR_EXT = 2  # a numpy scalar: dtype string, then its raw bytes
TUPLE_EXT = 3  # a tuple: a nested message holding its items as a list
SCALAR_LIST_EXT = 4  # a list of numpy scalars of one dtype: dtype string, then raw bytes
MAX_TUPLE_DEPTH = 64  # tuples nest by recursion on decode: bound it against hostile peers
HANDLE_KEY = "__proctor_handle__"
MAX_FRAME = 1 << 30

ALLOWED_DTYPES = frozenset(
    ["|b1", "|i1", "|u1"]
    + [f"<{k}{n}" for k in "iu" for n in (2, 4, 8)]
    + ["<f2", "<f4", "<f8"]
)


# numpy scalars: the dtype tag each whitelisted dtype is sent with, and back (native
# little-endian hosts only, like the rest of the grader: x86-64 and aarch64)
_SCALAR_DTYPES = {d.encode("ascii"): np.dtype(d) for d in ALLOWED_DTYPES}
_SCALAR_PREFIX = {np.dtype(d): bytes([len(d)]) + d.encode("ascii") for d in ALLOWED_DTYPES}


class ScalarList(list):
    """A list whose items are numpy scalars of one dtype (the worker marks such results,
    e.g. ``list(counts)``): it crosses as one block of raw bytes instead of one extension
    per item (~50x faster for long lists), and is decoded into a plain list of numpy
    scalars of that dtype, so the types still survive. Make one with ``of``."""

    @classmethod
    def of(cls, value: list) -> ScalarList | None:
        """``value`` marked as a ScalarList if all its items are numpy scalars of one
        whitelisted type, else None."""
        first = type(value[0]) if value else None
        if first is None or not issubclass(first, np.generic) \
                or value[0].dtype not in _SCALAR_PREFIX:
            return None
        return cls(value) if all(type(v) is first for v in value) else None


class CodecError(ValueError):
    """Data that is not plain (or not well-formed) crossed the boundary."""


class TruncatedFrame(CodecError, EOFError):
    """The channel closed in the middle of a frame (also an EOFError: the peer is gone)."""


def _little(dtype: np.dtype) -> np.dtype:
    return dtype.newbyteorder("<") if dtype.byteorder == ">" else dtype


def _default(obj: Any) -> Any:
    """Encode what msgpack's exact types do not cover (``strict_types``: subclasses and
    tuples come here too): arrays, numpy scalars, tuples, subclasses of plain types."""
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind == "O" or obj.dtype.fields is not None:
            raise CodecError(f"arrays of dtype {obj.dtype} cannot cross the boundary")
        arr = np.asarray(obj, dtype=_little(obj.dtype), order="C")
        if arr.dtype.str not in ALLOWED_DTYPES:
            raise CodecError(f"array dtype {arr.dtype} is not allowed")
        header = msgpack.packb([arr.dtype.str, list(arr.shape)])
        return msgpack.ExtType(ARRAY_EXT, struct.pack("<I", len(header)) + header + arr.tobytes())
    if isinstance(obj, np.generic):
        prefix = _SCALAR_PREFIX.get(obj.dtype)
        if prefix is None:
            raise CodecError(f"numpy scalars of dtype {obj.dtype} cannot cross the boundary")
        return msgpack.ExtType(SCALAR_EXT, prefix + obj.tobytes())  # scalars are native-endian
    if isinstance(obj, tuple):
        return msgpack.ExtType(TUPLE_EXT, dumps(list(obj)))
    if isinstance(obj, ScalarList) and obj:  # made by ScalarList.of: one scalar type
        dtype = obj[0].dtype
        return msgpack.ExtType(SCALAR_LIST_EXT, _SCALAR_PREFIX[dtype]
                               + np.fromiter(obj, dtype, len(obj)).tobytes())
    # subclasses of the plain types cross as their base type (bool is exact, never here)
    for base in (int, float, str, bytes, list, dict):
        if isinstance(obj, base):
            return base(obj)
    if isinstance(obj, (bytearray, memoryview)):
        return bytes(obj)
    raise CodecError(f"objects of type {type(obj).__name__} cannot cross the boundary")


def _ext_hook(code: int, data: bytes, depth: int = 0) -> Any:
    if code == SCALAR_EXT:
        return _scalar(data)
    if code == SCALAR_LIST_EXT:
        return _scalar_list(data)
    if code == TUPLE_EXT:
        if depth >= MAX_TUPLE_DEPTH:
            raise CodecError(f"tuples nested deeper than {MAX_TUPLE_DEPTH}")
        items = _unpack(data, lambda c, d: _ext_hook(c, d, depth + 1))
        if not isinstance(items, list):
            raise CodecError("a tuple must hold a list of items")
        return tuple(items)
    if code != ARRAY_EXT:
        raise CodecError(f"unknown extension type {code}")
    if len(data) < 4:
        raise CodecError("truncated array header")
    (hlen,) = struct.unpack("<I", data[:4])
    try:
        dtype_str, shape = msgpack.unpackb(data[4 : 4 + hlen], strict_map_key=True)
    except Exception as exc:  # malformed header from a hostile peer
        raise CodecError(f"malformed array header: {exc}") from None
    if dtype_str not in ALLOWED_DTYPES:
        raise CodecError(f"array dtype {dtype_str!r} is not allowed")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise CodecError(f"bad array shape {shape!r}")
    dtype = np.dtype(dtype_str)
    payload = data[4 + hlen :]
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow to fake a match
    if expected != len(payload):
        raise CodecError(f"array payload is {len(payload)} bytes, shape needs {expected}")
    return np.frombuffer(payload, dtype=dtype).reshape(tuple(shape)).copy()


def _scalar(data: bytes) -> np.generic:
    """A numpy scalar of a whitelisted dtype from its raw bytes (nothing else is read)."""
    if not data:
        raise CodecError("truncated scalar header")
    n = data[0]
    dtype = _SCALAR_DTYPES.get(data[1 : 1 + n]) if len(data) >= 1 + n else None
    if dtype is None:
        raise CodecError(f"scalar dtype {data[1:1 + n]!r} is not allowed")
    dtype_str = dtype.str
    payload = data[1 + n :]
    if len(payload) != dtype.itemsize:
        raise CodecError(f"scalar payload is {len(payload)} bytes, {dtype_str} needs "
                         f"{dtype.itemsize}")
    return np.frombuffer(payload, dtype=dtype)[0]


def _scalar_list(data: bytes) -> list:
    """A list of numpy scalars of one whitelisted dtype from their raw bytes."""
    n = data[0] if data else 0
    dtype = _SCALAR_DTYPES.get(data[1 : 1 + n]) if data and len(data) >= 1 + n else None
    if dtype is None:
        raise CodecError(f"scalar list dtype {data[1:1 + n]!r} is not allowed")
    payload = data[1 + n :]
    if not payload or len(payload) % dtype.itemsize:
        raise CodecError(f"scalar list payload of {len(payload)} bytes is not a whole "
                         f"number of {dtype.str} items")
    return list(np.frombuffer(payload, dtype=dtype))


def _unpack(data: bytes, hook: Any) -> Any:
    try:
        return msgpack.unpackb(data, ext_hook=hook, raw=False, strict_map_key=False,
                               use_list=True)
    except CodecError:
        raise
    except Exception as exc:
        raise CodecError(f"malformed message: {type(exc).__name__}: {exc}") from None


def dumps(obj: Any) -> bytes:
    """Serialise plain data; raises CodecError for anything else."""
    try:
        return msgpack.packb(obj, default=_default, use_bin_type=True, strict_types=True)
    except CodecError:
        raise
    except (OverflowError, ValueError, TypeError) as exc:  # e.g. an int over 64 bits
        raise CodecError(f"cannot encode: {type(exc).__name__}: {exc}") from None


def loads(data: bytes) -> Any:
    """Deserialise plain data; arrays come back as fresh, writable numpy arrays, numpy
    scalars as numpy scalars of their dtype, tuples as tuples."""
    return _unpack(data, _ext_hook)


FRAME_HEADER = 8  # bytes of the little-endian length prefix of every frame


def frame(obj: Any) -> bytes:
    """One message on the wire: its length, then its plain-data encoding."""
    payload = dumps(obj)
    return struct.pack("<Q", len(payload)) + payload


def frame_length(header: bytes) -> int:
    """The payload length announced by a frame's first ``FRAME_HEADER`` bytes."""
    (size,) = struct.unpack("<Q", header[:FRAME_HEADER])
    return size


def write_frame(stream: BinaryIO, obj: Any) -> None:
    stream.write(frame(obj))
    stream.flush()


def read_frame(stream: BinaryIO, max_bytes: int = MAX_FRAME) -> Any:
    """Read one length-prefixed frame; EOFError when the peer is gone between frames,
    TruncatedFrame (a CodecError and an EOFError) when it is gone in the middle of one."""
    size = frame_length(_read_exact(stream, FRAME_HEADER))
    if size > max_bytes:
        raise CodecError(f"message of {size} bytes exceeds the {max_bytes}-byte cap")
    return loads(_read_exact(stream, size, started=True))


def _read_exact(stream: BinaryIO, n: int, started: bool = False) -> bytes:
    chunks = []
    want = n
    while n:
        chunk = stream.read(n)
        if not chunk:
            if started or n < want:
                raise TruncatedFrame(f"channel closed {n} bytes short of the end of a frame")
            raise EOFError("peer closed the channel")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)
