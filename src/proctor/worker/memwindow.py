"""The grader's side of staging timed calls through a worker's memory (see
proctor.worker.staging for the whole design): find the worker server's process, open its
``/proc/<pid>/mem``, write staged inputs where the worker allocated them, read results
where it left them.  Everything the worker answers is validated before it is used.
"""

from __future__ import annotations

import math
import os
from typing import Any

from proctor.procfs import process_tree
from proctor.worker import codec
from proctor.worker.staging import MEM_KEY, SCALARS, SLOT_KEY


class StagingError(ValueError):
    """The worker's side of a staged exchange is not well-formed (hostile or broken)."""


class Window:
    """Read/write access to one worker process's memory through ``/proc/<pid>/mem``.

    The descriptor is bound to that process's address space when opened (a recycled pid
    cannot redirect it); it is opened only after the process was identified as the one
    holding the worker's end of our pipe, and identified again after the open."""

    def __init__(self, fd: int, pid: int) -> None:
        self.fd, self.pid = fd, pid

    @classmethod
    def open(cls, root_pid: int, pipe_inode: int) -> Window | None:
        """The window onto the oldest process of ``root_pid``'s tree that holds the pipe
        ``pipe_inode`` (the worker server, not a child it forked later), or None."""
        pid = _holder(root_pid, pipe_inode)
        if pid is None:
            return None
        start = _starttime(pid)
        try:
            fd = os.open(f"/proc/{pid}/mem", os.O_RDWR | os.O_CLOEXEC)
        except OSError:
            return None
        if _starttime(pid) != start or not _holds(pid, pipe_inode):
            os.close(fd)            # not the process we identified: do not use it
            return None
        return cls(fd, pid)

    def write(self, address: int, data: memoryview) -> None:
        view = data.cast("B")
        done = 0
        while done < len(view):
            try:
                n = os.pwrite(self.fd, view[done:], address + done)
            except (OSError, OverflowError) as exc:
                raise StagingError(f"cannot write the worker's input at {address:#x} "
                                   f"({exc})") from None
            if n <= 0:
                raise StagingError(f"cannot write the worker's input at {address:#x}")
            done += n

    def read(self, address: int, nbytes: int) -> bytearray:
        buf = bytearray(nbytes)
        view = memoryview(buf)
        done = 0
        while done < nbytes:
            try:
                n = os.preadv(self.fd, [view[done:]], address + done)
            except (OSError, OverflowError) as exc:
                raise StagingError(f"cannot read the worker's result at {address:#x} "
                                   f"({exc})") from None
            if n <= 0:
                raise StagingError(f"cannot read the worker's result at {address:#x}")
            done += n
        return buf

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def split(calls: Any) -> tuple[Any, list]:
    """``calls`` with every array replaced by a slot (its index, dtype, shape), and the
    arrays (C-contiguous, little-endian) in slot order.  Containers keep their types: the
    codec decides how they cross."""
    import numpy as np

    arrays: list = []

    def walk(v: Any) -> Any:
        if isinstance(v, np.ndarray) and v.dtype.kind != "O" and v.dtype.fields is None:
            a = np.ascontiguousarray(v, dtype=v.dtype.newbyteorder("<")
                                     if v.dtype.byteorder == ">" else v.dtype)
            if a.dtype.str in codec.ALLOWED_DTYPES:
                arrays.append(a)
                return {SLOT_KEY: len(arrays) - 1, "dtype": a.dtype.str,
                        "shape": list(a.shape)}
            return v                                   # the codec refuses it
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, tuple):
            return tuple(walk(x) for x in v)
        return v

    return walk(calls), arrays


def fill(window: Window, where: Any, arrays: list) -> None:
    """Write each staged array where the worker allocated it (after checking that the
    worker answered one ``[address, nbytes]`` per array, of the right size)."""
    if not isinstance(where, list) or len(where) != len(arrays):
        raise StagingError("the worker did not answer one address per staged array")
    for slot, arr in zip(where, arrays, strict=True):
        if (not isinstance(slot, list) or len(slot) != 2
                or not all(type(x) is int and x >= 0 for x in slot) or slot[1] != arr.nbytes):
            raise StagingError(f"the worker answered a bad address for an input: {slot!r}"[:200])
        if arr.nbytes:
            window.write(slot[0], memoryview(arr).cast("B"))


def gather(value: Any, window: Window, cap: int) -> Any:
    """A run's reply with each memory descriptor replaced by a fresh, writable array read
    from the worker (at most ``cap`` bytes in all)."""
    import numpy as np

    total = [0]

    def walk(v: Any) -> Any:
        if isinstance(v, dict):
            if MEM_KEY in v:
                return read_array(v)
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            if set(map(type, v)) <= SCALARS:     # e.g. RLE counts: nothing to replace
                return v
            return [walk(x) for x in v]
        return v

    def read_array(d: dict) -> Any:
        loc, dtype_str, shape = d.get(MEM_KEY), d.get("dtype"), d.get("shape")
        if (not isinstance(loc, list) or len(loc) != 2
                or not all(type(x) is int and x >= 0 for x in loc)):
            raise StagingError("malformed result descriptor")
        if dtype_str not in codec.ALLOWED_DTYPES:
            raise StagingError(f"result dtype {dtype_str!r} is not allowed"[:200])
        if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
            raise StagingError(f"bad result shape {shape!r}"[:200])
        dtype = np.dtype(dtype_str)
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes != loc[1]:
            raise StagingError(f"result of {loc[1]} bytes, shape needs {nbytes}")
        total[0] += nbytes
        if total[0] > cap:
            raise StagingError(f"results over {cap} bytes")
        data = window.read(loc[0], nbytes) if nbytes else bytearray()
        return np.frombuffer(data, dtype=dtype).reshape(tuple(shape))

    return walk(value)


def _holds(pid: int, inode: int) -> bool:
    want = f"pipe:[{inode}]"
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == want:
                return True
        except OSError:
            continue
    return False


def _starttime(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        return int(stat[stat.rfind(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _holder(root: int, inode: int) -> int | None:
    holders = [(s, pid) for pid in process_tree(root) if _holds(pid, inode)
               and (s := _starttime(pid)) is not None]
    return min(holders)[1] if holders else None
