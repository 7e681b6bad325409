"""Connected-component labelling with a recursive depth-first flood fill."""

from __future__ import annotations

import numpy as np

_NEIGHBOURS = {
    4: [(-1, 0), (1, 0), (0, -1), (0, 1)],
    8: [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)],
}


def label(mask: np.ndarray, connectivity: int = 8) -> tuple[np.ndarray, int]:
    """Label connected foreground components of a 2-D mask.

    Returns ``(labels, n)``: int32 labels with 0 for background and 1..n numbered in
    row-major order of each component's first pixel.
    """
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity!r}")
    fg = np.asarray(mask)
    if fg.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {fg.shape}")
    fg = fg.astype(bool)
    labels = np.zeros(fg.shape, dtype=np.int32)
    if fg.size == 0:
        return labels, 0

    h, w = fg.shape
    grid = fg.tolist()
    out = [[0] * w for _ in range(h)]
    steps = _NEIGHBOURS[connectivity]

    def fill(r: int, c: int, k: int) -> None:
        out[r][c] = k
        for dr, dc in steps:
            rr, cc = r + dr, c + dc
            if 0 <= rr < h and 0 <= cc < w and grid[rr][cc] and not out[rr][cc]:
                fill(rr, cc, k)

    n = 0
    for r in range(h):  # raster scan: a new component is met at its first pixel
        for c in range(w):
            if grid[r][c] and not out[r][c]:
                n += 1
                fill(r, c, n)
    labels[:] = out
    return labels, n
