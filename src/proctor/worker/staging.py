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

This module is the worker's side (``allocate``, ``touch``, ``kept``, ``describe``,
``allocator``; it imports nothing beyond numpy and the codec); proctor.worker.memwindow is
the grader's (``Window``, ``split``, ``fill``, ``gather``), used by proctor.measure.
Without a usable window (no /proc, not permitted, an in-process client) the pipe carries
the arrays as before.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from proctor.worker import codec

SCALARS = frozenset({type(None), bool, int, float, str})
SLOT_KEY = "__proctor_slot__"   # stage message: an array the grader will write
MEM_KEY = "__proctor_mem__"     # run reply: an array left in the worker's memory
_NATIVE = frozenset(map(np.dtype, codec.ALLOWED_DTYPES))   # held as they are (``kept``)
HELD_BYTES = 64 << 10                                      # ... up to this size


# -- worker side ----------------------------------------------------------------------


def allocate(calls: list) -> tuple[list, list[list[int]], list[list]]:
    """Replace every slot in ``calls`` (``[[args, kwargs], ...]``) with a fresh array;
    returns the calls, ``[address, nbytes]`` of each array in slot order for the grader
    to fill, and each call's arrays (for ``touch``).  The arrays are ordinary, writable
    numpy arrays, each its own allocation (one buffer for all of a message's inputs
    fragmented the heap: the results' memory was faulted in again)."""
    where: list[list[int]] = []
    dtypes: dict[str, Any] = {}
    mine: list = []

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
                mine.append(arr)
                return arr
            return {k: walk(x) for k, x in v.items()}
        if type(v) is list:
            return [walk(x) for x in v]
        if type(v) is tuple:
            return tuple(walk(x) for x in v)
        return v

    out, per_call = [], []
    for call in calls:
        mine = []
        out.append(walk(call))
        per_call.append(mine)
    return out, where, per_call


def touch(arrays: list) -> None:
    """Read one byte of every cache line of a call's inputs, right before the call (and
    before each null call: it is part of the boundary, measured and taken off).

    A run's inputs were all written before it started, so a call finds its own in the
    shared cache at best, while a function doing k times the work reads them k-1 times
    from its own: a cost per call (13% of an ``rle_encode`` call) that pulled ratios
    towards 1.  In a notebook, inputs usually come hot from whatever made them."""
    for a in arrays:
        if a.nbytes >= 4096:
            np.bitwise_or.reduce(a.reshape(-1).view(np.uint8)[::64])


def reply_frame(parts: list[bytes]) -> bytes:
    """The frame of ``{"ok": [r1, r2, ...]}`` from each result already encoded by the codec
    (the same bytes as encoding the whole reply at once)."""
    import struct

    import msgpack

    packer = msgpack.Packer()
    payload = b"".join([packer.pack_map_header(1), codec.dumps("ok"),
                        packer.pack_array_header(len(parts)), *parts])
    return struct.pack("<Q", len(payload)) + payload


def plain_described(value: Any, keep: Any, plain: Any, depth: int = 0) -> Any:
    """``describe(plain(value), keep)`` in one pass (``plain`` is the worker's conversion
    of results to plain data, used for whatever this does not know): the same result,
    without scanning a long list of numbers twice and copying it."""
    kind = type(value)
    if kind in SCALARS or isinstance(value, np.generic):
        return value
    if kind is np.ndarray:
        return describe(value, keep)
    if depth > 50:
        raise codec.CodecError("result nested too deeply")
    if kind is list or kind is tuple:
        if set(map(type, value)) <= SCALARS:
            return value if kind is list else list(value)
        if kind is list and (same := codec.ScalarList.of(value)) is not None:
            return same   # numpy scalars of one dtype: one block, as ``plain`` sends them
        return [plain_described(v, keep, plain, depth + 1) for v in value]
    if kind is dict:
        return {str(k): plain_described(v, keep, plain, depth + 1) for k, v in value.items()}
    return describe(plain(value, depth), keep)


