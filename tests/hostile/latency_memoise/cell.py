"""Attack: a solution 8x slower than the reference that memoises nms and batched_nms
on the exact bytes of their inputs, hoping the timed calls repeat inputs.
Expect: nms_latency fails, over budget: every timed call gets fresh inputs."""
# ruff: noqa: F821  (box_iou, nms, batched_nms come from the solution cell above)
import hashlib

import numpy as np

_fast_nms, _fast_batched = nms, batched_nms
_memo = {}


def _key(name, args):
    h = hashlib.sha1(name.encode())
    for a in args:
        isarray = isinstance(a, np.ndarray)
        h.update(np.ascontiguousarray(a).tobytes() if isarray else repr(a).encode())
    return h.hexdigest()


def _memoised(name, fn, args):
    key = _key(name, args)
    if key not in _memo:
        for _ in range(7):  # honest but 8x the work on a miss
            fn(*args)
        _memo[key] = fn(*args)
    return _memo[key].copy()


def nms(boxes, scores, iou_threshold):
    return _memoised("nms", _fast_nms, (boxes, scores, iou_threshold))


def batched_nms(boxes, scores, classes, iou_threshold):
    return _memoised("batched", _fast_batched, (boxes, scores, classes, iou_threshold))


print("HOSTILE latency_memoise: nms and batched_nms memoised", flush=True)
