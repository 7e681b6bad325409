"""Attack: leave through calls: box_iou calls sys.exit(3); nms calls os._exit(7) on
the input of the public check nms_basic; batched_nms raises
KeyboardInterrupt on the input of batched_basic.
Expect: iou checks fail naming SystemExit; nms_basic is an error (worker exited with
code 7) and the worker is replaced; batched_basic fails naming KeyboardInterrupt; the
other nms and batched checks pass."""
# ruff: noqa: F821  (box_iou, nms, batched_nms come from the solution cell above)
import os
import sys

import numpy as np

_real_nms, _real_batched = nms, batched_nms
NMS_BASIC = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], dtype=float)
BATCHED_BASIC = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [1, 1, 11, 11]], dtype=float)


def box_iou(boxes1, boxes2):
    sys.exit(3)


def nms(boxes, scores, iou_threshold):
    if np.array_equal(boxes, NMS_BASIC):
        os._exit(7)
    return _real_nms(boxes, scores, iou_threshold)


def batched_nms(boxes, scores, classes, iou_threshold):
    if np.array_equal(boxes, BATCHED_BASIC):
        raise KeyboardInterrupt
    return _real_batched(boxes, scores, classes, iou_threshold)


print("HOSTILE exit_in_call: armed", flush=True)
