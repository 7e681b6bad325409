"""What a check holds instead of candidate code: names that call across the pipe.

``ctx.candidate.nms(boxes, scores, 0.5)`` sends the arguments as plain data and
returns plain data (numpy arrays, numbers, lists, dicts).  Objects that cannot
cross (a ``Tracker`` instance) come back as a ``RemoteObject`` handle whose
methods call across the pipe in turn.
"""

from __future__ import annotations

from typing import Any

from proctor.worker import codec
from proctor.worker.channel import Channel


def _wrap(client: Channel, value: Any, timeout: float) -> Any:
    """Plain data as is; handles become ``RemoteObject``s that keep the caller's timeout."""
    if isinstance(value, dict):
        if codec.HANDLE_KEY in value and isinstance(value[codec.HANDLE_KEY], int):
            return RemoteObject(client, value[codec.HANDLE_KEY],
                                str(value.get("type", "object")), timeout)
        return {k: _wrap(client, v, timeout) for k, v in value.items()}
    if isinstance(value, list):
        return [_wrap(client, v, timeout) for v in value]
    if isinstance(value, tuple):
        return tuple(_wrap(client, v, timeout) for v in value)
    return value


class RemoteFunction:
    def __init__(self, client: Channel, target: str | int, method: str | None,
                 timeout: float, label: str) -> None:
        self._client, self._target, self._method = client, target, method
        self._timeout, self._label = timeout, label

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        msg = {"op": "call", "target": self._target, "method": self._method,
               "args": list(args), "kwargs": kwargs}
        reply = self._client.request(msg, self._timeout, where=self._label)
        return _wrap(self._client, reply, self._timeout)

    def returning_args(self, *args: Any, **kwargs: Any) -> tuple[Any, list]:
        """Call, and also get back the positional arguments as the call left them: the
        candidate gets copies, so this is how a check sees whether it wrote into its
        inputs ("do not modify the array")."""
        msg = {"op": "call", "target": self._target, "method": self._method,
               "args": list(args), "kwargs": kwargs, "echo_args": True}
        reply = self._client.request(msg, self._timeout, where=self._label)
        if not (isinstance(reply, list) and len(reply) == 2 and isinstance(reply[1], list)
                and len(reply[1]) == len(args)):
            raise codec.CodecError(f"{self._label}: malformed reply to a call returning its "
                                   "arguments")
        return _wrap(self._client, reply[0], self._timeout), reply[1]

    def __repr__(self) -> str:
        return f"<remote {self._label}>"


class RemoteObject:
    """A candidate object that stays in the worker; only its methods are reachable."""

    def __init__(self, client: Channel, handle: int, type_name: str,
                 timeout: float) -> None:
        self._client, self._handle, self._type, self._timeout = client, handle, type_name, timeout

    def __getattr__(self, name: str) -> RemoteFunction:
        if name.startswith("_"):
            raise AttributeError(name)
        return RemoteFunction(self._client, self._handle, name, self._timeout,
                              f"{self._type}.{name}")

    def __repr__(self) -> str:
        return f"<remote {self._type} object>"


class Proxy:
    """The candidate's (or reference's) namespace, as seen from a check."""

    def __init__(self, client: Channel, timeout: float = 30.0) -> None:
        self._client = client
        self._timeout = timeout

    @property
    def client(self) -> Channel:
        return self._client

    def __getattr__(self, name: str) -> RemoteFunction:
        if name.startswith("_"):
            raise AttributeError(name)
        return RemoteFunction(self._client, name, None, self._timeout, name)

    def defines(self, *names: str) -> dict[str, bool]:
        return self._client.request({"op": "has", "names": list(names)}, self._timeout)
