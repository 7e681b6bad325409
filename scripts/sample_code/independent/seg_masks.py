import numpy as np


def rle_encode(mask):
    m = np.asarray(mask).astype(bool)
    height, width = m.shape
    column_major = m.ravel(order="F").astype(np.int8)
    edges = np.flatnonzero(column_major[1:] != column_major[:-1]) + 1
    runs = np.diff(np.concatenate(([0], edges, [column_major.size])))
    counts = [int(r) for r in runs]
    if column_major[0]:
        counts.insert(0, 0)  # runs start with zeros
    return {"size": [int(height), int(width)], "counts": counts}


def rle_decode(rle):
    height, width = (int(v) for v in rle["size"])
    runs = np.asarray(rle["counts"], dtype=np.int64)
    values = (np.arange(runs.size) % 2).astype(np.uint8)
    return np.repeat(values, runs).reshape((height, width), order="F")


def mask_iou(masks_a, masks_b):
    a = np.asarray(masks_a).astype(bool)
    b = np.asarray(masks_b).astype(bool)
    flat_a = a.reshape(a.shape[0], -1).astype(np.float32)
    flat_b = b.reshape(b.shape[0], -1).astype(np.float32)
    inter = (flat_a @ flat_b.T).astype(np.float64)
    area_a = flat_a.sum(axis=1, dtype=np.float64)
    area_b = flat_b.sum(axis=1, dtype=np.float64)
    union = area_a[:, None] + area_b[None, :] - inter
    out = np.zeros(inter.shape, dtype=np.float64)
    np.divide(inter, union, out=out, where=union > 0)
    return out


def mask_to_box(masks):
    m = np.asarray(masks).astype(bool)
    n, height, width = m.shape
    rows = m.any(axis=2)
    cols = m.any(axis=1)
    present = rows.any(axis=1)
    y1 = rows.argmax(axis=1)
    y2 = height - rows[:, ::-1].argmax(axis=1)
    x1 = cols.argmax(axis=1)
    x2 = width - cols[:, ::-1].argmax(axis=1)
    boxes = np.stack([x1, y1, x2, y2], axis=1).astype(np.float64)
    boxes[~present] = 0.0
    return boxes
