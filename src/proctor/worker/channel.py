"""The one interface between a check's proxy and the code it calls: ``request``.

Two implementations: ``WorkerClient`` (a sandboxed worker process, over a pipe) and
``LocalClient`` (the candidate's own kernel, in process, for ``check()``). Both send every
message through the plain-data codec, so a value behaves the same on either.
"""

from __future__ import annotations

from typing import Any, Protocol


class Channel(Protocol):
    """Sends one message and returns the ``ok`` value of the reply.

    Raises ``CandidateError`` when the candidate's code raised, ``WorkerError`` when the
    other end died or broke the protocol (then ``dead_reason`` says why)."""

    dead_reason: Exception | None

    def request(self, msg: dict, timeout: float, where: str = "") -> Any: ...
