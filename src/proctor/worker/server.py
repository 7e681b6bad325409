"""The worker: runs untrusted code and answers calls over a plain-data channel.

This module runs *inside* the sandbox, in the same process as candidate code, so
nothing it reports is trusted: the grader times calls itself, converts results
itself, and treats every message as hostile data.  It must import nothing
heavier than numpy and msgpack so that start-up stays fast.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

from proctor.worker import codec, staging

MAX_TB_CHARS = 4000


class _IPythonStub:
    """Enough of ``get_ipython()`` for rewritten magics to do nothing."""

    _RUN_BODY = frozenset({"time", "capture", "prun", "timeit"})

    def __init__(self, namespace: dict) -> None:
        self._ns = namespace

    def run_line_magic(self, *args: Any, **kwargs: Any) -> None:
        return None

    def system(self, *args: Any, **kwargs: Any) -> None:
        return None

    def getoutput(self, *args: Any, **kwargs: Any) -> list:
        return []

    def run_cell_magic(self, name: str, line: str, body: str) -> None:
        if name in self._RUN_BODY:
            exec(compile(body, "<cell>", "exec"), self._ns)

    def __getattr__(self, name: str) -> Any:
        return lambda *a, **k: None


class _Forbidden:
    """A meta-path finder that refuses the exercise's forbidden packages by name, so
    that "numpy only" is a rule the report can show (ImportError in the cell), not an
    honour system. Code pasted in from such a package is still possible: the human
    review sees it."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        top = fullname.partition(".")[0]
        if top in self.names:
            raise ImportError(f"{top} is not allowed in this exercise (see the prompt's "
                              "allowed libraries)", name=fullname)
        return None

    def invalidate_caches(self) -> None:
        return None


def _describe(exc: BaseException) -> dict:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return {
        "type": type(exc).__name__,
        "mro": [c.__name__ for c in type(exc).__mro__],
        "message": str(exc)[:2000],
        "traceback": tb[-MAX_TB_CHARS:],
    }


