"""xyxy box helpers shared by the image data sets and the tracking scenes.

One IoU for the whole package: :mod:`proctor.kit.datasets` uses it to keep
detection objects apart and :mod:`proctor.kit.scenes` to model occlusion, and the
tests of both check generated data with it.  Two copies of the same formula
would drift apart.

Boxes are ``(x1, y1, x2, y2)`` with an exclusive right/bottom edge, the
convention torchvision and (after conversion to xywh) pycocotools agree on.
"""

from __future__ import annotations

import numpy as np


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of xyxy boxes ``a`` [N, 4] and ``b`` [M, 4] -> float64 [N, M].

    A pair with no positive union (zero-area or inverted boxes) has IoU 0,
    never NaN, and no warning is raised.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def mask_box(mask: np.ndarray) -> np.ndarray:
    """Tight xyxy box (float32, exclusive right/bottom) of a non-empty 2-D mask.

    Pixel ``(row i, col j)`` covers ``[j, j+1) x [i, i+1)``, so the box is
    ``(min col, min row, max col + 1, max row + 1)``.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise ValueError("empty mask has no box")
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], dtype=np.float32)
