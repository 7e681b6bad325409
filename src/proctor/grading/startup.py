"""Starting an exercise's workers: side by side, and ahead of their turn.

Before its first check an exercise needs two loaded workers, the candidate's and the
reference's: a sandbox each, Python, and the notebook's cells with their imports (numpy
0.15 s of CPU, onnx with onnxruntime 1.2 s, torch 1.5-2.5 s). ``Workers`` starts both at
once, each loading in a thread of its own on a core of its own (``config.start_cpus``),
and moves them to the timing core when the checks begin (``wait``). ``grade_submission``
starts the next exercises' workers (``AHEAD_DEPTH``, two) while the current one's checks
run (``ahead``), on the cores other than the timing core only, so a latency measurement
keeps its core.

What does not change: every worker is a fresh sandbox for one exercise of one
submission, used by that exercise's checks only and killed after them, never reused or
shared; a worker started ahead sees exactly what it would see at its turn, and its
notebook's time limit counts from its turn (not from its early start). ``PROCTOR_WORKER_OVERLAP=0``
starts them as before, one after the other and on the timing core from the start
(benchmarks/sandbox_overhead.py compares the two).
"""

from __future__ import annotations

import math
import os
import threading
import time

from proctor.library.spec import ExerciseDir
from proctor.measure import placement
from proctor.worker.client import WorkerClient, WorkerError
from proctor.worker.config import config_for, start_cpus
from proctor.worker.proxy import Proxy

MAX_RESTARTS = 2
OVERLAP_ENV = "PROCTOR_WORKER_OVERLAP"


def overlapping() -> bool:
    """Whether workers start side by side and ahead (the default), or one by one."""
    return os.environ.get(OVERLAP_ENV, "1") != "0"


