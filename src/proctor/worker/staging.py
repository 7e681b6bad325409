"""How the arrays of timed calls cross the boundary without costing the timed worker.

Latency is the CPU time of each worker's whole tree (proctor.measure), so whatever a
worker spends moving inputs in and results out is charged to it: through the pipe that is
several copies per array (decode, encode, frame, pipe), and it pulls every ratio towards 1
when the work is small next to its data (docs/measurement.md, "The boundary").  Here the
*grader* moves the bytes, in its own CPU time, through the worker's ``/proc/<pid>/mem``:

* staging: the stage message carries each array as a slot (dtype, shape); the worker
  allocates ordinary, private, writable numpy arrays (``np.empty``) and answers their
  addresses; the grader writes the bytes there (the page faults are taken in the
  grader's context) before it sends the timed ``run``;
* results: the worker answers each result array as (address, size, dtype, shape) and keeps
  it alive until its next message; the grader reads the bytes itself.

Only plain data crosses: descriptors go through the codec like any message, the bytes
become arrays of the codec's allowed dtypes with checked sizes, nothing is unpickled.
The worker chooses nothing but addresses *in its own memory*: a bad one only makes its
own answer wrong (EFAULT or garbage, then the output check fails) or corrupts itself.
The descriptor keys below are distinct from any codec key; a candidate returning such a
dict by hand gets an array made of its own memory, which is checked like any result.

This module is the worker's side (``allocate``, ``describe``, ``allocator``;
it imports nothing beyond numpy); proctor.worker.memwindow is the grader's (``Window``,
``split``, ``fill``, ``gather``), used by proctor.measure.  Without a usable window (no
/proc, not permitted, an in-process client) the pipe carries the arrays as before.
"""

from __future__ import annotations

from typing import Any

from proctor.worker import codec

_SCALARS = frozenset({type(None), bool, int, float, str})
SLOT_KEY = "__proctor_slot__"   # stage message: an array the grader will write
MEM_KEY = "__proctor_mem__"     # run reply: an array left in the worker's memory


# -- worker side ----------------------------------------------------------------------


def allocate(calls: Any) -> tuple[Any, list[list[int]]]:
    """Replace every slot in ``calls`` with a fresh array; returns the calls and, in slot
    order, ``[address, nbytes]`` of each array for the grader to fill.  The arrays are
    ordinary, writable numpy arrays, each its own allocation (one buffer for all of a
    message's inputs fragmented the heap: the results' memory was faulted in again)."""
    import numpy as np

    where: list[list[int]] = []
    dtypes: dict[str, Any] = {}

    def walk(v: Any) -> Any:
        if type(v) is dict:
            if SLOT_KEY in v:
                name = v["dtype"]
                dtype = dtypes.get(name)
                if dtype is None:
                    if name not in codec.ALLOWED_DTYPES:
                        raise codec.CodecError(f"array dtype {name!r} is not allowed")
                    dtype = dtypes[name] = np.dtype(name)
                if v[SLOT_KEY] != len(where):
                    raise codec.CodecError("stage slots out of order")
                arr = np.empty(tuple(v["shape"]), dtype)
                where.append([arr.ctypes.data, arr.nbytes])
                return arr
            return {k: walk(x) for k, x in v.items()}
        if type(v) is list:
            return [walk(x) for x in v]
        if type(v) is tuple:
            return tuple(walk(x) for x in v)
        return v

    return walk(calls), where


def reply_frame(parts: list[bytes]) -> bytes:
    """The frame of ``{"ok": [r1, r2, ...]}`` from each result already encoded by the codec
    (the same bytes as encoding the whole reply at once)."""
    import struct

    import msgpack

    packer = msgpack.Packer()
    payload = b"".join([packer.pack_map_header(1), codec.dumps("ok"),
                        packer.pack_array_header(len(parts)), *parts])
    return struct.pack("<Q", len(payload)) + payload


def plain_described(value: Any, keep: list, plain: Any, depth: int = 0) -> Any:
    """``describe(plain(value), keep)`` in one pass (``plain`` is the worker's conversion
    of results to plain data, used for whatever this does not know): the same result,
    without scanning a long list of numbers twice and copying it."""
    import numpy as np

    kind = type(value)
    if kind in _SCALARS or isinstance(value, np.generic):
        return value
    if kind is np.ndarray:
        return describe(value, keep)
    if depth > 50:
        raise codec.CodecError("result nested too deeply")
    if kind is list or kind is tuple:
        if set(map(type, value)) <= _SCALARS:
            return value if kind is list else list(value)
        return [plain_described(v, keep, plain, depth + 1) for v in value]
    if kind is dict:
        return {str(k): plain_described(v, keep, plain, depth + 1) for k, v in value.items()}
    return describe(plain(value, depth), keep)


def describe(value: Any, keep: list) -> Any:
    """A plain result with each array replaced by its descriptor; the arrays go to ``keep``
    (alive until the grader has read them).  Non-contiguous or big-endian arrays are made
    contiguous little-endian first (a copy the worker pays, as it pays encoding)."""
    import numpy as np

    if isinstance(value, np.ndarray):
        if value.dtype.kind == "O" or value.dtype.fields is not None:
            raise codec.CodecError(f"arrays of dtype {value.dtype} cannot cross the boundary")
        if value.dtype.byteorder == ">":
            value = value.astype(value.dtype.newbyteorder("<"))
        if not value.flags.c_contiguous:
            value = np.ascontiguousarray(value)
        if value.dtype.str not in codec.ALLOWED_DTYPES:
            raise codec.CodecError(f"array dtype {value.dtype} is not allowed")
        keep.append(value)
        return {MEM_KEY: [value.__array_interface__["data"][0], value.nbytes],
                "dtype": value.dtype.str, "shape": list(value.shape)}
    if isinstance(value, list):
        if set(map(type, value)) <= _SCALARS:         # nothing to replace: one C pass
            return value
        return [describe(v, keep) for v in value]
    if isinstance(value, dict):
        return {k: describe(v, keep) for k, v in value.items()}
    return value


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3          # glibc mallopt parameters
_HEAP_BELOW = 32 << 20                                   # glibc's largest mmap threshold
_KEEP = 1 << 30


def allocator(timing: bool) -> bool:
    """Timing mode for glibc's malloc, on for the length of a latency measurement: blocks
    below 32 MiB come from the heap, and freed heap is kept (no trimming), so that a
    block's many staged inputs and held results are reused by the next block as a
    long-lived process reuses its memory, instead of being returned to the kernel and
    faulted in again (a page fault per 4 KiB: more than small timed functions' own work,
    and charged to the worker).  Memory freed before is returned first.  (Workers also
    run with ``glibc.malloc.hugetlb=1``, proctor.worker.config: huge pages for all of the
    heap, so that none of it runs at another speed.)

    Off again after the measurement: defaults restored and freed memory returned, so that
    memory budgets see what a function allocates.  False where there is no glibc (musl:
    mallopt is a no-op)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        if timing:
            libc.malloc_trim(0)   # free memory faulted in before (huge pages too) goes back
            ok = libc.mallopt(_M_MMAP_THRESHOLD, _HEAP_BELOW) and libc.mallopt(
                _M_TRIM_THRESHOLD, _KEEP)
        else:
            ok = libc.mallopt(_M_TRIM_THRESHOLD, 128 << 10) and libc.mallopt(
                _M_MMAP_THRESHOLD, 128 << 10)
            libc.malloc_trim(0)
        return bool(ok)
    except (OSError, AttributeError):
        return False
