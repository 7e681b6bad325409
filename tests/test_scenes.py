"""The synthetic scene generators of ``proctor.kit.scenes`` (tracking and geometry).

Determinism, shapes and dtypes, and the properties the exercises rely on:
crossing pairs of same-size objects, entering/leaving objects, detection miss
and false-positive rates, exact outlier counts, large pixel coordinates.
"""

from __future__ import annotations

import numpy as np
import pytest

from proctor.kit.scenes import (
    box_iou,
    find_crossings,
    homography_scene,
    project,
    tracking_sequence,
    triangulation_scene,
)

SEEDS = (0, 1, 2, 3)


@pytest.fixture(scope="module")
def sequences() -> dict[int, dict]:
    return {s: tracking_sequence(s) for s in SEEDS}


def _same(a: dict, b: dict, keys: tuple[str, ...]) -> bool:
    for k in keys:
        va, vb = a[k], b[k]
        if isinstance(va, list):
            if len(va) != len(vb) or not all(
                np.array_equal(x, y) for x, y in zip(va, vb, strict=True)
            ):
                return False
        elif isinstance(va, np.ndarray):
            if not np.array_equal(va, vb):
                return False
        elif va != vb:
            return False
    return True


# ----------------------------------------------------------------------------- tracking


def test_tracking_deterministic(sequences):
    keys = ("gt_ids", "gt_boxes", "dets", "det_gt_ids", "crossings")
    assert _same(sequences[0], tracking_sequence(0), keys)
    assert not _same(sequences[0], sequences[1], ("dets",))


def test_tracking_shapes_and_ranges(sequences):
    for seq in sequences.values():
        W, H = seq["size"]
        assert seq["n_frames"] == 100
        for key in ("gt_ids", "gt_boxes", "dets", "det_gt_ids"):
            assert len(seq[key]) == 100
        for ids, boxes, dets, dgt in zip(
            seq["gt_ids"], seq["gt_boxes"], seq["dets"], seq["det_gt_ids"], strict=True
        ):
            assert ids.dtype == np.int64 and ids.ndim == 1
            assert boxes.dtype == np.float64 and boxes.shape == (len(ids), 4)
            assert dets.dtype == np.float64 and dets.shape[1] == 5 and dets.ndim == 2
            assert dgt.shape == (len(dets),)
            assert len(np.unique(ids)) == len(ids)
            for b in (boxes, dets[:, :4]):
                assert np.all(b[:, 2] > b[:, 0]) and np.all(b[:, 3] > b[:, 1])
                assert (
                    b.min(initial=0) >= 0
                    and np.all(b[:, [0, 2]] <= W)
                    and np.all(b[:, [1, 3]] <= H)
                )
            assert np.all((dets[:, 4] > 0) & (dets[:, 4] <= 1))
            # every true detection's object is in this frame's ground truth
            assert set(dgt[dgt > 0].tolist()) <= set(ids.tolist())
        assert {int(i) for ids in seq["gt_ids"] for i in ids} == set(range(1, 9))


def test_tracking_detection_statistics(sequences):
    n_gt = n_det = n_fp = 0
    unsorted_frames = 0
    for seq in sequences.values():
        for ids, dgt in zip(seq["gt_ids"], seq["det_gt_ids"], strict=True):
            n_gt += len(ids)
            n_det += int((dgt > 0).sum())
            n_fp += int((dgt < 0).sum())
            unsorted_frames += bool(np.any(np.diff(dgt[dgt > 0]) < 0))
    recall = n_det / n_gt
    assert 0.80 <= recall <= 0.90, recall  # 10% random misses + occlusion misses
    assert 0.03 <= n_fp / n_gt <= 0.07, n_fp / n_gt
    assert unsorted_frames > 100  # rows are shuffled


def test_tracking_detection_noise_is_small(sequences):
    seq = sequences[0]
    ious = []
    for ids, boxes, dets, dgt in zip(
        seq["gt_ids"], seq["gt_boxes"], seq["dets"], seq["det_gt_ids"], strict=True
    ):
        for row, g in zip(dets, dgt, strict=True):
            if g > 0:
                ious.append(box_iou(row[:4], boxes[ids.tolist().index(g)])[0, 0])
    ious = np.array(ious)
    assert np.median(ious) > 0.85 and np.mean(ious >= 0.5) > 0.99


def test_tracking_crossings_exist(sequences):
    for seq in sequences.values():
        generated = {(a, b) for a, b, _ in seq["crossings"]}
        found = {(a, b) for a, b, _ in find_crossings(seq)}
        assert len(generated) >= 3
        assert generated <= found, (generated, found)  # every planned crossing really happens
        for a, b, t in seq["crossings"]:
            ia, ib = seq["gt_ids"][t].tolist().index(a), seq["gt_ids"][t].tolist().index(b)
            ba, bb = seq["gt_boxes"][t][ia], seq["gt_boxes"][t][ib]
            assert box_iou(ba, bb)[0, 0] > 0.8  # same size, same place at the crossing frame


def test_tracking_objects_enter_and_leave(sequences):
    starts, ends = [], []
    for seq in sequences.values():
        first: dict[int, int] = {}
        last: dict[int, int] = {}
        for t, ids in enumerate(seq["gt_ids"]):
            for i in ids.tolist():
                first.setdefault(i, t)
                last[i] = t
        starts += list(first.values())
        ends += list(last.values())
        # an object's frames are one contiguous run
        for i in first:
            present = [i in ids for ids in seq["gt_ids"]]
            assert all(present[first[i] : last[i] + 1])
    assert sum(s > 0 for s in starts) >= 8 and sum(e < 99 for e in ends) >= 8


