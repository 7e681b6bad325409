"""Online multi-object tracker -- candidate starter.

Implement :class:`Tracker`. Allowed imports: the Python standard library,
``numpy`` and ``scipy`` (``scipy.optimize.linear_sum_assignment`` is fine).
See ``prompt.md`` for the full specification and how it is graded.
"""

from __future__ import annotations

import numpy as np


class Tracker:
    """Assigns a track id to every detection, one frame at a time.

    One ``Tracker`` instance sees exactly one video sequence, frame by frame,
    in order. It may keep any state between calls.
    """

    def __init__(self) -> None:
        """Create an empty tracker (no tracks yet). Takes no arguments."""
        raise NotImplementedError

    def update(self, detections: np.ndarray) -> np.ndarray:
        """Process the detections of the next frame.

        Args:
            detections: float64 array of shape [K, 5], one row per detection:
                ``(x1, y1, x2, y2, score)`` -- box corners in pixels
                (x1 < x2, y1 < y2) and a detector confidence in (0, 1].
                Rows are in no particular order. K may be 0 (shape [0, 5]).
                Do not modify this array.

        Returns:
            int64 array of shape [K]: the track id of each detection row, in
            the same order as the rows. Ids are integers >= 1, distinct within
            a frame; the same object should keep the same id for as long as
            it is visible, and a new object should get an id never used before.
        """
        raise NotImplementedError
