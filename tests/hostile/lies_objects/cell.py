"""Attack: results that lie.  box_iou returns an object whose __eq__ is always True
(and that claims to be an array); nms returns an object array; batched_nms returns an
object whose __reduce__/__reduce_ex__/__getstate__ would run a command if the grader
ever unpickled or copied it.
Expect: the checks of all three fail, and the command never ran (marker file absent)."""
import os

import numpy as np

RUN = "touch @@MARKERS@@/reduce-ran"


class AlwaysEqual:
    shape = (2, 3)
    dtype = np.dtype("float64")

    def __eq__(self, other):
        return True

    __ne__ = lambda self, other: False  # noqa: E731
    __array__ = lambda self, *a, **k: (os.system(RUN), np.zeros(self.shape))[1]  # noqa: E731

    def __bool__(self):
        return True


class Payload:
    def __reduce__(self):
        return (os.system, (RUN,))

    def __reduce_ex__(self, protocol):
        return (os.system, (RUN,))

    def __getstate__(self):
        os.system(RUN)
        return {}

    def __eq__(self, other):
        return True


def box_iou(boxes1, boxes2):
    return AlwaysEqual()


def nms(boxes, scores, iou_threshold):
    return np.array([AlwaysEqual() for _ in range(len(boxes))] or [None], dtype=object)


def batched_nms(boxes, scores, classes, iou_threshold):
    return Payload()


print("HOSTILE lies_objects: box_iou, nms and batched_nms lie", flush=True)
