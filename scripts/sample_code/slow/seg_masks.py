"""seg_masks with a pairwise mask_iou: one logical_and / logical_or per pair of masks.

Exact, and the RLE and box functions are vectorised, but the N x M Python loop is many
times slower than a single matrix product of the flattened masks.
"""

from __future__ import annotations

import numpy as np


def rle_encode(mask: np.ndarray) -> dict:
    h, w = mask.shape
    column_major = np.asarray(mask).T.reshape(-1).astype(np.int8)
    # run boundaries: a 0 -> 1 or 1 -> 0 step, with a virtual 0 before the first pixel
    steps = np.flatnonzero(np.diff(column_major, prepend=0, append=1 - column_major[-1]))
    counts = np.diff(steps, prepend=0)
    return {"size": [int(h), int(w)], "counts": [int(c) for c in counts]}


def rle_decode(rle: dict) -> np.ndarray:
    h, w = rle["size"]
    flat = np.zeros(h * w, dtype=np.uint8)
    ends = np.cumsum(rle["counts"])
    for start, end in zip(ends[0::2], ends[1::2], strict=False):  # the runs of 1s
        flat[start:end] = 1
    return flat.reshape(w, h).T


def mask_iou(masks_a: np.ndarray, masks_b: np.ndarray) -> np.ndarray:
    out = np.zeros((len(masks_a), len(masks_b)))
    for i, a in enumerate(masks_a):
        a = a.astype(bool)
        for j, b in enumerate(masks_b):
            b = b.astype(bool)
            union = np.logical_or(a, b).sum()
            if union:
                out[i, j] = np.logical_and(a, b).sum() / union
    return out


def mask_to_box(masks: np.ndarray) -> np.ndarray:
    boxes = np.zeros((len(masks), 4))
    for k, m in enumerate(masks):
        rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
        if rows.size:
            boxes[k] = cols[0], rows[0], cols[-1] + 1, rows[-1] + 1
    return boxes