class Outbox:
    """Where a run's result arrays wait for the grader: copied into buffers kept for the
    whole measurement (faulted in once), so that each result can be let go right after
    its call, and the function's next call reuses that memory as a loop in a notebook
    does, instead of writing every result into memory it has not touched for a while.
    The copy is part of the boundary (null runs copy too).  Arrays over ``CHUNK`` are kept
    as they are."""

    CHUNK = 8 << 20

    def __init__(self) -> None:
        self.chunks: list = []
        self.bases: list[int] = []         # each chunk's address (``.ctypes`` is slow)
        self.big: list = []
        self.at = (0, 0)                   # (chunk, offset) of the next array

    def reset(self) -> None:
        self.big, self.at = [], (0, 0)

    def put(self, arr: Any) -> int:
        """Copy ``arr`` (any layout; little-endian dtype ``arr.dtype``) in; its address."""
        n = arr.nbytes
        if n > self.CHUNK:
            arr = np.ascontiguousarray(arr)
            self.big.append(arr)
            return arr.ctypes.data
        i, off = self.at
        if off + n > self.CHUNK:
            i, off = i + 1, 0
        if i == len(self.chunks):
            self.chunks.append(np.empty(self.CHUNK, np.uint8))
            self.bases.append(self.chunks[-1].ctypes.data)
        np.copyto(np.ndarray(arr.shape, arr.dtype, self.chunks[i], off), arr)
        self.at = (i, off + -(-n // 64) * 64)
        return self.bases[i] + off


class Held(NamedTuple):
    """A result array already in the outbox, whose descriptor is encoded after the run's
    last call (``encoded``)."""

    address: int
    nbytes: int
    dtype: str
    shape: tuple


def kept(value: Any, outbox: Outbox, plain: Any) -> bytes | Held:
    """What a run keeps of one result, right after its call, so that the result can be let
    go: a small array (``HELD_BYTES``) of an allowed native dtype is copied into the outbox
    and held; anything else is described and encoded at once (``plain_described``).

    Why small arrays wait: the Python work of describing and encoding, done between two
    calls, runs cold (the call has just evicted its code and data) and cost twice what the
    same work costs back to back in a null run (a tracker's 12 ids: 10.8 against 5.5 µs),
    so the boundary's correction fell short by up to 20 µs a call and put a tracker doing 8
    times the work at 0.87 of the truth.  The copy stays between the calls (the memory
    must be let go); the rest runs after the last call, as hot as in the null run.  Big
    results keep the old order: a few µs are nothing next to their calls, and with them
    held, ``multi_head_attention``'s ratio read 9-17% high in 5 of 16 benchmark runs
    (0 of 9 without; not understood, so not risked)."""
    if type(value) is np.ndarray and value.dtype in _NATIVE and value.nbytes <= HELD_BYTES:
        return Held(outbox.put(value), value.nbytes, value.dtype.str, value.shape)
    return codec.dumps(plain_described(value, outbox, plain))


def encoded(kept_: list) -> list[bytes]:
    """Each kept result encoded, as ``plain_described`` would have described it."""
    return [x if type(x) is bytes else codec.dumps(_descriptor(*x)) for x in kept_]


def _descriptor(address: int, nbytes: int, dtype: str, shape: tuple) -> dict:
    """How a run's reply names an array left in the worker's memory (memwindow.gather)."""
    return {MEM_KEY: [address, nbytes], "dtype": dtype, "shape": list(shape)}


def describe(value: Any, keep: Any) -> Any:
    """A plain result with each array replaced by its descriptor; the arrays go to ``keep``
    (an ``Outbox``, or a list that holds them as they are) until the grader has read them.
    Big-endian arrays are converted to little-endian (a copy the worker pays, as it pays
    encoding)."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "O" or value.dtype.fields is not None:
            raise codec.CodecError(f"arrays of dtype {value.dtype} cannot cross the boundary")
        if value.dtype.byteorder == ">":
            value = value.astype(value.dtype.newbyteorder("<"))
        if value.dtype.str not in codec.ALLOWED_DTYPES:
            raise codec.CodecError(f"array dtype {value.dtype} is not allowed")
        if isinstance(keep, list):
            value = np.ascontiguousarray(value)
            keep.append(value)
            address = value.ctypes.data
        else:
            address = keep.put(value)
        return _descriptor(address, value.nbytes, value.dtype.str, value.shape)
    if isinstance(value, list):
        if set(map(type, value)) <= SCALARS:         # nothing to replace: one C pass
            return value
        return [describe(v, keep) for v in value]
    if isinstance(value, dict):
        return {k: describe(v, keep) for k, v in value.items()}
    return value


_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3   # glibc mallopt parameters
_PR_SET_THP_DISABLE = 41
_HEAP_BELOW = 4 << 20                                    # (numpy madvises >= 4 MiB)
_TOP_PAD = 64 << 20
_KEEP = 1 << 30
_DEFAULT = 128 << 10


def allocator(timing: bool) -> bool:
    """Timing mode for the worker's memory, on for the length of a latency measurement:

    * glibc malloc serves blocks below 4 MiB from the heap and keeps freed heap (no
      trimming), so that a block's staged inputs and results are reused by the next block
      as a long-lived process reuses its memory, instead of being returned to the kernel
      and faulted in again (a page fault per 4 KiB: more than small timed functions' own
      work);
    * and it keeps 64 MiB free at the heap's top (``M_TOP_PAD``), from which glibc serves
      any request the top has room for, whatever the mmap threshold: bigger temporaries
      are reused too, on every call. Without it they were, or were not, depending on what
      the previous block had freed: a 5 MB temporary faulted on some calls and not on
      others, in stretches (``multi_head_attention`` at 8.5 or 4.6 ms a call, its blocks'
      ratios 0.5-1.8). Raising the mmap threshold to 32 MiB instead put ``mask_iou``'s
      k-times-the-work rows at 0.92 of the truth (benchmarks/ratio_fidelity.py);
    * no transparent huge pages (``PR_SET_THP_DISABLE``): whether a chunk got them
      depended on where it landed, and the same code ran at two speeds (``mask_iou``: 12
      or 17 ms a call for whole stretches of a measurement).

    Memory freed before is returned first.  Off again after the measurement: defaults
    restored and freed memory returned, so that memory budgets see what a function
    allocates.  False where there is no glibc (musl: mallopt is a no-op)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.prctl(_PR_SET_THP_DISABLE, 1 if timing else 0, 0, 0, 0)
        if timing:
            libc.malloc_trim(0)   # free memory faulted in before (huge pages too) goes back
            ok = (libc.mallopt(_M_MMAP_THRESHOLD, _HEAP_BELOW)
                  and libc.mallopt(_M_TRIM_THRESHOLD, _KEEP)
                  and libc.mallopt(_M_TOP_PAD, _TOP_PAD))
        else:
            ok = (libc.mallopt(_M_TRIM_THRESHOLD, _DEFAULT)
                  and libc.mallopt(_M_TOP_PAD, _DEFAULT)
                  and libc.mallopt(_M_MMAP_THRESHOLD, _DEFAULT))
            libc.malloc_trim(0)
        return bool(ok)
    except (OSError, AttributeError):
        return False
