"""Box operations exercise: implement the three functions below (numpy only)."""

from __future__ import annotations

import numpy as np


def box_iou(boxes1: np.ndarray, boxes2: np.ndarray) -> np.ndarray:
    """Pairwise IoU between two sets of (x1, y1, x2, y2) boxes.

    Args:
        boxes1: float array of shape [N, 4].
        boxes2: float array of shape [M, 4].

    Returns:
        float64 array of shape [N, M]; entry (i, j) is IoU(boxes1[i], boxes2[j]).
        A pair whose union area is 0 has IoU 0.
    """
    raise NotImplementedError


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression.

    Args:
        boxes: float array of shape [N, 4], (x1, y1, x2, y2).
        scores: float array of shape [N].
        iou_threshold: a box is suppressed if its IoU with an already kept box is
            strictly greater than this value.

    Returns:
        int64 array of the kept indices, in decreasing score order (equal scores:
        lower index first).
    """
    raise NotImplementedError


def batched_nms(
    boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou_threshold: float
) -> np.ndarray:
    """Class-aware NMS: boxes of different classes never suppress each other.

    Args:
        boxes: float array of shape [N, 4], (x1, y1, x2, y2).
        scores: float array of shape [N].
        classes: integer array of shape [N].
        iou_threshold: as in `nms`.

    Returns:
        int64 array of the kept indices, ordered exactly as `nms` orders them
        (decreasing score, ties by lower index), across all classes.
    """
    raise NotImplementedError
