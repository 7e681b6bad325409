"""An in-process ``Channel``: the candidate's own namespace served by the worker's code.

Used by ``check()`` in the candidate's kernel (their machine, no sandbox needed) and by
tests: every message still makes the plain-data round trip, so what passes here behaves
the same when graded.
"""

from __future__ import annotations

import io
from typing import Any

from proctor.worker import codec
from proctor.worker.client import CandidateError
from proctor.worker.server import Worker, _describe


class LocalClient:
    """A stand-in for WorkerClient that calls into an in-process namespace."""

    dead_reason = None

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.worker = Worker()
        self.worker.ns = namespace

    def request(self, msg: dict, timeout: float, where: str = "") -> Any:
        msg = codec.loads(codec.dumps(msg))
        out = io.BytesIO()
        try:
            self.worker.handle(msg, out)
        except Exception as exc:
            raise CandidateError(_describe(exc), where) from None
        out.seek(0)
        reply = codec.read_frame(out)
        if "raised" in reply:
            raise CandidateError(reply["raised"], where)
        return reply["ok"]
