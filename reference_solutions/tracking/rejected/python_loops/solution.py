"""Rejected: the reference's algorithm written with one Python object per track and
pure-Python loops for prediction, IoU and the Kalman update.  The ids are the same as
the reference's; the per-frame cost is several times higher (fails latency only)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

MAX_AGE = 20
IOU_MIN = 0.1
MIN_SCORE = 0.4

_F = np.eye(8)
_F[:4, 4:] = np.eye(4)
_POS, _VEL = 1.0 / 20.0, 1.0 / 160.0


def _iou_one(a, b):
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(iw, 0.0) * max(ih, 0.0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / max(union, 1e-9)


def _z(box):
    w, h = box[2] - box[0], box[3] - box[1]
    return np.array([box[0] + w / 2, box[1] + h / 2, w, h])


def _size4(m):
    w, h = max(abs(m[2]), 1.0), max(abs(m[3]), 1.0)
    return np.array([w, h, w, h])


class _Track:
    def __init__(self, z, track_id):
        s = _size4(z)
        self.mean = np.concatenate([z, np.zeros(4)])
        self.cov = np.diag(np.concatenate([(2 * _POS * s) ** 2, (10 * _VEL * s) ** 2]))
        self.id = track_id
        self.misses = 0

    def predict(self):
        s = _size4(self.mean)
        q = np.diag(np.concatenate([(_POS * s) ** 2, (_VEL * s) ** 2]))
        self.mean = _F @ self.mean
        self.cov = _F @ self.cov @ _F.T + q

    def box(self):
        cx, cy, w, h = self.mean[:4]
        w, h = abs(w) / 2, abs(h) / 2
        return [cx - w, cy - h, cx + w, cy + h]

    def update(self, z):
        R = np.diag((_POS * _size4(self.mean)) ** 2)
        S = self.cov[:4, :4] + R
        K = np.linalg.solve(S, self.cov[:4, :]).T
        self.mean = self.mean + K @ (z - self.mean[:4])
        self.cov = self.cov - K @ self.cov[:4, :]


class Tracker:
    def __init__(self) -> None:
        self.tracks: list[_Track] = []
        self.next_id = 1

    def update(self, detections: np.ndarray) -> np.ndarray:
        dets = np.asarray(detections, dtype=np.float64).reshape(-1, 5)
        out = np.zeros(len(dets), dtype=np.int64)
        for t in self.tracks:
            t.predict()
        rows, cols = [], []
        if self.tracks and len(dets):
            boxes = [t.box() for t in self.tracks]
            det_boxes = dets[:, :4].tolist()
            iou = np.array([[_iou_one(a, b) for b in det_boxes] for a in boxes])
            r, c = linear_sum_assignment(1.0 - iou)
            for i, j in zip(r, c, strict=True):
                if iou[i, j] >= IOU_MIN:
                    rows.append(i)
                    cols.append(j)
        for i, j in zip(rows, cols, strict=True):
            self.tracks[i].update(_z(dets[j, :4]))
            out[j] = self.tracks[i].id
        matched = set(rows)
        for i, t in enumerate(self.tracks):
            t.misses = 0 if i in matched else t.misses + 1
        self.tracks = [t for t in self.tracks if t.misses <= MAX_AGE]
        taken = set(cols)
        for j in range(len(dets)):
            if j in taken:
                continue
            out[j] = self.next_id
            if dets[j, 4] >= MIN_SCORE:
                self.tracks.append(_Track(_z(dets[j, :4]), self.next_id))
            self.next_id += 1
        return out