class Worker:
    def __init__(self) -> None:
        self.ns: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
        self.ns["get_ipython"] = lambda: _IPythonStub(self.ns)
        self.handles: dict[int, Any] = {}
        self.staged: dict[str, list] = {}
        self.held: list = []     # the last timed results, until the grader has read them
        self.last_result: Any = None   # what a null run answers again
        self.outbox = staging.Outbox()  # a run's result arrays, for the grader to read
        self.staged_arrays: dict[str, list] = {}   # each staged call's arrays (to touch)

    def plain(self, value: Any, depth: int = 0) -> Any:
        """Convert a result to plain data; anything else becomes a handle."""
        import numpy as np

        if depth > 50:
            raise codec.CodecError("result nested too deeply")
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, (np.ndarray, np.generic)):
            return value
        if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
            return value.detach().cpu().numpy()
        if isinstance(value, tuple):  # a tuple stays a tuple: checks may tell them apart
            return tuple(self.plain(v, depth + 1) for v in value)
        if isinstance(value, list):
            if set(map(type, value)) <= staging.SCALARS:   # e.g. RLE counts: one C-speed pass
                return list(value)
            # a list of numpy scalars of one dtype crosses as one block of bytes
            return codec.ScalarList.of(value) or [self.plain(v, depth + 1) for v in value]
        if isinstance(value, dict):
            return {str(k): self.plain(v, depth + 1) for k, v in value.items()}
        handle = len(self.handles) + 1
        self.handles[handle] = value
        return {codec.HANDLE_KEY: handle, "type": type(value).__name__}

    def resolve(self, target: Any) -> Any:
        if isinstance(target, int):
            return self.handles[target]
        if target not in self.ns:
            raise NameError(f"name {target!r} is not defined")
        return self.ns[target]

    def call(self, msg: dict) -> Any:
        fn = self.resolve(msg["target"])
        if msg.get("method"):
            fn = getattr(fn, msg["method"])
        return fn(*msg.get("args", []), **msg.get("kwargs", {}))

    def handle(self, msg: dict, out: Any) -> None:
        self.held = []
        op = msg.get("op")
        if op == "load":
            for i, source in enumerate(msg["cells"]):
                error = None
                try:
                    exec(compile(source, f"<cell {i + 1}>", "exec"), self.ns)
                except BaseException as exc:  # a failing cell is recorded, the next one runs
                    error = _describe(exc)  # KeyboardInterrupt too: no signal reaches us
                codec.write_frame(out, {"cell": i, "error": error})
            self._single_thread()
            codec.write_frame(out, {"done": True})
        elif op == "has":
            codec.write_frame(out, {"ok": {n: callable(self.ns.get(n)) for n in msg["names"]}})
        elif op == "stage":
            if msg.get("mem"):  # arrays as slots: the grader writes them into memory
                calls, where, arrays = staging.allocate(msg["calls"])
                self.staged[msg["key"]] = calls
                self.staged_arrays[msg["key"]] = arrays
                codec.write_frame(out, {"ok": where})
            else:
                self.staged[msg["key"]] = msg["calls"]
                codec.write_frame(out, {"ok": len(msg["calls"])})
        elif op == "run":
            self._run(msg, out)
        elif op == "timing":  # a latency measurement starts or ends: allocator mode
            self.outbox = staging.Outbox()
            codec.write_frame(out, {"ok": staging.allocator(bool(msg.get("on")))})
        elif op == "call":
            result = self.plain(self.call(msg))
            if msg.get("echo_args"):  # and the arguments as the call left them
                result = [result, [self.plain(a) for a in msg.get("args", [])]]
            codec.write_frame(out, {"ok": result})
        else:
            codec.write_frame(out, {"raised": {"type": "ProtocolError", "mro": [],
                                               "message": f"unknown op {op!r}", "traceback": ""}})

    def _run(self, msg: dict, out: Any) -> None:
        """A timed run of staged calls: the target is resolved once, then only the calls.

        Each result is kept right after its call and then let go, as a loop in a notebook
        lets it go: with ``mem`` (proctor.worker.staging), an array is copied into the
        outbox for the grader to read and described after the last call (``staging.kept``);
        through the pipe, the result is encoded at once.  Either way a function that returns
        one buffer it overwrites on every call is answered each call's value.

        ``null`` (sent to the reference's worker only) calls nothing and encodes the
        previous run's last result once per call: the boundary's cost alone, which the
        grader takes off both sides (docs/measurement.md, "The boundary")."""
        calls = self.staged.pop(msg["key"])
        arrays = self.staged_arrays.pop(msg["key"], None) or [[]] * len(calls)
        null = bool(msg.get("null"))
        if not null:
            fn = self.resolve(msg["target"])
            if msg.get("method"):
                fn = getattr(fn, msg["method"])
        mem = bool(msg.get("mem"))
        self.outbox.reset()
        kept = []   # each result copied or encoded at once: it may be a buffer the next
                    # call overwrites
        for (a, k), mine in zip(calls, arrays, strict=True):
            staging.touch(mine)
            result = self.last_result if null else fn(*a, **k)
            kept.append(staging.kept(result, self.outbox, self.plain) if mem
                        else codec.dumps(self.plain(result)))
        if calls and not null:
            self.last_result = result
        out.write(staging.reply_frame(staging.encoded(kept)))
        out.flush()

    @staticmethod
    def _single_thread() -> None:
        torch = sys.modules.get("torch")
        if torch is not None:
            try:
                torch.set_num_threads(1)
            except Exception:
                pass


def main() -> None:
    rfd, wfd = int(sys.argv[1]), int(sys.argv[2])
    inp = os.fdopen(rfd, "rb", buffering=0)
    out = os.fdopen(wfd, "wb", buffering=0)
    forbidden = frozenset(n for n in os.environ.get("PROCTOR_FORBIDDEN_IMPORTS", "").split(",")
                          if n)
    if forbidden:
        sys.meta_path.insert(0, _Forbidden(forbidden))
    worker = Worker()
    while True:
        try:
            msg = codec.read_frame(inp)
        except EOFError:
            return
        try:
            worker.handle(msg, out)
        except Exception as exc:
            try:
                codec.write_frame(out, {"raised": _describe(exc)})
            except codec.CodecError as cexc:
                codec.write_frame(out, {"raised": _describe(cexc)})
        except BaseException as exc:  # SystemExit, KeyboardInterrupt... from candidate code
            codec.write_frame(out, {"raised": _describe(exc)})


if __name__ == "__main__":
    main()
