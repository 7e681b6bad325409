"""proctor.kit.segmentation: the scenes (formats, determinism, the rare class, occlusion) and
the metrics (IoU from a confusion matrix, boundary F), on hand cases and against brute force.

The boundary F-score follows DAVIS's ``f_measure`` (davis2017-evaluation): it was checked
once to agree exactly with that code (OpenCV + scikit-image, not dependencies here) on 239
binary mask pairs at tolerances 1, 2 and 3 px; the brute-force version below is what
keeps it honest in CI.
"""

from __future__ import annotations

import numpy as np
import pytest

from proctor.kit import segmentation as S


@pytest.fixture(scope="module")
def scenes() -> tuple[np.ndarray, np.ndarray]:
    return S.segmentation(300, seed=11)


# ------------------------------------------------------------------------------ scenes


def test_formats(scenes) -> None:
    images, masks = scenes
    assert images.shape == (300, 64, 64, 3) and images.dtype == np.uint8
    assert masks.shape == (300, 64, 64) and masks.dtype == np.int64
    assert masks.min() == 0 and masks.max() == len(S.SEG_CLASS_NAMES) - 1
    empty_x, empty_y = S.segmentation(0, 1)
    assert empty_x.shape == (0, 64, 64, 3) and empty_y.shape == (0, 64, 64)
    with pytest.raises(ValueError):
        S.segmentation(-1, 1)


def test_deterministic_prefix_and_seeded(scenes) -> None:
    images, masks = scenes
    again_x, again_y = S.segmentation(300, seed=11)
    assert np.array_equal(again_x, images) and np.array_equal(again_y, masks)
    few_x, few_y = S.segmentation(5, seed=11)  # a prefix, across the 256-image chunks too
    assert np.array_equal(few_x, images[:5]) and np.array_equal(few_y, masks[:5])
    other_x, other_y = S.segmentation(5, seed=12)
    assert not np.array_equal(other_x, images[:5]) and not np.array_equal(other_y, masks[:5])


def test_every_class_occurs_and_the_cross_is_rare(scenes) -> None:
    _, masks = scenes
    share = np.bincount(masks.ravel(), minlength=5) / masks.size
    assert 0.75 < share[0] < 0.9, share
    assert (share[1:4] > 0.025).all(), share
    assert 0.003 < share[S.RARE_CLASS] < 0.02, share
    assert share[S.RARE_CLASS] < share[1:4].min() / 2, share
    with_cross = (masks == S.RARE_CLASS).any(axis=(1, 2)).mean()
    assert 0.1 < with_cross < 0.35, with_cross
    shapes_per_image = (masks > 0).any(axis=(1, 2))
    assert shapes_per_image.all()


def test_labels_follow_the_picture(scenes) -> None:
    """Neighbouring pixels of different classes differ in colour far more than neighbours of
    the same class (noise aside): the masks are the drawn shapes."""
    images, masks = scenes
    x = images.astype(np.float64)
    diff = np.abs(x[:, :, 1:] - x[:, :, :-1]).sum(-1)
    edge = masks[:, :, 1:] != masks[:, :, :-1]
    assert np.median(diff[edge]) > 4 * np.median(diff[~edge])


def test_occlusion_by_shapes_and_clutter(scenes) -> None:
    _, masks = scenes
    left, right = masks[:, :, :-1], masks[:, :, 1:]
    touching = (left > 0) & (right > 0) & (left != right)  # two shapes meet
    assert touching.any(axis=(1, 2)).mean() > 0.05
    # a background pixel between two pixels of one convex shape (circle, square, triangle):
    # clutter drawn over the shape
    a, mid, b = masks[:, :, :-2], masks[:, :, 1:-1], masks[:, :, 2:]
    cut = (mid == 0) & np.isin(a, (1, 2, 3)) & (a == b)
    assert cut.any(axis=(1, 2)).mean() > 0.05


# ----------------------------------------------------------------------------- metrics


