"""Faster paths of the kit give the values of the slower ones they replace."""

from __future__ import annotations

import hashlib

import numpy as np

from proctor.kit.cocoeval import evaluate, recall50
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


def _random_case(rng: np.random.Generator, n_images: int, n_classes: int):
    """Ground truth and predictions with the hard parts of COCO matching: boxes near
    their objects (IoU around 0.5), duplicates, tied scores, more than 100 detections,
    out-of-range labels, empty images, degenerate and huge boxes."""
    preds, targets = [], []
    for _ in range(n_images):
        g = int(rng.choice([0, 1, 3, 8]))
        xy = rng.uniform(0, 80, (g, 2))
        wh = rng.choice([0.0, 1.0, 6.0, 20.0, 1e6], (g, 2), p=[0.05, 0.1, 0.35, 0.45, 0.05])
        gb = np.concatenate([xy, xy + wh], 1)
        gl = rng.integers(0, n_classes + (rng.random() < 0.1), g)
        d = int(rng.choice([0, 2, 10, 130]))
        src = gb[rng.integers(0, max(g, 1), d)] if g else rng.uniform(0, 80, (d, 4))
        pb = src + rng.normal(0, rng.choice([0.5, 3.0]), (d, 4))
        pb[:, 2:] = np.maximum(pb[:, 2:], pb[:, :2])
        if d and rng.random() < 0.3:
            pb[rng.integers(0, d)] = gb[0] if g else pb[0]  # exact copies
        scores = rng.choice([0.5, 0.7, 0.9], d) if rng.random() < 0.4 else rng.random(d)
        labels = (gl[rng.integers(0, g, d)] if g and rng.random() < 0.8
                  else rng.integers(0, n_classes + 1, d))
        preds.append({"boxes": pb, "scores": scores, "labels": labels})
        targets.append({"boxes": gb, "labels": gl})
    return preds, targets


def test_recall50_equals_pycocotools_ar50():
    rng = np.random.default_rng(7)
    for case in range(300):
        preds, targets = _random_case(rng, int(rng.integers(1, 9)), 3)
        want, got = evaluate(preds, targets, 3)["AR50"], recall50(preds, targets, 3)
        assert (np.isnan(want) and np.isnan(got)) or got == want, (case, got, want)
    # the detection exercise's own scenes, with a model's kind of mistakes
    images, targets = detection(16, 3)
    preds = [{"boxes": t["boxes"] + rng.normal(0, 2.0, t["boxes"].shape),
              "scores": rng.random(len(t["boxes"])),
              "labels": (t["labels"] + (rng.random(len(t["labels"])) < 0.2)) % 3}
             for t in targets]
    assert recall50(preds, targets, 3) == evaluate(preds, targets, 3)["AR50"]


def test_fix_boxes_is_fix_box_per_row():
    """tracking_scene's vectorised box repair, on rows that need it (the golden digests of
    tests/test_tracking_scene_golden.py pin the whole sequences)."""
    from proctor.kit.tracking_scene import _fix_box, _fix_boxes

    rng = np.random.default_rng(3)
    boxes = rng.uniform(-20, 680, (400, 4))
    boxes[::3, 2] = boxes[::3, 0] + rng.uniform(-3, 3, len(boxes[::3]))  # narrow, inverted
    boxes[::4, 3] = boxes[::4, 1] + rng.uniform(-3, 3, len(boxes[::4]))
    want = np.array([_fix_box(b, 640.0, 480.0) for b in boxes])
    assert np.array_equal(_fix_boxes(boxes, 640.0, 480.0), want)
