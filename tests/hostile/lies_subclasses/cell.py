"""Attack: results that lie from inside numpy and the builtins.  box_iou returns an
ndarray subclass full of garbage whose ==, allclose hooks and tobytes all claim
success; nms returns int64 garbage as a subclass whose __eq__/__array_ufunc__ say
True; batched_nms returns a list subclass of int subclasses that equal anything.
Expect: all iou, nms and batched checks fail (compared as plain data on the grader)."""
# ruff: noqa: F821  (box_iou, nms, batched_nms come from the solution cell above)
import numpy as np

_real_iou = box_iou


class Liar(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)

    def __ne__(self, other):
        return np.zeros(np.shape(other), dtype=bool)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return True

    def __array_function__(self, func, types, args, kwargs):
        return True

    def tobytes(self, order="C"):
        return b"\0" * self.nbytes


class AnyInt(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


class AnyList(list):
    def __eq__(self, other):
        return True


def box_iou(boxes1, boxes2):
    return np.full((len(boxes1), len(boxes2)), 7.0).view(Liar)


def nms(boxes, scores, iou_threshold):
    return np.full(len(boxes), 12345, dtype=np.int64).view(Liar)


def batched_nms(boxes, scores, classes, iou_threshold):
    return AnyList(AnyInt(12345) for _ in range(len(boxes)))


print("HOSTILE lies_subclasses: results are garbage dressed as success", flush=True)
