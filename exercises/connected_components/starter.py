"""Connected-component labelling exercise: implement `label` (numpy only)."""

from __future__ import annotations

import numpy as np


def label(mask: np.ndarray, connectivity: int = 8) -> tuple[np.ndarray, int]:
    """Label the connected foreground components of a 2-D mask.

    Args:
        mask: 2-D array; truthy pixels are foreground.
        connectivity: 4 (edge neighbours) or 8 (edge and diagonal neighbours).

    Returns:
        (labels, n): `labels` is an int32 array of the mask's shape with 0 for background
        and 1..n for the components, numbered in row-major order of each component's
        first pixel; `n` is the number of components.

    Raises:
        ValueError: if `mask` is not 2-D or `connectivity` is not 4 or 8.
    """
    raise NotImplementedError
