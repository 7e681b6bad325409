"""Connected-component labelling with the classic two-pass, per-pixel union-find."""

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

    parent = [0]  # provisional label -> parent label; 0 is background

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

    # First pass: provisional labels from the already-scanned neighbours
    # (left and up; plus the two upper diagonals for 8-connectivity).
    h, w = fg.shape
    back = [(0, -1), (-1, 0)] + ([(-1, -1), (-1, 1)] if connectivity == 8 else [])
    for r in range(h):
        for c in range(w):
            if not fg[r, c]:
                continue
            near = [
                int(labels[r + dr, c + dc])
                for dr, dc in back
                if r + dr >= 0 and 0 <= c + dc < w and labels[r + dr, c + dc]
            ]
            if not near:
                parent.append(len(parent))
                labels[r, c] = len(parent) - 1
            else:
                labels[r, c] = min(near)
                for x in near:
                    union(x, near[0])

    # Second pass: provisional labels were created in raster order and every set's root is
    # its smallest label, so numbering roots in increasing order gives row-major order.
    final = [0] * len(parent)
    n = 0
    for k in range(1, len(parent)):
        root = find(k)
        if root == k:
            n += 1
            final[k] = n
        else:
            final[k] = final[root]
    return np.asarray(final, dtype=np.int32)[labels], n
