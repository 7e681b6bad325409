"""Plain-data wire format between the trusted grader and untrusted workers.

msgpack carries numbers, strings, lists and dicts; numpy arrays travel as an
extension type holding (dtype, shape, raw bytes) and are rebuilt with
``np.frombuffer`` from a whitelisted dtype.  Nothing is ever unpickled, so a
hostile worker can at worst send wrong data, never code.
"""

from __future__ import annotations

import math
import struct
from typing import Any, BinaryIO

import msgpack
import numpy as np

ARRAY_EXT = 1
HANDLE_KEY = "__proctor_handle__"
MAX_FRAME = 1 << 30

ALLOWED_DTYPES = frozenset(
    ["|b1", "|i1", "|u1"]
    + [f"<{k}{n}" for k in "iu" for n in (2, 4, 8)]
    + ["<f2", "<f4", "<f8"]
)


class CodecError(ValueError):
    """Data that is not plain (or not well-formed) crossed the boundary."""


class TruncatedFrame(CodecError, EOFError):
    """The channel closed in the middle of a frame (also an EOFError: the peer is gone)."""


def _little(dtype: np.dtype) -> np.dtype:
    return dtype.newbyteorder("<") if dtype.byteorder == ">" else dtype


def _default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind == "O" or obj.dtype.fields is not None:
            raise CodecError(f"arrays of dtype {obj.dtype} cannot cross the boundary")
        arr = np.asarray(obj, dtype=_little(obj.dtype), order="C")
        if arr.dtype.str not in ALLOWED_DTYPES:
            raise CodecError(f"array dtype {arr.dtype} is not allowed")
        header = msgpack.packb([arr.dtype.str, list(arr.shape)])
        return msgpack.ExtType(ARRAY_EXT, struct.pack("<I", len(header)) + header + arr.tobytes())
    if isinstance(obj, np.generic) and obj.dtype.kind in "biuf":
        return obj.item()
    if isinstance(obj, tuple):
        return list(obj)
    raise CodecError(f"objects of type {type(obj).__name__} cannot cross the boundary")


def _ext_hook(code: int, data: bytes) -> Any:
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


def dumps(obj: Any) -> bytes:
    """Serialise plain data; raises CodecError for anything else."""
    return msgpack.packb(obj, default=_default, use_bin_type=True, strict_types=False)


def loads(data: bytes) -> Any:
    """Deserialise plain data; arrays come back as fresh, writable numpy arrays."""
    try:
        return msgpack.unpackb(
            data, ext_hook=_ext_hook, raw=False, strict_map_key=False, use_list=True
        )
    except CodecError:
        raise
    except Exception as exc:
        raise CodecError(f"malformed message: {type(exc).__name__}: {exc}") from None


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
