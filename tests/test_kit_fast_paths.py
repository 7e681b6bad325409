"""Faster paths of the kit give the values of the slower ones they replace."""

from __future__ import annotations

import hashlib

import numpy as np

from proctor.kit.datasets import detection
from proctor.kit.scenes import tracking_sequence
from proctor.kit.shapes import shape_mask, shape_mask_local
from proctor.kit.trackmetrics import METRICS, ideal_ids, summarize

# sha256 (first 16 hex digits) of detection(24, 11)'s images and boxes, recorded with the
# whole-image shape_mask
DETECTION_24_11 = "2272dc85e50a14c1"
DETECTION_24_11_BOXES = "e8b89beb7613ba30"


def test_summarize_of_some_metrics_equals_those_of_all():
    seqs = [tracking_sequence(s, n_frames=40, n_objects=6) for s in (3, 4)]
    rng = np.random.default_rng(0)
    # ids with mistakes: true ids, some rows swapped between objects in a few frames
    ids = []
    for s in seqs:
        per = ideal_ids(s)
        per = [rng.permutation(x) if rng.random() < 0.2 else x for x in per]
        ids.append(per)
    some = ("mota", "idf1", "num_switches", "num_objects")
    full, few = summarize(seqs, ids), summarize(seqs, ids, metrics=some)
    assert set(full["overall"]) == set(METRICS) and set(few["overall"]) == set(some)
    assert few["overall"] == {m: full["overall"][m] for m in some}
    for a, b in zip(few["per_sequence"], full["per_sequence"], strict=True):
        assert a == {m: b[m] for m in some}


def _shape_mask_whole_image(kind, cx, cy, radius, angle, height, width):
    """shape_mask's rule over every pixel (its former implementation)."""
    ys = np.arange(height, dtype=np.float64)[:, None] + 0.5 - cy
    xs = np.arange(width, dtype=np.float64)[None, :] + 0.5 - cx
    c, s = np.cos(angle), np.sin(angle)
    return shape_mask_local(kind, (c * xs + s * ys) / radius, (-s * xs + c * ys) / radius)


def test_windowed_shape_mask_equals_the_whole_image_rule():
    rng = np.random.default_rng(1)
    for _ in range(3000):
        h, w = (int(v) for v in rng.integers(1, 120, 2))
        kind = int(rng.integers(0, 8))
        radius = float(rng.choice([rng.uniform(0.2, 3.0), rng.uniform(3.0, 80.0)]))
        cx, cy = (float(rng.uniform(-radius - 3, n + radius + 3)) for n in (w, h))
        angle = float(rng.uniform(-np.pi, np.pi))
        assert np.array_equal(shape_mask(kind, cx, cy, radius, angle, h, w),
                              _shape_mask_whole_image(kind, cx, cy, radius, angle, h, w))
    # a negative radius mirrors the shape: the whole image is tested, as before
    assert np.array_equal(shape_mask(2, 10.0, 10.0, -6.0, 0.3, 20, 20),
                          _shape_mask_whole_image(2, 10.0, 10.0, -6.0, 0.3, 20, 20))


def test_detection_scenes_unchanged():
    """Pinned digests of detection(...) drawn before shapes were rasterised in windows."""
    images, targets = detection(24, 11)
    boxes = np.concatenate([t["boxes"] for t in targets])
    assert hashlib.sha256(images.tobytes()).hexdigest()[:16] == DETECTION_24_11
    assert hashlib.sha256(boxes.tobytes()).hexdigest()[:16] == DETECTION_24_11_BOXES
