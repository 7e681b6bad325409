"""Attack: be correct on small inputs and instantly wrong on the large ones that the
latency check times (N >= 2000).
Expect: correctness checks pass, nms_latency fails because a timed output is wrong
("a fast wrong answer is not fast")."""
# ruff: noqa: F821  (box_iou, nms, batched_nms come from the solution cell above)
import numpy as np

_real_nms, _real_batched = nms, batched_nms


def nms(boxes, scores, iou_threshold):
    if len(boxes) >= 2000:
        return np.arange(10, dtype=np.int64)
    return _real_nms(boxes, scores, iou_threshold)


def batched_nms(boxes, scores, classes, iou_threshold):
    if len(boxes) >= 2000:
        return np.arange(10, dtype=np.int64)
    return _real_batched(boxes, scores, classes, iou_threshold)


print("HOSTILE latency_fast_wrong: nms is instant and wrong for N >= 2000", flush=True)
