"""Instance-segmentation masks: implement COCO run-length encoding, mask IoU and mask
boxes (numpy only)."""

from __future__ import annotations

import numpy as np


def rle_encode(mask: np.ndarray) -> dict:
    """Uncompressed COCO run-length encoding of one binary mask.

    Args:
        mask: bool or uint8 (0/1) array of shape [H, W], H >= 1 and W >= 1.

    Returns:
        {"size": [H, W], "counts": [...]}: the lengths of the runs of equal pixels
        in column-major (Fortran) order, as a list of Python ints. The runs
        alternate 0s, 1s, 0s, ... starting with 0s, so the first count is 0 when
        the top-left pixel is 1.
    """
    raise NotImplementedError


def rle_decode(rle: dict) -> np.ndarray:
    """The mask of an uncompressed COCO RLE (the inverse of rle_encode).

    Args:
        rle: {"size": [H, W], "counts": [...]} as described in rle_encode.

    Returns:
        uint8 array of shape [H, W] holding 0s and 1s.
    """
    raise NotImplementedError


def mask_iou(masks_a: np.ndarray, masks_b: np.ndarray) -> np.ndarray:
    """Pairwise intersection over union of two sets of binary masks.

    Args:
        masks_a: bool or uint8 (0/1) array [N, H, W].
        masks_b: bool or uint8 (0/1) array [M, H, W] (same H and W).

    Returns:
        float64 array [N, M]; entry (i, j) is |A_i & B_j| / |A_i | B_j|, and 0 where
        that union is empty.
    """
    raise NotImplementedError


def mask_to_box(masks: np.ndarray) -> np.ndarray:
    """Tight bounding boxes of binary masks.

    Args:
        masks: bool or uint8 (0/1) array [N, H, W].

    Returns:
        float64 array [N, 4] of (x1, y1, x2, y2): x1 / y1 the first column / row
        holding a pixel of the mask, x2 / y2 one past the last one (pixel edges).
        An empty mask gives (0, 0, 0, 0).
    """
    raise NotImplementedError
