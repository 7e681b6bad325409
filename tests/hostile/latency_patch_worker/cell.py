"""Attack: a solution 8x slower than the reference that patches the worker that runs
it (proctor.worker.server, i.e. the __main__ module of the worker process): whenever inputs
arrive before the timed message, compute the answers right away, while nobody is timing,
and answer the timed 'run' from that cache.  Inputs come inside the 'stage' message when
they cross the pipe; when they cross the worker's memory, the grader writes them after the
'stage' reply, so the answers are computed in the background as soon as the next message
is readable (the inputs are then in place), racing the timed 'run'.
Expect: nms_latency fails, over budget: the grader counts each worker's CPU time
whenever it is spent, staging included, so there is nowhere to hide work."""
# ruff: noqa: F821  (box_iou, nms, batched_nms come from the solution cell above)
import select
import sys
import threading

_fast_nms = nms


def nms(boxes, scores, iou_threshold):  # honest but 8x the work
    for _ in range(7):
        _fast_nms(boxes, scores, iou_threshold)
    return _fast_nms(boxes, scores, iou_threshold)


W = sys.modules["__main__"]  # the worker runs the server as __main__
_handle = W.Worker.handle
_RFD = int(sys.argv[1])      # the worker's end of the grader's pipe
cache = {}
stats = {"precomputed": 0, "served": 0}


def _compute(self, key, calls, go):
    while not go.is_set() and not select.select([_RFD], [], [], 0.001)[0]:
        pass  # until the grader has written the inputs (its next message is there)
    fns = [self.ns["nms"] if len(args) == 3 else self.ns["batched_nms"] for args, _ in calls]
    cache[key] = [fn(*args, **kwargs) for fn, (args, kwargs) in zip(fns, calls, strict=True)]
    stats["precomputed"] += len(calls)


def handle(self, msg, out):
    op = msg.get("op")
    if op == "run" and msg.get("key") in cache and not msg.get("null"):
        worker, go = cache.pop("thread:" + msg["key"])
        go.set()
        worker.join()
        results = cache.pop(msg["key"])
        self.staged.pop(msg["key"], None)
        stats["served"] += len(results)
        if msg.get("mem"):
            self.held = []
            reply = [W.staging.describe(self.plain(r), self.held) for r in results]
        else:
            reply = [self.plain(r) for r in results]
        W.codec.write_frame(out, {"ok": reply})
        return None
    answer = _handle(self, msg, out)
    if op == "stage":  # untimed: start the work now
        key, calls = msg["key"], self.staged[msg["key"]]
        cache[key] = None
        go = threading.Event()
        if not msg.get("mem"):
            go.set()  # through the pipe, the inputs came with the message
        t = threading.Thread(target=_compute, args=(self, key, calls, go))
        t.start()
        cache["thread:" + key] = (t, go)
    return answer


W.Worker.handle = handle
print(f"HOSTILE latency_patch_worker: patched {W.__name__}.Worker.handle", flush=True)
