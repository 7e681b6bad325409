"""Public checks for box_ops: small cases with known answers."""

import numpy as np

from proctor.checks import check
from proctor.testing import assert_close, assert_equal


@check(points=1)
def iou_basic(ctx):
    """box_iou on a few hand-computed pairs."""
    a = np.array([[0, 0, 2, 2], [1, 1, 3, 3]], dtype=float)
    b = np.array([[0, 0, 2, 2], [2, 2, 4, 4], [10, 10, 11, 11]], dtype=float)
    expected = np.array([[1.0, 0.0, 0.0], [1 / 7, 1 / 7, 0.0]])
    assert_close(ctx.candidate.box_iou(a, b), expected, "box_iou(a, b)")


@check(points=1)
def nms_basic(ctx):
    """nms keeps the best box of an overlapping pair and a separate box."""
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], dtype=float)
    scores = np.array([0.9, 0.8, 0.7])
    assert_equal(ctx.candidate.nms(boxes, scores, 0.5), np.array([0, 2]), "nms(...)")


@check(points=1)
def batched_basic(ctx):
    """batched_nms keeps overlapping boxes of different classes."""
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [1, 1, 11, 11]], dtype=float)
    scores = np.array([0.9, 0.8, 0.7])
    classes = np.array([0, 1, 0])
    got = ctx.candidate.batched_nms(boxes, scores, classes, 0.5)
    assert_equal(got, np.array([0, 1]), "batched_nms(...)")
