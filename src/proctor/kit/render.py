"""Batched painting primitives shared by the classification and detection sets.

Images are float32 ``[B, H, W, 3]`` while being painted and become uint8 only
in :func:`finish`.  Everything works on whole batches and draws small
primitives in per-image windows, which is what lets 10,000 classification
images render in about a second.

Every function consumes a fixed number of caller-supplied uniforms (or, for
:func:`noise`, a fixed number of draws per element): the data sets' prefix
property and their bit-for-bit reproducibility depend on that, so the draw
layout here must never change.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

# Clutter slots per image: each slot is active with some probability, but the
# number of random draws per image is fixed (needed for the prefix property).
_N_LINES = 5
_N_BLOBS = 4
#: Uniforms per image consumed by :func:`clutter` (8 per slot).
N_CLUTTER = _N_LINES * 8 + _N_BLOBS * 8

# Clutter geometry: lines are 6-30 px long and up to 3 px wide, blobs are
# ellipses with semi-axes 1.5-5 px.  Window sizes follow from these bounds.
_LINE_MIN, _LINE_MAX, _LINE_HW_MAX = 6.0, 30.0, 1.5
_LINE_WIN = 36
_BLOB_MIN, _BLOB_MAX = 1.5, 5.0
_BLOB_WIN = 12


def background(p: np.ndarray, size: int) -> np.ndarray:
    """Per-image base colour plus a linear colour gradient: [B, H, W, 3] float32.

    ``p`` columns: 0-2 base colour (uniform), 3 gradient angle, 4-6 gradient
    amplitude per channel.  Gradients stop the network from solving the task
    by global thresholding.  The gradient is separable in x and y, so it is
    built from two thin arrays and a single broadcast add.
    """
    p = p.astype(np.float32)
    base = p[:, 0:3] * 255.0
    ang = p[:, 3] * np.float32(2.0 * np.pi)
    amp = (p[:, 4:7] - 0.5) * 90.0  # up to +-45 grey levels at the image edges
    coord = (np.arange(size, dtype=np.float32) + 0.5) / size - 0.5
    gx = (np.cos(ang)[:, None] * coord[None, :])[:, :, None] * amp[:, None, :]  # [B, W, 3]
    gy = (np.sin(ang)[:, None] * coord[None, :])[:, :, None] * amp[:, None, :]  # [B, H, 3]
    return (base[:, None, None, :] + gy[:, :, None, :]) + gx[:, None, :, :]


def contrast_colour(base: np.ndarray, p: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """A colour at RGB distance in ``[lo, hi]`` from ``base`` (never clipped).

    ``p`` [B, 4] uniforms: 0-2 give a random direction, 3 the distance.  Each
    channel moves away from whichever extreme (0 or 255) is nearer, so
    clipping can not silently erase the contrast.
    """
    d = p[:, 0:3] + 0.05
    d = d / np.linalg.norm(d, axis=1, keepdims=True)
    dist = lo + (hi - lo) * p[:, 3:4]
    step = d * dist
    sign = np.where(base > 127.5, -1.0, 1.0)
    return np.clip(base + sign * step, 0.0, 255.0)


def window(ox: np.ndarray, oy: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates of per-image ``w`` x ``w`` windows.

    Returns ``gx`` [B, 1, w] and ``gy`` [B, w, 1] (float32) for windows whose
    top-left pixel is ``(ox, oy)``.  Rendering small primitives in a window
    instead of the whole image is what keeps batch generation fast.
    """
    r = np.arange(w, dtype=np.float32) + 0.5
    gx = (ox.astype(np.float32)[:, None] + r[None, :])[:, None, :]
    gy = (oy.astype(np.float32)[:, None] + r[None, :])[:, :, None]
    return gx, gy


def scatter(
    img: np.ndarray,
    idx: np.ndarray,
    ox: np.ndarray,
    oy: np.ndarray,
    mask: np.ndarray,
    colour: np.ndarray,
) -> None:
    """Paint windowed masks into the batch: ``img[idx[b]]`` at ``(oy+i, ox+j)``.

    ``mask`` is [B', w, w] for the images ``idx``; pixels falling outside the
    image are dropped (clutter may run off the edge).  Scatter through
    ``nonzero`` because masks are sparse.
    """
    bi, yi, xi = np.nonzero(mask)
    yy = oy[bi] + yi
    xx = ox[bi] + xi
    h, w = img.shape[1], img.shape[2]
    ok = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
    bi, yy, xx = bi[ok], yy[ok], xx[ok]
    img[idx[bi], yy, xx] = colour.astype(np.float32)[bi]


