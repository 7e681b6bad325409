"""Connected-component labelling with a classic two-pass, per-pixel union-find."""

from __future__ import annotations

import numpy as np


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
    grid = fg.ravel().tolist()
    parent = list(range(h * w))

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    # Already-scanned neighbours: left and up (4), plus the two upper diagonals (8).
    back = [(0, -1), (-1, 0)] + ([(-1, -1), (-1, 1)] if connectivity == 8 else [])
    for r in range(h):
        for c in range(w):
            p = r * w + c
            if not grid[p]:
                continue
            for dr, dc in back:
                rr, cc = r + dr, c + dc
                if rr >= 0 and 0 <= cc < w and grid[rr * w + cc]:
                    union(p, rr * w + cc)

    # Second pass: number the roots in order of first appearance in the raster scan.
    number: dict[int, int] = {}
    flat = [0] * (h * w)
    for p in range(h * w):
        if grid[p]:
            root = find(p)
            if root not in number:
                number[root] = len(number) + 1
            flat[p] = number[root]
    labels[:] = np.asarray(flat, dtype=np.int32).reshape(h, w)
    return labels, len(number)
