"""Rejected ``geometry`` solution: loop_per_point.

Same results as the reference (Hartley-normalised linear DLT, RANSAC homography), but
``triangulate`` builds and solves the 4x4 system of each point in a Python loop (one
small SVD per point) instead of one batched SVD over ``[N, 4, 4]``: correct, but
several times slower on thousands of points.
"""

from __future__ import annotations

import numpy as np

CONFIDENCE = 0.999
MAX_ITERS = 5000
BATCH = 64


def _normalise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hartley normalisation: centroid to 0, mean distance sqrt(2). Returns (x', T)."""
    c = x.mean(axis=0)
    d = np.linalg.norm(x - c, axis=1).mean()
    s = np.sqrt(2.0) / d if d > 0 else 1.0
    T = np.array([[s, 0.0, -s * c[0]], [0.0, s, -s * c[1]], [0.0, 0.0, 1.0]])
    return (x - c) * s, T


def triangulate(P1: np.ndarray, P2: np.ndarray, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """BUG (speed): one 4x4 DLT and one SVD per point in a Python loop."""
    x1 = np.asarray(x1, dtype=np.float64).reshape(-1, 2)
    x2 = np.asarray(x2, dtype=np.float64).reshape(-1, 2)
    x1n, T1 = _normalise(x1)
    x2n, T2 = _normalise(x2)
    Q1 = T1 @ np.asarray(P1, dtype=np.float64)
    Q2 = T2 @ np.asarray(P2, dtype=np.float64)
    out = np.empty((len(x1), 3))
    for i in range(len(x1)):
        A = np.array(
            [
                x1n[i, 0] * Q1[2] - Q1[0],
                x1n[i, 1] * Q1[2] - Q1[1],
                x2n[i, 0] * Q2[2] - Q2[0],
                x2n[i, 1] * Q2[2] - Q2[1],
            ]
        )
        X = np.linalg.svd(A)[2][-1]
        out[i] = X[:3] / X[3]
    return out


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
    n = len(src)
    if n < 4:
        raise ValueError("need at least 4 correspondences")
    rng = np.random.default_rng(seed)
    sn, Ts = _normalise(src)
    dn, Td = _normalise(dst)
    Td_inv = np.linalg.inv(Td)

    best_H, best_mask, best_count = np.eye(3), np.zeros(n, dtype=bool), -1
    done, needed = 0, MAX_ITERS
    while done < needed:
        idx = np.argpartition(rng.random((BATCH, n)), 3, axis=1)[:, :4]  # 4 distinct / row
        H = Td_inv @ _dlt(sn[idx], dn[idx]) @ Ts
        inl = _errors(H, src, dst) <= threshold
        counts = inl.sum(axis=1)
        b = int(np.argmax(counts))
        if counts[b] > best_count:
            best_H, best_mask, best_count = H[b], inl[b], int(counts[b])
            w4 = (best_count / n) ** 4
            if w4 >= 1.0:
                needed = 0
            elif w4 > 0.0:
                needed = min(MAX_ITERS, int(np.ceil(np.log(1 - CONFIDENCE) / np.log1p(-w4))))
        done += BATCH

    # Refit on all inliers until the inlier set stops changing.
    H, mask = best_H, best_mask
    for _ in range(5):
        if mask.sum() < 4:
            break
        H_new = _fit(src[mask], dst[mask])
        mask_new = _errors(H_new, src, dst) <= threshold
        if mask_new.sum() < mask.sum():
            break
        changed = not np.array_equal(mask_new, mask)
        H, mask = H_new, mask_new
        if not changed:
            break
    return H / H[2, 2], mask
