"""A worker's stdout and stderr, drained in a thread into a bounded buffer.

Candidate output is hostile: a flood must never block the worker on a full pipe nor fill
the grader's memory, so only the head and the tail are kept, with a count of what was cut.
"""

from __future__ import annotations

import os
import threading

OUTPUT_CAP = 64 << 10


class CappedOutput:
    """Drains a pipe in a thread, keeping the head and tail, so a flood never blocks."""

    def __init__(self, fd: int) -> None:
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self._thread = threading.Thread(target=self._drain, args=(fd,), daemon=True)
        self._thread.start()

    def _drain(self, fd: int) -> None:
        with os.fdopen(fd, "rb", buffering=0) as f:
            while chunk := f.read(65536):
                self.total += len(chunk)
                if len(self.head) < OUTPUT_CAP:
                    self.head += chunk[: OUTPUT_CAP - len(self.head)]
                self.tail = (self.tail + chunk)[-OUTPUT_CAP:]

    def text(self, settle_s: float = 0.0) -> str:
        """The output so far; ``settle_s`` waits for the drain to reach the end of the
        pipe (after the worker died), so the last lines printed are not lost to a race."""
        if settle_s:
            self._thread.join(settle_s)
        if self.total <= OUTPUT_CAP:
            return bytes(self.head).decode("utf-8", "replace")
        return (
            bytes(self.head[: OUTPUT_CAP // 2]).decode("utf-8", "replace")
            + f"\n... [{self.total - OUTPUT_CAP} bytes omitted] ...\n"
            + bytes(self.tail[-OUTPUT_CAP // 2 :]).decode("utf-8", "replace")
        )
