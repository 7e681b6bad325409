"""Rejected ``tracking`` solution: greedy_no_motion.

Associates each detection with the *last observed box* of a track (no motion
model) by greedy highest-IoU-first matching. Tracks survive missed frames
(``MAX_AGE``) and new tracks need a minimum score, like the reference, so the
only differences are the missing prediction and the greedy assignment. When
two same-size objects cross, a detection overlaps the other object's stale box
about as much as its own, so identities swap; after a miss, the stale box of a
fast object no longer overlaps its detection and the track is lost.
"""

from __future__ import annotations

import numpy as np

MAX_AGE = 20
IOU_MIN = 0.2
MIN_SCORE = 0.4


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


class Tracker:
    def __init__(self) -> None:
        self.boxes = np.zeros((0, 4))
        self.ids = np.zeros(0, dtype=np.int64)
        self.misses = np.zeros(0, dtype=np.int64)
        self.next_id = 1

    def update(self, detections: np.ndarray) -> np.ndarray:
        dets = np.asarray(detections, dtype=np.float64).reshape(-1, 5)
        out = np.zeros(len(dets), dtype=np.int64)
        matched = np.zeros(len(self.boxes), dtype=bool)
        if len(self.boxes) and len(dets):
            iou = _iou(self.boxes, dets[:, :4])
            # greedy: repeatedly take the best remaining pair
            for flat in np.argsort(-iou, axis=None):
                t, d = divmod(int(flat), len(dets))
                if iou[t, d] < IOU_MIN:
                    break
                if matched[t] or out[d]:
                    continue
                matched[t] = True
                out[d] = self.ids[t]
                self.boxes[t] = dets[d, :4]
        self.misses = np.where(matched, 0, self.misses + 1)
        alive = self.misses <= MAX_AGE
        self.boxes, self.ids, self.misses = self.boxes[alive], self.ids[alive], self.misses[alive]
        for d in np.nonzero(out == 0)[0]:
            out[d] = self.next_id
            self.next_id += 1
            if dets[d, 4] >= MIN_SCORE:
                self.boxes = np.vstack([self.boxes, dets[d, :4]])
                self.ids = np.append(self.ids, out[d])
                self.misses = np.append(self.misses, 0)
        return out
