import numpy as np


def box_iou(boxes1, boxes2):
    a = np.asarray(boxes1, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(boxes2, dtype=np.float64).reshape(-1, 4)
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(bottom_right - top_left, 0.0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    iou = np.zeros_like(inter)
    np.divide(inter, union, out=iou, where=union > 0)
    return iou


def nms(boxes, scores, iou_threshold):
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).ravel()
    # highest score first; equal scores keep the lower index first
    queue = np.lexsort((np.arange(scores.size), -scores))
    kept = []
    while queue.size:
        best, others = queue[0], queue[1:]
        kept.append(best)
        overlaps = box_iou(boxes[best][None], boxes[others])[0]
        queue = others[overlaps <= iou_threshold]
    return np.asarray(kept, dtype=np.int64)


def batched_nms(boxes, scores, classes, iou_threshold):
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).ravel()
    classes = np.asarray(classes).ravel()
    survivors = [np.zeros(0, dtype=np.int64)]
    for c in np.unique(classes):
        members = np.flatnonzero(classes == c)
        survivors.append(members[nms(boxes[members], scores[members], iou_threshold)])
    keep = np.concatenate(survivors)
    return keep[np.lexsort((keep, -scores[keep]))].astype(np.int64)
