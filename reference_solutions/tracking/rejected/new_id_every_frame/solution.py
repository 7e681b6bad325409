"""Rejected ``tracking`` solution: new_id_every_frame.

Satisfies the output contract (distinct ids >= 1) but never associates
anything across frames: every detection gets a brand-new id. MOTA collapses
(an identity switch for nearly every ground-truth box) and IDF1 is ~0.
"""

from __future__ import annotations

import numpy as np


class Tracker:
    def __init__(self) -> None:
        self.next_id = 1

    def update(self, detections: np.ndarray) -> np.ndarray:
        n = len(detections)
        ids = np.arange(self.next_id, self.next_id + n, dtype=np.int64)
        self.next_id += n
        return ids
