"""Reference solution for the ``tracking`` exercise: a SORT-style online tracker.

- state per track: (cx, cy, w, h, vcx, vcy, vw, vh), constant-velocity Kalman
  filter, noise proportional to box size (as in DeepSORT); all tracks are
  predicted / updated together with batched numpy;
- association: IoU between Kalman-predicted boxes and detections, Hungarian
  assignment (scipy), pairs below ``IOU_MIN`` are rejected;
- life cycle: a track survives up to ``MAX_AGE`` consecutive missed frames;
  an unmatched detection starts a track only if its score is at least
  ``MIN_SCORE``; other unmatched detections get a fresh id that is never
  reused.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

MAX_AGE = 20
IOU_MIN = 0.1
MIN_SCORE = 0.4

_F = np.eye(8)
_F[:4, 4:] = np.eye(4)
_POS, _VEL = 1.0 / 20.0, 1.0 / 160.0  # noise std as a fraction of box size


def _xyxy_to_z(b: np.ndarray) -> np.ndarray:
    wh = b[:, 2:4] - b[:, 0:2]
    return np.concatenate([b[:, 0:2] + wh / 2, wh], axis=1)


def _z_to_xyxy(z: np.ndarray) -> np.ndarray:
    half = np.abs(z[:, 2:4]) / 2
    return np.concatenate([z[:, 0:2] - half, z[:, 0:2] + half], axis=1)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def _size4(z: np.ndarray) -> np.ndarray:
    """[N, 4] scale (w, h, w, h) for each box: noise is proportional to it."""
    wh = np.maximum(np.abs(z[:, 2:4]), 1.0)
    return np.concatenate([wh, wh], axis=1)


class Tracker:
    def __init__(self) -> None:
        self.mean = np.zeros((0, 8))
        self.cov = np.zeros((0, 8, 8))
        self.ids = np.zeros(0, dtype=np.int64)
        self.misses = np.zeros(0, dtype=np.int64)  # consecutive missed frames
        self.next_id = 1

    def _new_ids(self, n: int) -> np.ndarray:
        ids = np.arange(self.next_id, self.next_id + n, dtype=np.int64)
        self.next_id += n
        return ids

    def update(self, detections: np.ndarray) -> np.ndarray:
        dets = np.asarray(detections, dtype=np.float64).reshape(-1, 5)
        n_det = len(dets)
        out = np.zeros(n_det, dtype=np.int64)

        # Predict all tracks.
        if len(self.mean):
            s = _size4(self.mean)
            q = np.concatenate([(_POS * s) ** 2, (_VEL * s) ** 2], axis=1)
            self.mean = self.mean @ _F.T
            self.cov = _F @ self.cov @ _F.T + q[:, :, None] * np.eye(8)

        # Associate by IoU with the predicted boxes.
        rows = cols = np.zeros(0, dtype=np.int64)
        if len(self.mean) and n_det:
            iou = _iou(_z_to_xyxy(self.mean[:, :4]), dets[:, :4])
            r, c = linear_sum_assignment(1.0 - iou)
            keep = iou[r, c] >= IOU_MIN
            rows, cols = r[keep], c[keep]

        # Kalman update of the matched tracks (batched).
        if len(rows):
            z = _xyxy_to_z(dets[cols, :4])
            m, P = self.mean[rows], self.cov[rows]
            R = (_POS * _size4(m)) ** 2
            S = P[:, :4, :4] + R[:, :, None] * np.eye(4)
            K = np.linalg.solve(S, P[:, :4, :]).transpose(0, 2, 1)  # P H^T S^-1, [M, 8, 4]
            self.mean[rows] = m + (K @ (z - m[:, :4])[:, :, None])[:, :, 0]
            self.cov[rows] = P - K @ P[:, :4, :]
            out[cols] = self.ids[rows]

        matched = np.zeros(len(self.mean), dtype=bool)
        matched[rows] = True
        self.misses = np.where(matched, 0, self.misses + 1)
        alive = self.misses <= MAX_AGE
        self.mean, self.cov = self.mean[alive], self.cov[alive]
        self.ids, self.misses = self.ids[alive], self.misses[alive]

        # Unmatched detections: new tracks (confident ones) or one-off ids.
        free = np.ones(n_det, dtype=bool)
        free[cols] = False
        idx = np.nonzero(free)[0]
        if len(idx):
            out[idx] = self._new_ids(len(idx))
            born = idx[dets[idx, 4] >= MIN_SCORE]
            if len(born):
                z = _xyxy_to_z(dets[born, :4])
                s = _size4(z)
                var = np.concatenate([(2 * _POS * s) ** 2, (10 * _VEL * s) ** 2], axis=1)
                self.mean = np.concatenate([self.mean, np.concatenate([z, np.zeros_like(z)], 1)])
                self.cov = np.concatenate([self.cov, var[:, :, None] * np.eye(8)])
                self.ids = np.concatenate([self.ids, out[born]])
                self.misses = np.concatenate([self.misses, np.zeros(len(born), dtype=np.int64)])
        return out
