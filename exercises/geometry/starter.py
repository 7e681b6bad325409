"""Two-view geometry -- candidate starter.

Implement :func:`triangulate` and :func:`find_homography` with numpy only
(standard library allowed; no OpenCV, no scipy). See ``prompt.md`` for the full
specification and how it is graded.
"""

from __future__ import annotations

import numpy as np


def triangulate(P1: np.ndarray, P2: np.ndarray, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """Triangulate N points seen by two cameras (linear DLT).

    Homogeneous linear DLT with Hartley normalisation of the image coordinates
    (per image: translate the centroid to the origin, scale so the mean distance
    to it is sqrt(2); transform the camera matrix accordingly), vectorised over
    the N points (one batched SVD, no Python loop over points).

    Args:
        P1, P2: float64 [3, 4] camera matrices (each defined up to scale).
        x1, x2: float64 [N, 2] pixel coordinates of the same N points in image
            1 and image 2 (N >= 1). Coordinates may be large (~1e4 px).

    Returns:
        float64 [N, 3]: the 3D points (inhomogeneous world coordinates).
    """
    raise NotImplementedError


def find_homography(
    src: np.ndarray, dst: np.ndarray, threshold: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Robustly estimate H with dst ~ H @ src (RANSAC + normalised DLT).

    Args:
        src, dst: float64 [N, 2] corresponding pixel coordinates (N >= 4); up
            to about half of the correspondences may be gross outliers.
        threshold: maximum reprojection error in pixels, measured in the dst
            image: correspondence i is an inlier of H when
            ``|| dst[i] - dehomogenise(H @ [src[i], 1]) || <= threshold``.
        seed: seed for all randomness (use ``np.random.default_rng(seed)``);
            the same inputs and seed must give the same result.

    Returns:
        (H, mask): H float64 [3, 3] with ``H[2, 2] == 1``, refitted on all
        inliers with the normalised DLT; mask bool [N], the inliers of the
        returned H (error <= threshold).
    """
    raise NotImplementedError
