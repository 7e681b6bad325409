"""The trusted end of a worker: start it, talk to it, and turn its deaths into reasons.

Every reply is hostile data: frames are size-capped, decoded by the plain-data
codec, and a worker that stalls, dies or floods is killed and described, never
waited on forever.
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from proctor import sandbox
from proctor.paths import import_root
from proctor.worker import codec, memwindow
from proctor.worker.output import CappedOutput

# The worker's entry point: the engine's root first on sys.path, then the server as
# ``__main__`` (as ``python -m proctor.worker.server`` would), with argv = [file, fds...].
_BOOT = ("import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); "
         "runpy.run_module('proctor.worker.server', run_name='__main__', alter_sys=True)")
# Replies are results, not data sets: a cap well under MAX_FRAME bounds the grader's memory.
MAX_REPLY = 256 << 20


class WorkerError(Exception):
    """The worker timed out or died; ``status`` is the check status it maps to."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class CandidateError(Exception):
    """Candidate code raised; carries only the plain description the worker sent."""

    def __init__(self, info: dict, where: str = "") -> None:
        info = info if isinstance(info, dict) else {}
        self.type_name = str(info.get("type", "Exception"))
        self.mro = [str(m) for m in info.get("mro", []) if isinstance(m, str)]
        self.text = str(info.get("message", ""))[:2000]
        self.traceback = str(info.get("traceback", ""))[-4000:]
        self.where = where
        super().__init__(self.summary())

    def is_a(self, name: str) -> bool:
        return name == self.type_name or name in self.mro

    def summary(self) -> str:
        if self.is_a("NotImplementedError"):
            return f"{self.where or 'function'} is not implemented yet"
        prefix = f"{self.where} raised " if self.where else ""
        return f"{prefix}{self.type_name}: {self.text}"


@dataclass
class WorkerConfig:
    """Everything that makes two workers identically configured."""

    env: dict[str, str] = field(default_factory=dict)
    ro_binds: list[tuple[str, str]] = field(default_factory=list)
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    cpu: int | None = None
    backend: str = "bwrap"   # a name from proctor.sandbox.backend_names()


def _widen(fd: int) -> None:
    """Grow a pipe to 1 MiB (the unprivileged maximum): a block's multi-MB reply then
    crosses in a few wake-ups instead of one per 64 KiB, and fewer of the worker's
    timed CPU seconds go to the boundary rather than the code being timed."""
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    except OSError:
        pass  # a lower pipe-max-size: the default size still works


