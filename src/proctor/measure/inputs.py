"""A latency check's fresh inputs, and the grader's work done while the workers run.

Making a block's inputs (``make_args``, fingerprints) and checking its outputs are the
trusted side's own work, on the grader's core.  Done between blocks, they leave the
timing core idle: pycocotools scoring every timed call was 2.4 s of detection's 4.2 s
latency check, drawing the images 1.4 s of patchify's 5.4 s.  Once the block size is
fixed (``ahead``), one grader thread makes the next block's inputs and checks the last
block's outputs while the workers run the current block.  Everything on that thread runs
in block order (make n+1, check n, make n+2, ...), so a ``make_args`` and a ``compare``
that share state (a queue of the expected targets) see the calls as they would without
it; a block reaches a worker only once it is made, and a verdict only after ``settle``
has checked every block's outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from proctor.measure.compare import fingerprint

REDRAWS = 10   # draws of make_args for one fresh input


def _array_bytes(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (list, tuple)):
        return sum(_array_bytes(v) for v in value)
    if isinstance(value, dict):
        return sum(_array_bytes(v) for v in value.values())
    return 0


class Inputs:
    """Fresh inputs for the blocks of one latency check, made now or one block ahead."""

    def __init__(self, function: str, make_args: Callable[[np.random.Generator], tuple],
                 rng: np.random.Generator) -> None:
        self.function, self.make_args, self.rng = function, make_args, rng
        self.seen: set[bytes] = set()
        self.bytes_per_call = 0                  # of the arrays in the last fresh input
        self._size: int | None = None            # the block size, once made ahead
        self._pool: ThreadPoolExecutor | None = None
        self._next: Future | None = None
        self._checking: Future | None = None

    def ahead(self, k: int) -> None:
        """From now on every block has k calls, and the next one is made while this one
        runs.  Call it from the measuring thread: the helper thread inherits its CPU
        affinity (off the timing core)."""
        self._size = k
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="proctor-ahead")

    def block(self, k: int) -> list[list]:
        """One block's calls in two halves (k - k // 2 and k // 2; one half for k = 1)."""
        if self._pool is None:
            return self._halves(k)
        if k != self._size:
            # made-ahead inputs cannot be dropped: make_args may have queued state for them
            raise ValueError(f"blocks of {k} calls after blocks of {self._size} were made ahead")
        halves = self._next.result() if self._next is not None else self._halves(k)
        self._next = self._pool.submit(self._halves, k)
        return halves

    def check(self, check_block: Callable[[], None]) -> None:
        """Check a block's outputs: at once, or on the helper thread once made ahead (a
        failure is then raised by the next ``check`` or by ``settle``)."""
        self.settle()
        if self._pool is None:
            check_block()
        else:
            self._checking = self._pool.submit(check_block)

    def settle(self) -> None:
        """Wait for the last block's output check; raise what it raised."""
        if self._checking is not None:
            pending, self._checking = self._checking, None
            pending.result()

    def close(self) -> None:
        """Stop making ahead; waits for the helper thread (it may be using the rng)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = self._next = self._checking = None

    def _halves(self, k: int) -> list[list]:
        return [self._fresh(k - k // 2)] + ([self._fresh(k // 2)] if k > 1 else [])

    def _fresh(self, k: int) -> list:
        """k inputs never timed before.  An input drawn before is drawn again (a check that
        moves a few scenes around has millions of inputs, and a measurement hundreds:
        repeats happen); ``REDRAWS`` repeats in a row is a grader that ignores the rng."""
        calls = []
        for _ in range(k):
            for _ in range(REDRAWS):
                args = list(self.make_args(self.rng))
                digest = fingerprint(args)
                if digest not in self.seen:
                    break
            else:
                raise RuntimeError(
                    f"make_args for {self.function} returned an input it had returned "
                    f"before, {REDRAWS} times in a row; every timed call needs a fresh input "
                    "(draw it from the rng)")
            self.seen.add(digest)
            self.bytes_per_call = _array_bytes(args)
            calls.append([args, {}])
        return calls
