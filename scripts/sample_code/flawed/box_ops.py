import numpy as np


def box_iou(boxes1, boxes2):
    boxes1 = np.asarray(boxes1, dtype=float)
    boxes2 = np.asarray(boxes2, dtype=float)
    out = np.zeros((len(boxes1), len(boxes2)))
    if out.size == 0:
        return out
    ix1 = np.maximum.outer(boxes1[:, 0], boxes2[:, 0])
    iy1 = np.maximum.outer(boxes1[:, 1], boxes2[:, 1])
    ix2 = np.minimum.outer(boxes1[:, 2], boxes2[:, 2])
    iy2 = np.minimum.outer(boxes1[:, 3], boxes2[:, 3])
    intersection = (ix2 - ix1).clip(min=0) * (iy2 - iy1).clip(min=0)
    s1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    s2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    total = np.add.outer(s1, s2) - intersection
    ok = total > 0
    out[ok] = intersection[ok] / total[ok]
    return out


def nms(boxes, scores, iou_threshold):
    boxes = np.asarray(boxes, dtype=float)
    scores = np.asarray(scores, dtype=float)
    ranking = np.argsort(scores)[::-1]  # best first
    alive = np.ones(len(ranking), dtype=bool)
    result = []
    for pos, idx in enumerate(ranking):
        if not alive[pos]:
            continue
        result.append(idx)
        later = ranking[pos + 1:]
        alive[pos + 1:] &= box_iou(boxes[idx:idx + 1], boxes[later])[0] <= iou_threshold
    return np.array(result, dtype=np.int64)


def batched_nms(boxes, scores, classes, iou_threshold):
    boxes = np.asarray(boxes, dtype=float)
    classes = np.asarray(classes)
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    shift = (boxes.max() + 1.0) * classes.astype(float)
    return nms(boxes + shift[:, None], scores, iou_threshold)
