"""Reference solution for seg_masks: COCO run-length encoding, pairwise mask IoU and mask
boxes, in numpy.

Budgets are measured against this file: run boundaries found with one vectorised comparison
on the column-major flattening, intersections as one BLAS matrix product, no Python loop
over pixels, runs or mask pairs.
"""

from __future__ import annotations

import numpy as np

# float32 holds every integer up to 2**24 exactly, so pixel counts of masks of at most
# that many pixels (4096x4096) are exact in a float32 matrix product; float64 above.
_FLOAT32_EXACT = 2**24


def rle_encode(mask: np.ndarray) -> dict:
    """``[H, W]`` binary mask -> uncompressed COCO RLE ``{"size": [H, W], "counts": [...]}``."""
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 2 or 0 in m.shape:
        raise ValueError(f"mask must be a non-empty [H, W] array, got shape {m.shape}")
    h, w = m.shape
    flat = m.ravel(order="F")  # column-major: down the first column, then the next, ...
    starts = np.flatnonzero(flat[1:] != flat[:-1]) + 1  # where a new run begins
    counts = np.diff(np.concatenate(([0], starts, [flat.size])))
    if flat[0]:
        counts = np.concatenate(([0], counts))  # counts always begin with a run of 0s
    return {"size": [h, w], "counts": counts.tolist()}


def rle_decode(rle: dict) -> np.ndarray:
    """Uncompressed COCO RLE -> ``[H, W]`` uint8 mask of 0s and 1s."""
    h, w = (int(s) for s in rle["size"])
    counts = np.asarray(rle["counts"], dtype=np.int64).reshape(-1)
    if (counts < 0).any() or counts.sum() != h * w:
        raise ValueError(f"counts must be non-negative and sum to H*W = {h * w}")
    values = (np.arange(counts.size) % 2).astype(np.uint8)  # runs alternate 0, 1, 0, ...
    return np.repeat(values, counts).reshape((h, w), order="F")


def _flat_masks(masks: np.ndarray, name: str) -> np.ndarray:
    m = np.asarray(masks, dtype=bool)
    if m.ndim != 3:
        raise ValueError(f"{name} must be [N, H, W], got shape {m.shape}")
    return m.reshape(m.shape[0], m.shape[1] * m.shape[2])


def mask_iou(masks_a: np.ndarray, masks_b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of ``[N, H, W]`` and ``[M, H, W]`` binary masks -> float64 ``[N, M]``."""
    a, b = _flat_masks(masks_a, "masks_a"), _flat_masks(masks_b, "masks_b")
    if np.shape(masks_a)[1:] != np.shape(masks_b)[1:]:
        raise ValueError(f"mask sizes differ: {np.shape(masks_a)} vs {np.shape(masks_b)}")
    # |A ∩ B| for every pair is one matrix product of the 0/1 masks.  Float, not integer:
    # numpy's integer matmul does not use BLAS (and uint8 would wrap at 256).
    dtype = np.float32 if a.shape[1] <= _FLOAT32_EXACT else np.float64
    inter = (a.astype(dtype) @ b.astype(dtype).T).astype(np.float64)
    union = a.sum(axis=1, dtype=np.float64)[:, None] + b.sum(axis=1, dtype=np.float64) - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def mask_to_box(masks: np.ndarray) -> np.ndarray:
    """Tight ``(x1, y1, x2, y2)`` boxes of ``[N, H, W]`` masks -> float64 ``[N, 4]``;
    x2 and y2 are one past the last column and row; empty masks give all zeros."""
    m = np.asarray(masks, dtype=bool)
    if m.ndim != 3:
        raise ValueError(f"masks must be [N, H, W], got shape {m.shape}")
    n, h, w = m.shape
    cols, rows = m.any(axis=1), m.any(axis=2)  # [N, W], [N, H]: columns / rows in use
    # first True by argmax; last True by argmax on the reversed axis
    x1, x2 = cols.argmax(axis=1), w - cols[:, ::-1].argmax(axis=1)
    y1, y2 = rows.argmax(axis=1), h - rows[:, ::-1].argmax(axis=1)
    boxes = np.stack([x1, y1, x2, y2], axis=1).astype(np.float64)
    boxes[~rows.any(axis=1)] = 0.0  # an empty mask has no extent
    return boxes
