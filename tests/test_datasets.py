"""Tests for proctor.kit.datasets: determinism, formats, and tight detection boxes."""

from __future__ import annotations

import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

from proctor.kit import datasets as D

# ---------------------------------------------------------------------------
# classification
# ---------------------------------------------------------------------------


def test_classification_shapes_and_dtypes() -> None:
    x, y = D.classification(400, seed=3)
    assert x.shape == (400, 64, 64, 3)
    assert x.dtype == np.uint8
    assert y.shape == (400,)
    assert y.dtype == np.int64
    assert y.min() >= 0 and y.max() < len(D.CLASS_NAMES) == 8
    # Balanced-ish: every class is present.
    assert set(np.unique(y).tolist()) == set(range(8))
    # Not degenerate: images use a real dynamic range and differ from each other.
    assert x.std() > 20
    assert not np.array_equal(x[0], x[1])


def test_classification_is_deterministic() -> None:
    a = D.classification(300, seed=11)
    b = D.classification(300, seed=11)
    assert a[0].tobytes() == b[0].tobytes()
    assert a[1].tobytes() == b[1].tobytes()


def test_classification_seeds_differ() -> None:
    xa, ya = D.classification(100, seed=1)
    xb, yb = D.classification(100, seed=2)
    assert not np.array_equal(xa, xb)
    assert not np.array_equal(ya, yb)


def test_classification_prefix_property() -> None:
    """A smaller n is a prefix of a larger n (and independent of the chunking)."""
    x_small, y_small = D.classification(37, seed=5)
    x_big, y_big = D.classification(1100, seed=5)  # spans several internal chunks
    assert np.array_equal(x_small, x_big[:37])
    assert np.array_equal(y_small, y_big[:37])


def test_classification_empty() -> None:
    x, y = D.classification(0, seed=0)
    assert x.shape == (0, 64, 64, 3) and y.shape == (0,)


def test_classification_speed_report() -> None:
    t = time.perf_counter()
    D.classification(2000, seed=0)
    dt = time.perf_counter() - t
    print(f"classification: 2000 images in {dt:.2f}s ({2000 / dt:.0f} img/s)")


def test_shapes_fit_in_unit_disk() -> None:
    """Every shape lies in the unit disk, which in-bounds placement relies on."""
    g = np.linspace(-1.2, 1.2, 241)
    u, v = np.meshgrid(g, g)
    outside = u * u + v * v > 1.0
    for k in range(len(D.CLASS_NAMES)):
        m = D.shape_mask_local(k, u, v)
        assert m.sum() > 1000, D.CLASS_NAMES[k]
        assert not (m & outside).any(), D.CLASS_NAMES[k]


def test_classes_are_distinct_masks() -> None:
    g = np.linspace(-1, 1, 101)
    u, v = np.meshgrid(g, g)
    masks = [D.shape_mask_local(k, u, v) for k in range(len(D.CLASS_NAMES))]
    for i in range(len(masks)):
        for j in range(i + 1, len(masks)):
            assert (masks[i] != masks[j]).mean() > 0.03, (D.CLASS_NAMES[i], D.CLASS_NAMES[j])


def test_datasets_does_not_import_torch() -> None:
    code = "import sys, proctor.kit.datasets; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=None)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------
# detection
# ---------------------------------------------------------------------------


def test_detection_formats() -> None:
    x, targets = D.detection(60, seed=4)
    assert x.shape == (60, 96, 96, 3) and x.dtype == np.uint8
    assert len(targets) == 60
    counts = []
    for t in targets:
        boxes, labels = t["boxes"], t["labels"]
        assert boxes.dtype == np.float32 and boxes.ndim == 2 and boxes.shape[1] == 4
        assert labels.dtype == np.int64 and labels.shape == (boxes.shape[0],)
        assert 1 <= len(labels) <= 6
        assert set(labels.tolist()) <= {0, 1, 2}
        # Inside the image, positive size.
        assert (boxes[:, 0] >= 0).all() and (boxes[:, 1] >= 0).all()
        assert (boxes[:, 2] <= 96).all() and (boxes[:, 3] <= 96).all()
        assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
        # Sizes: longest side within the advertised 8-40 px (small triangles
        # are a little shorter than their radius suggests).
        side = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
        assert (side >= 5).all() and (side <= 41).all()
        # Limited occlusion.
        if len(boxes) > 1:
            iou = D.box_iou(boxes, boxes)
            np.fill_diagonal(iou, 0.0)
            assert iou.max() <= 0.3 + 1e-6
        counts.append(len(labels))
    assert len(set(counts)) >= 4  # object count varies
    all_labels = np.concatenate([t["labels"] for t in targets])
    assert set(all_labels.tolist()) == {0, 1, 2}