def test_tracking_parameters():
    seq = tracking_sequence(
        5, n_frames=30, n_objects=12, size=(800, 600), miss_rate=0.0, fp_rate=0.0
    )
    assert len(seq["dets"]) == 30 and seq["size"] == (800, 600)
    assert len(seq["crossings"]) == 5
    assert all(np.all(d >= 0) for d in seq["det_gt_ids"])  # no false positives


def test_find_crossings_hand_made():
    # two 10x10 boxes swapping places along x, and a third one that never overlaps
    xs = [0.0, 4.0, 8.0, 12.0, 16.0]
    seq = {"gt_ids": [], "gt_boxes": []}
    for x in xs:
        a = [x, 0, x + 10, 10]
        b = [16 - x, 0, 26 - x, 10]
        seq["gt_ids"].append(np.array([1, 2, 3]))
        seq["gt_boxes"].append(np.array([a, b, [100, 100, 110, 110]], dtype=float))
    assert [(a, b) for a, b, _ in find_crossings(seq)] == [(1, 2)]


# ----------------------------------------------------------------------------- geometry


@pytest.mark.parametrize("conditioning", ["normal", "poor", "mixed"])
def test_triangulation_scene(conditioning):
    sc = triangulation_scene(3, n_points=50, baseline=0.5, noise_px=0.0, conditioning=conditioning)
    assert sc["P1"].shape == sc["P2"].shape == (3, 4)
    assert sc["x1"].shape == sc["x2"].shape == (50, 2) and sc["X_true"].shape == (50, 3)
    np.testing.assert_allclose(project(sc["P1"], sc["X_true"]), sc["x1"], atol=1e-6)
    np.testing.assert_allclose(project(sc["P2"], sc["X_true"]), sc["x2"], atol=1e-6)
    # points in front of both cameras
    for P in (sc["P1"], sc["P2"]):
        depth = np.c_[sc["X_true"], np.ones(50)] @ P[2]
        assert np.all(np.sign(depth) == np.sign(np.linalg.det(P[:, :3])))
    big = [x for k, x in (("P1", sc["x1"]), ("P2", sc["x2"])) if np.abs(x).min() > 5e3]
    expected_big = {"normal": 0, "poor": 2, "mixed": 1}[conditioning]
    assert len(big) == expected_big
    if expected_big:
        assert max(np.abs(x).max() for x in big) < 2e4  # ~1e3-1e4 pixel coordinates
    again = triangulation_scene(
        3, n_points=50, baseline=0.5, noise_px=0.0, conditioning=conditioning
    )
    assert _same(sc, again, ("P1", "P2", "x1", "x2", "X_true"))


def test_triangulation_scene_noise_and_baseline():
    a = triangulation_scene(4, n_points=2000, baseline=0.05, noise_px=1.5)
    err = np.r_[a["x1"] - project(a["P1"], a["X_true"]), a["x2"] - project(a["P2"], a["X_true"])]
    assert abs(err.std() - 1.5) < 0.05
    C2 = -np.linalg.solve(a["P2"][:, :3], a["P2"][:, 3])
    C1 = -np.linalg.solve(a["P1"][:, :3], a["P1"][:, 3])
    assert abs(np.linalg.norm(C2 - C1) - 0.05) < 1e-9


@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.5])
@pytest.mark.parametrize("conditioning", ["normal", "poor"])
def test_homography_scene(ratio, conditioning):
    sc = homography_scene(
        7, n_points=301, outlier_ratio=ratio, noise_px=1.0, conditioning=conditioning
    )
    src, dst, H, inl = sc["src"], sc["dst"], sc["H_true"], sc["inliers"]
    assert src.shape == dst.shape == (301, 2) and inl.dtype == bool and H.shape == (3, 3)
    assert H[2, 2] == 1.0
    assert (~inl).sum() == round(ratio * 301)  # outlier ratio honoured exactly
    proj = np.c_[src, np.ones(301)] @ H.T
    err = np.linalg.norm(proj[:, :2] / proj[:, 2:] - dst, axis=1)
    assert np.all(err[inl] < 6.0) and np.all(err[~inl] >= 20.0)
    x0, y0, x1, y1 = sc["region"]
    for p in (src, dst):
        assert np.all(
            (p[:, 0] >= x0 - 5) & (p[:, 0] <= x1 + 5) & (p[:, 1] >= y0 - 5) & (p[:, 1] <= y1 + 5)
        )
    if conditioning == "poor":
        assert src.min() > 5e3 and src.max() < 1.1e4
    again = homography_scene(
        7, n_points=301, outlier_ratio=ratio, noise_px=1.0, conditioning=conditioning
    )
    assert _same(sc, again, ("src", "dst", "H_true", "inliers"))
    other = homography_scene(
        8, n_points=301, outlier_ratio=ratio, noise_px=1.0, conditioning=conditioning
    )
    assert not np.array_equal(other["src"], src)


def test_scene_argument_errors():
    with pytest.raises(ValueError):
        homography_scene(0, outlier_ratio=1.0)
    with pytest.raises(ValueError):
        homography_scene(0, conditioning="mixed")
    with pytest.raises(ValueError):
        triangulation_scene(0, conditioning="bad")
    with pytest.raises(ValueError):
        tracking_sequence(0, n_objects=0)


def test_public_names_stay_importable():
    import proctor.kit.scenes as scenes

    assert sorted(scenes.__all__) == [
        "box_iou",
        "find_crossings",
        "homography_scene",
        "project",
        "tracking_sequence",
        "triangulation_scene",
    ]
    for name in scenes.__all__:
        assert callable(getattr(scenes, name)), name
