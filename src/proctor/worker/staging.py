"""How the arrays of timed calls cross the boundary without costing the timed worker.

Latency is the CPU time of each worker's whole tree (proctor.measure), so whatever a
worker spends moving inputs in and results out is charged to it: through the pipe that is
several copies per array (decode, encode, frame, pipe), and it pulls every ratio towards 1
when the work is small next to its data (docs/measurement.md, "Staging").  Here the
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


def allocate(calls: Any, nbytes: int) -> tuple[Any, list[int]]:
    """Replace every slot in ``calls`` with an array in one fresh ``nbytes`` buffer (each
    slot says its offset, laid out by the grader); returns the calls and ``[address,
    nbytes]`` of the buffer for the grader to fill.  The arrays are ordinary, writable
    numpy arrays (views of the buffer)."""
    import numpy as np

    buf = np.empty(int(nbytes), np.uint8)
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
                return np.ndarray(tuple(v["shape"]), dtype, buf, int(v[SLOT_KEY]))
            return {k: walk(x) for k, x in v.items()}
        if type(v) is list:
            return [walk(x) for x in v]
        if type(v) is tuple:
            return tuple(walk(x) for x in v)
        return v

    return walk(calls), [buf.__array_interface__["data"][0], buf.nbytes]


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
_PR_SET_THP_DISABLE = 41
_HEAP_BELOW = 32 << 20                                   # glibc's largest mmap threshold
_KEEP = 1 << 30


def allocator(timing: bool) -> bool:
    """Timing mode for the worker's memory, on for the length of a latency measurement:

    * glibc malloc: blocks below 32 MiB come from the heap, and freed heap is kept (no
      trimming), so that a block's many staged inputs and held results are reused by the
      next block as a long-lived process reuses its memory, instead of being returned to
      the kernel and faulted in again (a page fault per 4 KiB: more than small timed
      functions' own work, and charged to the worker);
    * no transparent huge pages (``PR_SET_THP_DISABLE``): numpy asks for them for arrays
      of 4 MiB and more, and whether a reused heap chunk got them depends on where it
      landed, so the same code ran at two speeds, 12 or 17 ms a call of ``mask_iou``,
      for whole stretches of a measurement.

    Off again after the measurement: defaults restored and freed memory returned, so that
    memory budgets see what a function allocates.  False where there is no glibc (musl:
    mallopt is a no-op)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.prctl(_PR_SET_THP_DISABLE, 1 if timing else 0, 0, 0, 0)
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