def test_confusion_matrix_and_class_iou_by_hand() -> None:
    target = np.array([[0, 0, 1, 1], [0, 2, 2, 1]])
    pred = np.array([[0, 1, 1, 1], [0, 2, 0, 1]])
    conf = S.confusion_matrix(pred, target, 4)
    assert conf.tolist() == [[2, 1, 0, 0], [0, 3, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]
    iou = S.class_iou(conf)
    assert iou[:3].tolist() == pytest.approx([2 / 4, 3 / 4, 1 / 2])
    assert np.isnan(iou[3])  # neither true nor predicted anywhere
    r = S.evaluate(pred[None], target[None], num_classes=4)
    assert r["miou"] == pytest.approx((0.5 + 0.75 + 0.5) / 3)  # the absent class is left out
    assert r["pixel_accuracy"] == pytest.approx(6 / 8)


def test_boundary_map_and_dilate_by_hand() -> None:
    sq = np.zeros((32, 32), np.int64)
    sq[10:20, 10:20] = 3
    b = S.boundary_map(sq)
    ring = np.zeros((32, 32), bool)  # the perimeter of [9..19] x [9..19]: seg2bmap's side
    ring[9:20, 9] = ring[9:20, 19] = ring[9, 9:20] = ring[19, 9:20] = True
    assert np.array_equal(b, ring) and b.sum() == 40
    assert not S.boundary_map(np.full((5, 5), 2)).any()
    dot = np.zeros((7, 7), bool)
    dot[3, 3] = True
    assert S.dilate(dot, 1).sum() == 5 and S.dilate(dot, 2).sum() == 13  # skimage disk(r)
    assert S.dilate(dot, 1)[2:5, 2:5].tolist() == [[0, 1, 0], [1, 1, 1], [0, 1, 0]]


def test_boundary_f_by_hand() -> None:
    sq = np.zeros((1, 32, 32), np.int64)
    sq[0, 10:20, 10:20] = 1
    assert S.boundary_f(sq, sq)["f"] == 1.0
    one = np.roll(sq, 1, axis=2)
    assert S.boundary_f(one, sq, tolerance=1)["f"] == 1.0
    two = np.roll(sq, 2, axis=2)
    # shifted 2 px: 22 of the 40 perimeter pixels are within 1 px of the other perimeter
    r = S.boundary_f(two, sq, tolerance=1)
    assert r["precision"] == pytest.approx(22 / 40) and r["recall"] == pytest.approx(22 / 40)
    assert S.boundary_f(two, sq, tolerance=2)["f"] == 1.0
    # the class does not matter, only where the boundaries are
    assert S.boundary_f(sq * 4, sq)["f"] == 1.0
    # DAVIS's conventions for empty sides
    empty = np.zeros_like(sq)
    assert S.boundary_f(empty, empty)["f"] == 1.0
    assert S.boundary_f(empty, sq)["f"] == 0.0 and S.boundary_f(sq, empty)["f"] == 0.0


def _brute_boundary_f(pred: np.ndarray, target: np.ndarray, tol: int) -> tuple[float, float]:
    """Precision and recall by looking around every boundary pixel (loops, no dilation)."""
    def bmap(a):
        h, w = a.shape
        out = np.zeros_like(a, dtype=bool)
        for i in range(h):
            for j in range(w):
                for di, dj in ((0, 1), (1, 0), (1, 1)):
                    if i + di < h and j + dj < w and a[i, j] != a[i + di, j + dj]:
                        out[i, j] = True
        return out

    def matched(src, dst):
        hits = total = 0
        for k in range(src.shape[0]):
            ys, xs = np.nonzero(dst[k])
            for i, j in zip(*np.nonzero(src[k]), strict=True):
                total += 1
                hits += bool((((ys - i) ** 2 + (xs - j) ** 2) <= tol * tol).any())
        return hits, total

    bp = np.stack([bmap(a) for a in pred])
    bt = np.stack([bmap(a) for a in target])
    hp, n_p = matched(bp, bt)
    ht, n_t = matched(bt, bp)
    return (hp / n_p if n_p else 1.0), (ht / n_t if n_t else 1.0)


@pytest.mark.parametrize("tol", [1, 2])
def test_boundary_f_matches_brute_force(scenes, tol) -> None:
    _, masks = scenes
    rng = np.random.default_rng(tol)
    target = masks[:6, 16:48, 16:48]
    pred = np.roll(target, 1, axis=1).copy()
    pred[rng.random(pred.shape) < 0.03] = 2  # speckles: extra boundaries
    pred[3] = masks[10, 16:48, 16:48]        # another image altogether
    r = S.boundary_f(pred, target, tol)
    precision, recall = _brute_boundary_f(pred, target, tol)
    assert r["precision"] == pytest.approx(precision) and r["recall"] == pytest.approx(recall)
    assert 0 < r["f"] < 1


def test_evaluate_perfect_and_majority(scenes) -> None:
    _, masks = scenes
    perfect = S.evaluate(masks[:50], masks[:50])
    assert perfect["miou"] == 1.0 and perfect["boundary_f"] == 1.0
    r = S.evaluate(np.zeros_like(masks[:50]), masks[:50])
    assert r["per_class_iou"][1:] == [0.0] * 4 and r["boundary_f"] == 0.0
    assert r["pixel_accuracy"] > 0.75  # the majority class alone is most of the pixels
    assert r["miou"] < 0.2


def test_as_masks() -> None:
    good = np.zeros((2, 64, 64), np.uint8)
    assert S.as_masks(good, 2).dtype == np.int64
    assert S.as_masks(good.astype(np.float32), 2).dtype == np.int64
    with pytest.raises(AssertionError, match="shape"):
        S.as_masks(np.zeros((2, 5, 64, 64)), 2)
    with pytest.raises(AssertionError, match="shape"):
        S.as_masks(np.zeros((64, 64)), 1)
    with pytest.raises(AssertionError, match="outside 0..4"):
        S.as_masks(good + 5, 2)
    with pytest.raises(AssertionError, match="non-integer"):
        S.as_masks(good + 0.5, 2)
    with pytest.raises(AssertionError, match="non-integer"):
        S.as_masks(np.full((2, 64, 64), np.nan), 2)
    with pytest.raises(AssertionError, match="shape"):
        S.as_masks(good[:, None], 2)  # strict: a singleton channel axis is a wrong shape


def test_as_masks_lenient() -> None:
    good = np.arange(2 * 64 * 64).reshape(2, 64, 64) % 5
    assert np.array_equal(S.as_masks(good[:, None], 2, lenient=True), good)  # [N, 1, H, W]
    assert np.array_equal(S.as_masks(good.astype(np.uint8), 2, lenient=True), good)
    odd = good.astype(np.float64)
    odd[0, 0, :6] = [5, -1, 0.5, np.nan, np.inf, 1e30]
    odd[1, 0, 0] = 4.0
    got = S.as_masks(odd, 2, lenient=True)
    assert got.dtype == np.int64
    assert got[0, 0, :6].tolist() == [-1] * 6 and got[1, 0, 0] == 4
    assert np.array_equal(got[:, 1:], good[:, 1:])
    big = good.astype(np.uint64)
    big[0, 0, 0] = 2**64 - 1  # wraps to -1 in int64: out of range all the same
    assert S.as_masks(big, 2, lenient=True)[0, 0, 0] == -1
    assert S.as_masks(np.zeros((0, 1, 64, 64)), 0, lenient=True).shape == (0, 64, 64)
    for shape in ((2, 5, 64, 64), (64, 64), (2, 64, 64, 1), (2, 64, 65)):
        with pytest.raises(AssertionError, match="shape"):
            S.as_masks(np.zeros(shape), 2, lenient=True)
    with pytest.raises(AssertionError, match="not numbers"):
        S.as_masks(np.zeros((2, 64, 64), dtype=complex), 2, lenient=True)


def test_confusion_matrix_refuses_ids_out_of_range() -> None:
    target = np.zeros((2, 2), np.int64)
    for bad in (-1, 4):
        with pytest.raises(ValueError, match="outside 0..3"):
            S.confusion_matrix(np.full((2, 2), bad), target, 4)
        with pytest.raises(ValueError, match="outside 0..3"):
            S.confusion_matrix(target, np.full((2, 2), bad), 4)


def test_evaluate_counts_ids_out_of_range_as_wrong_pixels() -> None:
    target = np.array([[0, 0, 1, 1], [0, 2, 2, 1]])
    pred = np.array([[0, 1, 1, 1], [0, 2, 0, 1]])
    base = S.evaluate(pred[None], target[None], num_classes=4)
    for stray in (-1, 4, 255):  # at a true 1 (row 0, col 2) and at a true 0 (row 1, col 0)
        odd = pred.copy()
        odd[0, 2], odd[1, 0] = stray, stray
        r = S.evaluate(odd[None], target[None], num_classes=4)
        # class 0: TP 1 (was 2), FP 1 (the 0 at a true 2), FN 2 -> 1 / 4
        # class 1: TP 2 (was 3), FP 1, FN 1 -> 2 / 4; class 2: TP 1, FN 1 -> 1 / 2 (as before)
        assert r["per_class_iou"][:3] == pytest.approx([1 / 4, 2 / 4, 1 / 2])
        assert np.isnan(r["per_class_iou"][3])  # the stray ids are no class's prediction
        assert r["pixel_accuracy"] == pytest.approx(4 / 8)
        assert r["miou"] < base["miou"]
        assert 0 <= r["boundary_f"] <= 1
    # float maps with -1 (as_masks(..., lenient=True)'s wrong pixels) on real scenes
    _, masks = S.segmentation(4, 3)
    wrong = masks.copy()
    wrong[:, :8] = -1
    r = S.evaluate(wrong, masks)
    covered = (masks[:, :8] > 0).any()
    assert r["pixel_accuracy"] == pytest.approx(1 - 8 / 64)
    assert r["per_class_iou"][0] < 1 and (not covered or min(r["per_class_iou"]) < 1)
