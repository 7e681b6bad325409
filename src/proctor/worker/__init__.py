"""The two ends of the pipe between the trusted grader and the sandboxed candidate code.

``server`` runs inside the sandbox and executes the notebook and the calls; ``client``
is the trusted end; ``codec`` is the plain-data wire format (never pickle); ``proxy``
is what a check calls; ``config`` builds one worker configuration for candidate and
reference alike.
"""

from proctor.worker.client import CandidateError, WorkerClient, WorkerConfig, WorkerError
from proctor.worker.codec import CodecError
from proctor.worker.config import config_for, timing_cpu
from proctor.worker.proxy import Proxy, RemoteFunction, RemoteObject

__all__ = [
    "WorkerClient", "WorkerConfig", "WorkerError", "CandidateError", "CodecError",
    "config_for", "timing_cpu", "Proxy", "RemoteFunction", "RemoteObject",
]
