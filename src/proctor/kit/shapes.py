"""The shape vocabulary of the synthetic image sets, as boolean masks.

Every shape is defined in a unit disk in its own rotated frame, so a shape of
radius ``r`` centred at ``(cx, cy)`` never leaves the square
``[cx-r, cx+r] x [cy-r, cy+r]``.  That makes in-bounds placement trivial and
lets detection boxes be computed from the rasterised mask itself (tight by
construction).  Shape kinds index :data:`proctor.kit.datasets.CLASS_NAMES`.
"""

from __future__ import annotations

import math

import numpy as np

_SQRT3_2 = float(np.sqrt(3.0) / 2.0)


def shape_mask_local(kind: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Boolean mask of shape ``kind`` at local coordinates ``(u, v)``.

    ``(u, v)`` are coordinates in the shape's own rotated frame, scaled so
    that the shape's circumradius is at most 1 (every shape fits in the unit
    disk).  ``v`` points down, as image rows do.  Works on arrays of any
    shape, which is what lets :func:`proctor.kit.datasets.classification` render
    whole batches at once.

    ``kind`` indexes :data:`proctor.kit.datasets.CLASS_NAMES`.
    """
    au, av = np.abs(u), np.abs(v)
    if kind == 0:  # circle
        return u * u + v * v <= 0.92**2
    if kind == 1:  # square (axis aligned before rotation)
        return np.maximum(au, av) <= 0.68
    if kind == 2:  # equilateral triangle, apex up, circumradius 1
        return (v <= 0.5) & (_SQRT3_2 * u - 0.5 * v <= 0.5) & (-_SQRT3_2 * u - 0.5 * v <= 0.5)
    if kind == 3:  # diamond (square rotated by 45 deg)
        return au + av <= 0.96
    if kind == 4:  # ring
        rr = u * u + v * v
        return (rr <= 0.92**2) & (rr >= 0.52**2)
    if kind == 5:  # plus-shaped cross
        return ((au <= 0.27) & (av <= 0.92)) | ((av <= 0.27) & (au <= 0.92))
    if kind == 6:  # hollow square frame
        m = np.maximum(au, av)
        return (m <= 0.68) & (m >= 0.40)
    if kind == 7:  # five-pointed star (polar radius modulated by cos(5 theta))
        rho = np.sqrt(u * u + v * v)
        theta = np.arctan2(u, -v)  # 0 at "up", so one point is up
        return rho <= 0.5 + 0.45 * (0.5 + 0.5 * np.cos(5.0 * theta)) ** 1.5
    raise ValueError(f"unknown shape kind {kind}")


def shape_mask(
    kind: int,
    cx: float,
    cy: float,
    radius: float,
    angle: float,
    height: int,
    width: int,
) -> np.ndarray:
    """Rasterise one shape into a ``[height, width]`` boolean mask.

    Pixel centres ``(j + 0.5, i + 0.5)`` are rotated by ``-angle`` about
    ``(cx, cy)`` and divided by ``radius`` before testing
    :func:`shape_mask_local`.  This is the exact rule used when drawing, so
    tests can re-render an object's mask and check its box is tight.

    Only the pixels of the square ``[cx - radius, cx + radius]`` (plus one) are
    tested: every shape fits in the unit disk, and the same arithmetic on the same
    pixel centres gives the same mask as testing the whole image (detection scenes
    draw thousands of shapes; most of a 96x96 image is far from any of them).
    """
    mask = np.zeros((height, width), dtype=bool)
    x0, y0, x1, y1 = 0, 0, width, height
    if radius > 0 and math.isfinite(cx + cy + radius):
        x0, x1 = max(math.floor(cx - radius) - 1, 0), min(math.ceil(cx + radius) + 2, width)
        y0, y1 = max(math.floor(cy - radius) - 1, 0), min(math.ceil(cy + radius) + 2, height)
        if x0 >= x1 or y0 >= y1:
            return mask
    ys = np.arange(y0, y1, dtype=np.float64)[:, None] + 0.5 - cy
    xs = np.arange(x0, x1, dtype=np.float64)[None, :] + 0.5 - cx
    c, s = np.cos(angle), np.sin(angle)
    u = (c * xs + s * ys) / radius
    v = (-s * xs + c * ys) / radius
    mask[y0:y1, x0:x1] = shape_mask_local(kind, u, v)
    return mask
