"""The two ends of the pipe between the trusted grader and the sandboxed candidate code.

``server`` runs inside the sandbox and executes the notebook and the calls; ``client``
is the trusted end (``local`` an in-process stand-in for ``check()``; both are a
``Channel``); ``codec`` is the plain-data wire format (never pickle); ``proxy`` is what
a check calls; ``config`` builds one worker configuration for candidate and reference.

Names are imported on first use: the server starts as ``python -m proctor.worker.server``
inside the sandbox, and must not pay for (or expose) the grader's imports.
"""

from importlib import import_module
from typing import Any

_WHERE = {
    "Channel": "channel",
    "WorkerClient": "client", "WorkerConfig": "client", "WorkerError": "client",
    "CandidateError": "client",
    "LocalClient": "local",
    "CodecError": "codec",
    "config_for": "config", "timing_cpu": "config",
    "Proxy": "proxy", "RemoteFunction": "proxy", "RemoteObject": "proxy",
}
__all__ = list(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
