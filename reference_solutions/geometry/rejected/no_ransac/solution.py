"""Rejected ``geometry`` solution: no_ransac.

Triangulation as in the reference. ``find_homography`` fits one normalised DLT
to all correspondences (no robust estimation) and reports the points within the
threshold of that fit as inliers. With 30-50% gross outliers the fit is
dragged far from the truth: large reprojection errors, low inlier recall.
"""

from __future__ import annotations

import numpy as np


def _normalise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hartley normalisation: centroid to 0, mean distance sqrt(2). Returns (x', T)."""
    c = x.mean(axis=0)
    d = np.linalg.norm(x - c, axis=1).mean()
    s = np.sqrt(2.0) / d if d > 0 else 1.0
    T = np.array([[s, 0.0, -s * c[0]], [0.0, s, -s * c[1]], [0.0, 0.0, 1.0]])
    return (x - c) * s, T


def triangulate(P1: np.ndarray, P2: np.ndarray, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    x1 = np.asarray(x1, dtype=np.float64).reshape(-1, 2)
    x2 = np.asarray(x2, dtype=np.float64).reshape(-1, 2)
    x1n, T1 = _normalise(x1)
    x2n, T2 = _normalise(x2)
    Q1 = T1 @ np.asarray(P1, dtype=np.float64)
    Q2 = T2 @ np.asarray(P2, dtype=np.float64)
    A = np.stack(
        [
            x1n[:, 0:1] * Q1[2] - Q1[0],
            x1n[:, 1:2] * Q1[2] - Q1[1],
            x2n[:, 0:1] * Q2[2] - Q2[0],
            x2n[:, 1:2] * Q2[2] - Q2[1],
        ],
        axis=1,
    )  # [N, 4, 4]
    X = np.linalg.svd(A)[2][:, -1]  # right singular vector of the smallest singular value
    return X[:, :3] / X[:, 3:4]


def _dlt(s: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Homographies [B, 3, 3] with d ~ H s from correspondences s, d [B, M, 2] (M >= 4)."""
    x, y, u, v = s[..., 0], s[..., 1], d[..., 0], d[..., 1]
    o, z = np.ones_like(x), np.zeros_like(x)
    r1 = np.stack([x, y, o, z, z, z, -u * x, -u * y, -u], axis=-1)
    r2 = np.stack([z, z, z, x, y, o, -v * x, -v * y, -v], axis=-1)
    A = np.concatenate([r1, r2], axis=1)  # [B, 2M, 9]
    # full V only for minimal samples (8 x 9); thin SVD otherwise (no 2M x 2M U)
    return np.linalg.svd(A, full_matrices=A.shape[-2] < 9)[2][:, -1].reshape(-1, 3, 3)


def _fit(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Normalised DLT on all given correspondences."""
    sn, Ts = _normalise(src)
    dn, Td = _normalise(dst)
    return np.linalg.inv(Td) @ _dlt(sn[None], dn[None])[0] @ Ts


def _errors(H: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Transfer errors ||dst - H(src)|| for homographies H [..., 3, 3] -> [..., N]."""
    p = np.concatenate([src, np.ones((len(src), 1))], axis=1) @ np.swapaxes(H, -1, -2)
    w = p[..., 2]
    ok = np.abs(w) > 1e-12
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.hypot(p[..., 0] / w - dst[:, 0], p[..., 1] / w - dst[:, 1])
    return np.where(ok & np.isfinite(e), e, np.inf)


def find_homography(
    src: np.ndarray, dst: np.ndarray, threshold: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    src = np.asarray(src, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(dst, dtype=np.float64).reshape(-1, 2)
    if len(src) < 4:
        raise ValueError("need at least 4 correspondences")
    # BUG: least squares on every correspondence, outliers included.
    H = _fit(src, dst)
    mask = _errors(H, src, dst) <= threshold
    return H / H[2, 2], mask