class WorkerClient:
    def __init__(self, config: WorkerConfig, label: str = "worker") -> None:
        self.config = config
        self.label = label
        self.proc: sandbox.SandboxedProcess | None = None
        self._buf = bytearray()
        self.dead_reason: WorkerError | None = None
        self.output: CappedOutput | None = None
        self._pipe_inode: int | None = None
        self._window: memwindow.Window | None | bool = False   # False: not looked for yet

    # -- life cycle -------------------------------------------------------
    def start(self, start_cpus: tuple[int, ...] = ()) -> None:
        """Start the worker, on ``start_cpus`` until ``pin()`` (() = pinned at once)."""
        to_w_r, to_w_w = os.pipe()
        from_w_r, from_w_w = os.pipe()
        for fd in (to_w_w, from_w_w):
            _widen(fd)
        out_r, out_w = os.pipe()
        self._pipe_inode = os.fstat(to_w_r).st_ino   # identifies the server process later
        self._window = False
        # -u: candidate output reaches the report even though workers end by SIGKILL.
        # -I ignores PYTHONPATH, so the worker is told where *this* engine lives (the
        # sandbox binds it read-only at the same path): otherwise a checkout other than
        # the installed one would run the installed engine's worker, or none at all.
        argv = [sys.executable, "-I", "-u", "-c", _BOOT, str(import_root()),
                str(to_w_r), str(from_w_w)]
        spec = sandbox.SandboxSpec(
            ro_binds=list(self.config.ro_binds), env=dict(self.config.env),
            limits=self.config.limits, cpu=self.config.cpu,
            start_cpus=tuple(start_cpus) if self.config.cpu is not None else (),
        )
        try:
            self.proc = sandbox.get_backend(self.config.backend).spawn(
                argv, spec, pass_fds=(to_w_r, from_w_w), stdout=out_w, stderr=out_w)
        finally:
            for fd in (to_w_r, from_w_w, out_w):
                os.close(fd)
        self._w = to_w_w
        self._r = from_w_r
        os.set_blocking(self._r, False)
        self.output = CappedOutput(out_r)

    def window(self) -> memwindow.Window | None:
        """Access to the worker server's memory for staging timed calls, or None (then the
        pipe carries the arrays); looked for once per worker."""
        if self._window is False:
            self._window = None
            if self.proc is not None and self._pipe_inode is not None and self.dead_reason is None:
                self._window = memwindow.Window.open(self.proc.pid, self._pipe_inode)
        return self._window or None

    def pin(self, cores: tuple[int, ...] | None = None) -> None:
        """Move the worker's whole tree to ``cores``, by default its timing core
        (``config.cpu``); ``measure.placement`` decides where it lives between measurements."""
        if self.proc is not None and self.dead_reason is None:
            self.proc.pin(cores)

    def stop(self) -> None:
        """Kill the tree without waiting (``close()`` waits): workers die side by side."""
        if self.proc is not None:
            self.proc.kill(wait=False)

    def close(self) -> None:
        if isinstance(self._window, memwindow.Window):
            self._window.close()
        self._window = None
        if self.proc is not None:
            self.proc.kill()
        for fd in (getattr(self, "_w", None), getattr(self, "_r", None)):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._w = self._r = None

    def __enter__(self) -> WorkerClient:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- messaging --------------------------------------------------------
    def send(self, msg: dict) -> None:
        self._check_alive()
        data = codec.frame(msg)
        try:
            view = memoryview(data)
            while view:
                n = os.write(self._w, view)
                view = view[n:]
        except (BrokenPipeError, OSError):
            raise self._died() from None

    def receive(self, timeout: float) -> dict:
        reply = self.poll(timeout)
        if reply is None:
            self.kill(WorkerError("timeout", f"no answer within {timeout:.0f} s"))
            raise self.dead_reason
        return reply

    def kill(self, reason: WorkerError) -> None:
        """Stop the worker for ``reason`` (what later calls are told)."""
        self.close()
        self.dead_reason = reason

    def poll(self, timeout: float) -> dict | None:
        """The next reply, or None when none came within ``timeout`` (the worker lives on:
        a caller that waits in slices decides when to give up)."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self._take_frame()
            if frame is not None:
                return frame
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self._r], [], [], min(remaining, 0.5))
            if not ready:
                continue
            try:
                chunk = os.read(self._r, 1 << 20)
            except BlockingIOError:
                continue
            if not chunk:
                raise self._died()
            self._buf += chunk

    def _take_frame(self) -> dict | None:
        head = codec.FRAME_HEADER
        if len(self._buf) < head:
            return None
        size = codec.frame_length(self._buf)
        if size > MAX_REPLY:
            raise self._broken(f"worker sent a {size}-byte message (cap {MAX_REPLY})")
        if len(self._buf) < head + size:
            return None
        payload = bytes(self._buf[head : head + size])
        del self._buf[: head + size]
        try:
            msg = codec.loads(payload)
        except codec.CodecError as exc:
            raise self._broken(f"worker sent a malformed message ({exc})") from None
        if not isinstance(msg, dict):
            raise self._broken("worker sent a reply that is not a mapping")
        return msg

    def _broken(self, reason: str) -> WorkerError:
        """The channel cannot be trusted to stay in step: kill the worker, remember why."""
        self.close()
        self.dead_reason = WorkerError("error", reason)
        return self.dead_reason

    def request(self, msg: dict, timeout: float, where: str = "") -> Any:
        self.send(msg)
        reply = self.receive(timeout)
        if "raised" in reply:
            raise CandidateError(reply["raised"], where)
        if "ok" not in reply:
            raise self._broken("worker reply has neither 'ok' nor 'raised'")
        return reply["ok"]

    def _check_alive(self) -> None:
        if self.dead_reason is not None:
            raise self.dead_reason
        if self.proc is None or self._w is None:
            raise WorkerError("error", "worker is not running")

    def _died(self) -> WorkerError:
        code = self.proc.wait(timeout=5) if self.proc else None
        limit = self.proc.limit_hit() if self.proc else None
        self.close()
        if limit:
            reason = limit
        elif code is not None and code < 0:
            reason = f"worker killed by {signal.Signals(-code).name}"
        elif code is not None:
            reason = f"worker exited with code {code} (exit() or os._exit() in candidate code?)"
        else:
            reason = "worker closed the channel"
        status = "timeout" if limit and "time" in limit else "error"
        self.dead_reason = WorkerError(status, reason)
        return self.dead_reason

    def output_text(self, settle_s: float = 0.0) -> str:
        return self.output.text(settle_s) if self.output else ""
