"""Attack: a solution 8x slower than the reference that patches the worker that runs
it (proctor.worker.server, i.e. the __main__ module of the worker process): whenever inputs
arrive before the timed message (e.g. a 'stage' op), compute the answers right away,
while nobody is timing, and answer the timed 'run' from that cache.
Expect: nms_latency fails, over budget: the grader counts each worker's CPU time
whenever it is spent, staging included, so there is nowhere to hide work."""
# ruff: noqa: F821  (box_iou, nms, batched_nms come from the solution cell above)
import hashlib
import sys

import numpy as np

_fast_nms = nms


def nms(boxes, scores, iou_threshold):  # honest but 8x the work
    for _ in range(7):
        _fast_nms(boxes, scores, iou_threshold)
    return _fast_nms(boxes, scores, iou_threshold)


def _key(args):
    h = hashlib.sha1()
    for a in args:
        isarray = isinstance(a, np.ndarray)
        h.update(np.ascontiguousarray(a).tobytes() if isarray else repr(a).encode())
    return h.hexdigest()


W = sys.modules["__main__"]  # the worker runs as `python -m proctor.worker.server`
_handle = W.Worker.handle
cache = {}
stats = {"precomputed": 0, "served": 0}


def handle(self, msg, out):
    op = msg.get("op")
    if op == "stage":  # untimed: do the work now
        for args, kwargs in msg.get("calls", []):
            fn = self.ns["nms"] if len(args) == 3 else self.ns["batched_nms"]
            cache[_key(args)] = fn(*args, **kwargs)
            stats["precomputed"] += 1
    if op == "run":
        calls = msg.get("calls") or self.staged.get(msg.get("key"), [])
        if calls and all(_key(a) in cache for a, _ in calls):
            self.staged.pop(msg.get("key"), None)
            stats["served"] += len(calls)
            W.codec.write_frame(out, {"ok": [self.plain(cache.pop(_key(a))) for a, _ in calls]})
            return
    return _handle(self, msg, out)


W.Worker.handle = handle
print(f"HOSTILE latency_patch_worker: patched {W.__name__}.Worker.handle", flush=True)