def _segment_dist2(
    xs: np.ndarray, ys: np.ndarray, x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray
) -> np.ndarray:
    """Squared distance from pixel centres to segments (batched, broadcasting)."""
    dx, dy = x1 - x0, y1 - y0
    ll = np.maximum(dx * dx + dy * dy, 1e-6)
    px, py = xs - x0, ys - y0
    t = np.clip((px * dx + py * dy) / ll, 0.0, 1.0)
    ex, ey = px - t * dx, py - t * dy
    return ex * ex + ey * ey


def clutter(img: np.ndarray, p: np.ndarray, size: int, on_top: bool) -> None:
    """Draw random line segments and small blobs (batched, in place).

    ``p`` is [B, N_CLUTTER] uniforms.  Each slot has an "active" and a
    "layer" draw; only slots whose layer matches ``on_top`` are drawn, so the
    same draws serve the under-shape and the over-shape pass.  Clutter exists
    so that the shape is not the only structure in the image: the network has
    to learn shape, not "anything that is not background", and clutter drawn
    on top partially occludes the shape.
    """
    p = p.astype(np.float32)
    for k in range(_N_LINES):
        q = p[:, k * 8 : (k + 1) * 8]
        idx = np.flatnonzero((q[:, 0] < 0.55) & ((q[:, 1] < 0.35) == on_top))
        if idx.size == 0:
            continue
        q = q[idx]
        x0 = q[:, 2] * size
        y0 = q[:, 3] * size
        ang = q[:, 4] * np.float32(2 * np.pi)
        ln = _LINE_MIN + q[:, 5] * (_LINE_MAX - _LINE_MIN)
        x1 = x0 + ln * np.cos(ang)
        y1 = y0 + ln * np.sin(ang)
        half_w = 0.5 + q[:, 6] * (_LINE_HW_MAX - 0.5)
        ox = np.floor(np.minimum(x0, x1) - _LINE_HW_MAX).astype(np.int64)
        oy = np.floor(np.minimum(y0, y1) - _LINE_HW_MAX).astype(np.int64)
        gx, gy = window(ox, oy, _LINE_WIN)
        e = (slice(None), None, None)
        d2 = _segment_dist2(gx, gy, x0[e], y0[e], x1[e], y1[e])
        m = d2 <= (half_w**2)[e]
        grey = q[:, 7:8] * 255.0
        col = np.concatenate([grey, (grey + 97.0 * q[:, 2:3]) % 255.0, 255.0 - grey], axis=1)
        scatter(img, idx, ox, oy, m, col)
    base = _N_LINES * 8
    for k in range(_N_BLOBS):
        q = p[:, base + k * 8 : base + (k + 1) * 8]
        idx = np.flatnonzero((q[:, 0] < 0.5) & ((q[:, 1] < 0.3) == on_top))
        if idx.size == 0:
            continue
        q = q[idx]
        cx = q[:, 2] * size
        cy = q[:, 3] * size
        rx = _BLOB_MIN + q[:, 4] * (_BLOB_MAX - _BLOB_MIN)
        ry = _BLOB_MIN + q[:, 5] * (_BLOB_MAX - _BLOB_MIN)
        ox = np.floor(cx - _BLOB_MAX - 0.5).astype(np.int64)
        oy = np.floor(cy - _BLOB_MAX - 0.5).astype(np.int64)
        gx, gy = window(ox, oy, _BLOB_WIN)
        e = (slice(None), None, None)
        m = ((gx - cx[e]) / rx[e]) ** 2 + ((gy - cy[e]) / ry[e]) ** 2 <= 1.0
        col = np.stack([q[:, 6], q[:, 7], 1.0 - q[:, 6]], axis=1) * 255.0
        scatter(img, idx, ox, oy, m, col)


def _gauss_lut() -> np.ndarray:
    """256 standard-normal quantiles: maps uniform bytes to Gaussian noise.

    Drawing bytes and looking them up is ~3x faster than
    ``Generator.standard_normal`` and the noise is visually identical
    (quantiles of N(0, 1), std ~0.998, clipped at +-2.9 sigma).
    """
    nd = NormalDist()
    return np.array([nd.inv_cdf((i + 0.5) / 256.0) for i in range(256)], dtype=np.float32)


_GAUSS_LUT = _gauss_lut()


def noise(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Approximately N(0, 1) float32 noise of ``shape`` (fixed draws per element)."""
    return _GAUSS_LUT[rng.integers(0, 256, size=shape, dtype=np.uint8)]


def finish(img: np.ndarray, unit_noise: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Add per-image-sigma Gaussian noise, round and clip to uint8.

    Works in place on ``img`` and ``unit_noise`` (from :func:`noise`) to avoid
    two more full-size temporaries per batch.
    """
    unit_noise *= sigma.astype(np.float32)[:, None, None, None]
    img += unit_noise
    np.clip(img, 0.0, 255.0, out=img)
    return np.rint(img).astype(np.uint8)
