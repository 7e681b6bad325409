"""Reference solution for the ``box_ops`` exercise: pairwise IoU and (batched) NMS."""

from __future__ import annotations

import numpy as np


def _as_boxes(boxes: np.ndarray) -> np.ndarray:
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)


def _areas(boxes: np.ndarray) -> np.ndarray:
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def _safe_div(inter: np.ndarray, union: np.ndarray) -> np.ndarray:
    """inter / union, with 0 wherever the union is 0 (e.g. two identical degenerate boxes)."""
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def box_iou(boxes1: np.ndarray, boxes2: np.ndarray) -> np.ndarray:
    """Pairwise IoU of ``[N, 4]`` and ``[M, 4]`` (x1, y1, x2, y2) boxes -> float64 ``[N, M]``."""
    b1, b2 = _as_boxes(boxes1), _as_boxes(boxes2)
    # Overlap along each axis, [N, M]; negative means disjoint.
    w = np.minimum(b1[:, None, 2], b2[None, :, 2]) - np.maximum(b1[:, None, 0], b2[None, :, 0])
    h = np.minimum(b1[:, None, 3], b2[None, :, 3]) - np.maximum(b1[:, None, 1], b2[None, :, 1])
    inter = np.clip(w, 0.0, None) * np.clip(h, 0.0, None)
    union = _areas(b1)[:, None] + _areas(b2)[None, :] - inter
    return _safe_div(inter, union)


def _nms(
    boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray | None, iou_threshold: float
) -> np.ndarray:
    """Greedy NMS; if ``classes`` is given, only boxes of the same class suppress each other."""
    b = _as_boxes(boxes)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if b.shape[0] != s.shape[0]:
        raise ValueError(f"{b.shape[0]} boxes but {s.shape[0]} scores")
    # Stable sort on -score: highest score first, ties keep the lower index first.
    order = np.argsort(-s, kind="stable")
    x1, y1, x2, y2 = b[order].T.copy()  # contiguous coordinates, in processing order
    area = (x2 - x1) * (y2 - y1)
    cls = None if classes is None else np.asarray(classes).reshape(-1)[order]

    keep: list[int] = []
    cand = np.arange(order.size)  # positions (in sorted order) still alive
    while cand.size:
        i, rest = cand[0], cand[1:]
        keep.append(i)
        # IoU of box i against every remaining candidate; same arithmetic as box_iou.
        w = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0.0, None)
        h = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0.0, None)
        inter = w * h
        survive = _safe_div(inter, area[i] + area[rest] - inter) <= iou_threshold
        if cls is not None:
            survive |= cls[rest] != cls[i]
        cand = rest[survive]
    return order[np.asarray(keep, dtype=np.int64)].astype(np.int64)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices of boxes kept by greedy NMS, in decreasing score order (ties: lower index first).

    A box is suppressed when its IoU with an already kept box is strictly greater than
    ``iou_threshold``.
    """
    return _nms(boxes, scores, None, iou_threshold)


def batched_nms(
    boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou_threshold: float
) -> np.ndarray:
    """Like :func:`nms`, but boxes of different classes never suppress each other."""
    cls = np.asarray(classes).reshape(-1)
    if cls.shape[0] != _as_boxes(boxes).shape[0]:
        raise ValueError("classes must have one entry per box")
    return _nms(boxes, scores, cls, iou_threshold)