class Session:
    """A worker plus the source it was loaded with, restartable after a crash."""

    def __init__(self, ex: ExerciseDir, source, unsafe: bool, label: str) -> None:
        self.ex, self.source, self.unsafe, self.label = ex, source, unsafe, label
        self.restarts = 0
        self.cell_errors: list[dict] = []
        self.client: WorkerClient | None = None
        self.load_failure: WorkerError | None = None
        self.deadline = 0.0
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._earlier_output = ""

    def begin(self, cpus: tuple[int, ...], ahead: bool) -> None:
        """Start the worker on ``cpus`` and load the source, in a thread (returns now).
        The time limit counts from now, or ``ahead`` of its turn, from ``ready()``."""
        self.deadline = math.inf if ahead else time.monotonic() + self.ex.spec.limits.time_limit_s

        def run() -> None:
            try:
                self._launch(cpus)
            except BaseException as exc:  # noqa: BLE001 - raised again by ready()
                self._error = exc
        self._thread = threading.Thread(target=run, daemon=True,
                                        name=f"proctor-load-{self.label}")
        self._thread.start()

    def loaded(self) -> bool:
        """Whether its source has loaded (or failed to): ``ready`` would not wait."""
        return self._thread is None or not self._thread.is_alive()

    def ready(self) -> None:
        """Wait until the source is loaded (or failed to), then move the worker to its
        timing core."""
        if self.deadline == math.inf:   # started ahead: its turn has come
            self.deadline = time.monotonic() + self.ex.spec.limits.time_limit_s
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        if self.client is not None:
            placement.release(self.client)

    def start(self) -> None:
        """Start the worker on its timing core and load the source, now."""
        self.deadline = time.monotonic() + self.ex.spec.limits.time_limit_s
        self._launch(())
        if self.client is not None:
            placement.release(self.client)

    def _launch(self, cpus: tuple[int, ...]) -> None:
        limit = self.ex.spec.limits.time_limit_s
        config, _ = config_for(self.ex.spec, self.source.artifact_dir, self.unsafe)
        client = WorkerClient(config, self.label)
        client.start(cpus)
        with self._lock:
            self.client, closed = client, self._closed
        if closed:   # closed while it started: it never runs the source
            client.close()
            return
        errors: list[dict] = []
        try:
            client.send({"op": "load", "cells": self.source.cells})
            while True:
                left = self.deadline - time.monotonic()
                if left <= 0:
                    client.kill(WorkerError("timeout", "notebook time limit"))
                    raise client.dead_reason
                reply = client.poll(min(left, 0.5))
                if reply is None:
                    continue
                if reply.get("done"):
                    break
                if reply.get("error"):
                    err = reply["error"]  # hostile data: validate before use
                    err = err if isinstance(err, dict) else {"message": str(err)[:500]}
                    cell = reply.get("cell")
                    errors.append({"cell": cell + 1 if isinstance(cell, int) else 0,
                                   "type": str(err.get("type", "")),
                                   "message": str(err.get("message", ""))[:500],
                                   "traceback": str(err.get("traceback", ""))[-2000:]})
        except WorkerError as exc:
            reason = exc.reason
            if exc.status == "timeout":
                reason = f"running the notebook took longer than the {limit:g} s limit"
            self.load_failure = WorkerError(exc.status, reason)
        self.cell_errors = errors

    def proxy(self) -> Proxy:
        if self.client is None or self.client.dead_reason is not None:
            if (self.client is not None and self.restarts < MAX_RESTARTS
                    and self.load_failure is None):
                self.restarts += 1
                self.client.close()
                self._earlier_output += (
                    self.client.output_text(settle_s=2.0)
                    + f"\n[proctor: the worker was restarted: {self.client.dead_reason.reason}]\n")
                self.start()
        if self.load_failure is not None:
            raise self.load_failure
        assert self.client is not None
        return Proxy(self.client, self.ex.spec.limits.call_timeout_s)

    def stop(self) -> None:
        """Kill the worker, a loading one too, without waiting for it to be gone."""
        with self._lock:
            self._closed = True
            client = self.client
        if client is not None:
            client.stop()   # a loading thread then sees the channel close, and ends

    def close(self) -> None:
        self.stop()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self.client is not None:
            placement.forget(self.client)
            self.client.close()

    def output(self) -> str:
        """Everything the source printed, over restarts too; after ``close`` (so that
        nothing still in the pipe is lost), waiting briefly for the pipe's end."""
        text = self.client.output_text(settle_s=2.0) if self.client is not None else ""
        return self._earlier_output + text


class Workers:
    """One exercise's workers: the candidate's and, when grading, the reference's."""

    def __init__(self, ex: ExerciseDir, source, reference, unsafe: bool,
                 ahead: bool = False) -> None:
        self.candidate = Session(ex, source, unsafe, "candidate")
        self.reference = (Session(ex, reference, unsafe, "reference")
                          if reference is not None else None)
        self.sessions = [s for s in (self.candidate, self.reference) if s is not None]
        cpus = start_cpus(len(self.sessions), ahead) if overlapping() else None
        if cpus is None:   # one after the other, each on its timing core from the start
            try:
                for s in self.sessions:
                    s.start()
            except BaseException:
                self.close()
                raise
            return
        for s, c in zip(self.sessions, cpus, strict=True):
            s.begin(c, ahead)

    @staticmethod
    def can_start_ahead() -> bool:
        """Whether a core other than the timing core exists to start workers on."""
        return overlapping() and start_cpus(1, ahead=True) is not None

    def loaded(self) -> bool:
        """Whether both have loaded (or failed to): ``wait`` would not wait."""
        return all(s.loaded() for s in self.sessions)

    def wait(self) -> None:
        """Both loaded (or failed to), and released to the free cores (``placement``)."""
        for s in self.sessions:
            s.ready()

    def close(self) -> None:
        """Kill both (side by side) and wait until nothing of either is left."""
        for s in self.sessions:
            s.stop()
        for s in self.sessions:
            s.close()
