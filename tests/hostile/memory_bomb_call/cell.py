"""Attack: box_iou allocates 10 GiB on every call.
Expect: the iou checks fail with a memory error, the others pass, the worker lives."""
# ruff: noqa: F821  (box_iou, nms, batched_nms come from the solution cell above)
import numpy as np

_real_iou = box_iou


def box_iou(boxes1, boxes2):
    hog = np.ones((10 << 30) // 8)  # 10 GiB of float64, touched
    return _real_iou(boxes1, boxes2) + hog[:1]


print("HOSTILE memory_bomb_call: box_iou allocates 10 GiB", flush=True)
