import numpy as np


def _pair_iou(p, q):
    w = max(min(p[2], q[2]) - max(p[0], q[0]), 0.0)
    h = max(min(p[3], q[3]) - max(p[1], q[1]), 0.0)
    inter = w * h
    union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter
    return inter / union if union > 0 else 0.0


def box_iou(boxes1, boxes2):
    first = np.asarray(boxes1, dtype=np.float64).reshape(-1, 4).tolist()
    second = np.asarray(boxes2, dtype=np.float64).reshape(-1, 4).tolist()
    result = np.zeros((len(first), len(second)))
    for i, p in enumerate(first):
        for j, q in enumerate(second):
            result[i, j] = _pair_iou(p, q)
    return result


def nms(boxes, scores, iou_threshold):
    box_list = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).tolist()
    score_list = np.asarray(scores, dtype=np.float64).ravel().tolist()
    ranked = sorted(range(len(score_list)), key=lambda i: (-score_list[i], i))
    picked = []
    for i in ranked:
        if all(_pair_iou(box_list[i], box_list[k]) <= iou_threshold for k in picked):
            picked.append(i)
    return np.array(picked, dtype=np.int64)


def batched_nms(boxes, scores, classes, iou_threshold):
    box_list = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).tolist()
    score_list = np.asarray(scores, dtype=np.float64).ravel().tolist()
    labels = np.asarray(classes).ravel().tolist()
    ranked = sorted(range(len(score_list)), key=lambda i: (-score_list[i], i))
    picked = []
    for i in ranked:
        if all(labels[i] != labels[k] or _pair_iou(box_list[i], box_list[k]) <= iou_threshold
               for k in picked):
            picked.append(i)
    return np.array(picked, dtype=np.int64)