def test_detection_is_deterministic_and_prefix() -> None:
    xa, ta = D.detection(12, seed=9)
    xb, tb = D.detection(12, seed=9)
    xc, tc = D.detection(5, seed=9)
    assert xa.tobytes() == xb.tobytes()
    for a, b in zip(ta, tb, strict=True):
        assert a["boxes"].tobytes() == b["boxes"].tobytes()
        assert a["labels"].tobytes() == b["labels"].tobytes()
    assert np.array_equal(xa[:5], xc)
    for a, c in zip(ta[:5], tc, strict=True):
        assert np.array_equal(a["boxes"], c["boxes"])


def test_detection_seeds_differ() -> None:
    xa, _ = D.detection(4, seed=1)
    xb, _ = D.detection(4, seed=2)
    assert not np.array_equal(xa, xb)


def test_detection_boxes_are_tight() -> None:
    """Re-render every object's mask from its parameters: the box must be its
    exact pixel extent (all mask pixels inside, and touching all four sides)."""
    size = 96
    _, targets, params = D.detection_with_params(40, seed=21, size=size)
    n_obj = 0
    for t, objs in zip(targets, params, strict=True):
        assert len(objs) == len(t["labels"])
        for box, label, o in zip(t["boxes"], t["labels"], objs, strict=True):
            assert o["kind"] == label
            m = D.shape_mask(o["kind"], o["cx"], o["cy"], o["radius"], o["angle"], size, size)
            ys, xs = np.nonzero(m)
            assert ys.size > 0
            x1, y1, x2, y2 = box.astype(int)
            assert np.array_equal(box, box.astype(int))  # integer pixel edges
            # every mask pixel inside the box ...
            assert xs.min() >= x1 and xs.max() < x2 and ys.min() >= y1 and ys.max() < y2
            # ... and the box touches the mask on all four sides (tight)
            assert xs.min() == x1 and xs.max() == x2 - 1
            assert ys.min() == y1 and ys.max() == y2 - 1
            n_obj += 1
    assert n_obj > 60


def test_detection_objects_are_drawn() -> None:
    """The object is actually visible: mask pixels differ from the pixels just
    outside the box on average (guards against boxes for invisible objects)."""
    size = 96
    x, targets, params = D.detection_with_params(20, seed=5, size=size)
    for img, objs in zip(x, params, strict=True):
        for o in objs[-1:]:  # the last object is drawn on top of the others
            m = D.shape_mask(o["kind"], o["cx"], o["cy"], o["radius"], o["angle"], size, size)
            inside = img[m].astype(np.float64).mean(axis=0)
            ring = D.shape_mask(0, o["cx"], o["cy"], o["radius"] * 1.6, 0.0, size, size) & ~(
                D.shape_mask(0, o["cx"], o["cy"], o["radius"] * 1.15, 0.0, size, size)
            )
            if ring.sum() < 20:
                continue
            outside = img[ring].astype(np.float64).mean(axis=0)
            assert np.linalg.norm(inside - outside) > 15


def test_detection_other_size() -> None:
    x, targets = D.detection(6, seed=0, size=128)
    assert x.shape == (6, 128, 128, 3)
    for t in targets:
        assert (t["boxes"][:, 2:] <= 128).all()
    with pytest.raises(ValueError):
        D.detection(1, seed=0, size=32)


def test_mask_box_and_iou_helpers() -> None:
    m = np.zeros((10, 12), dtype=bool)
    m[2:5, 3:9] = True
    assert D.mask_box(m).tolist() == [3.0, 2.0, 9.0, 5.0]
    with pytest.raises(ValueError):
        D.mask_box(np.zeros((4, 4), dtype=bool))
    a = np.array([[0, 0, 10, 10]], dtype=np.float32)
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30]], dtype=np.float32)
    assert np.allclose(D.box_iou(a, b), [[50 / 150, 0.0]])


def test_box_iou_is_the_one_scenes_uses() -> None:
    from proctor.kit import scenes

    assert D.box_iou is scenes.box_iou
    tiny = np.array([[0.0, 0.0, 1e-7, 1e-7]])  # union 1e-14: no clamping of the denominator
    assert D.box_iou(tiny, tiny).tolist() == [[1.0]]
    degenerate = np.array([[1.0, 1.0, 1.0, 1.0], [5.0, 5.0, 2.0, 2.0]])  # zero-area, inverted
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert D.box_iou(degenerate, degenerate).tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_public_names_stay_importable() -> None:
    for name in D.__all__:
        assert getattr(D, name) is not None, name


def test_detection_speed_report() -> None:
    t = time.perf_counter()
    D.detection(200, seed=0)
    dt = time.perf_counter() - t
    print(f"detection: 200 images in {dt:.2f}s ({200 / dt:.0f} img/s)")
