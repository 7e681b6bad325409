"""proctor.kit.cocoeval against hand-computed COCO AP on tiny cases.

COCO AP is the 101-point interpolated precision (precision at recall r is the best
precision at any recall >= r), averaged over recall points, classes and, for ``AP``,
the IoU thresholds 0.50, 0.55, ..., 0.95; a detection matches a same-class ground
truth with IoU >= t, greedily in decreasing score order.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("pycocotools")

from proctor.kit.cocoeval import MAX_DETS, evaluate  # noqa: E402


def gt(boxes, labels=None):
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    labels = np.zeros(len(boxes), np.int64) if labels is None else np.asarray(labels, np.int64)
    return {"boxes": boxes, "labels": labels}


def det(boxes, scores, labels=None):
    d = gt(boxes, labels)
    d["scores"] = np.asarray(scores, dtype=np.float32)
    return d


def ap_curve(tp_flags: list[bool], n_gt: int) -> float:
    """Hand-rolled 101-point interpolated AP for one class (the reference formula)."""
    tp = np.cumsum(tp_flags)
    fp = np.cumsum([not f for f in tp_flags])
    rec = tp / n_gt
    prec = tp / np.maximum(tp + fp, 1)
    total = 0.0
    for r in np.linspace(0, 1, 101):
        ok = prec[rec >= r - 1e-12]
        total += ok.max() if ok.size else 0.0
    return total / 101


def test_perfect_prediction_is_one():
    box = [10, 20, 30, 50]
    r = evaluate([det([box], [0.9])], [gt([box])])
    assert r["AP"] == pytest.approx(1.0)
    assert r["AP50"] == pytest.approx(1.0)
    assert r["AP75"] == pytest.approx(1.0)
    assert r["AR100"] == pytest.approx(1.0)


def test_xyxy_is_converted_to_xywh():
    # A box far from the origin: if xyxy were passed to COCO as xywh, the prediction
    # and the ground truth would both be read wrongly but consistently -> still 1.0;
    # so check against a prediction given in xywh, which must *not* match.
    box = [40, 40, 60, 70]
    xywh = [40, 40, 20, 30]
    assert evaluate([det([box], [1.0])], [gt([box])])["AP50"] == pytest.approx(1.0)
    assert evaluate([det([xywh], [1.0])], [gt([box])])["AP50"] == pytest.approx(0.0)


def test_false_positive_ranked_first_halves_ap():
    target = [gt([[0, 0, 10, 10]])]
    preds = [det([[50, 50, 60, 60], [0, 0, 10, 10]], [0.9, 0.8])]
    # FP then TP: precision 0.5 at recall 1, so every recall point has precision 0.5.
    assert evaluate(preds, target)["AP50"] == pytest.approx(0.5)
    # Ranked the other way round the FP comes after full recall and costs nothing.
    preds = [det([[50, 50, 60, 60], [0, 0, 10, 10]], [0.7, 0.8])]
    assert evaluate(preds, target)["AP50"] == pytest.approx(1.0)


def test_iou_06_counts_at_05_not_at_075():
    g = [0.0, 0.0, 10.0, 10.0]
    p = [0.0, 0.0, 10.0, 6.2]  # IoU 0.62
    r = evaluate([det([p], [0.9])], [gt([g])])
    assert r["AP50"] == pytest.approx(1.0)
    assert r["AP75"] == pytest.approx(0.0)
    # matches at t = 0.50, 0.55, 0.60 only: 3 of the 10 thresholds
    assert r["AP"] == pytest.approx(0.3)


def test_iou_exactly_at_threshold_matches():
    g = [0.0, 0.0, 10.0, 10.0]
    p = [0.0, 0.0, 10.0, 5.0]  # IoU exactly 0.5
    assert evaluate([det([p], [0.9])], [gt([g])])["AP50"] == pytest.approx(1.0)


def test_wrong_class_scores_zero():
    box = [0, 0, 10, 10]
    r = evaluate([det([box], [0.9], [1])], [gt([box], [0])], num_classes=2)
    assert r["AP50"] == pytest.approx(0.0)
    # class 1 has no ground truth: excluded from the mean, reported as nan
    assert r["per_class_AP50"][0] == pytest.approx(0.0)
    assert math.isnan(r["per_class_AP50"][1])


def test_empty_predictions_and_images():
    targets = [gt([[0, 0, 10, 10]]), gt(np.zeros((0, 4)))]
    empty = det(np.zeros((0, 4)), [])
    r = evaluate([empty, empty], targets)
    assert r["AP"] == 0.0 and r["AP50"] == 0.0 and r["detections"] == 0
    # a detection on the image without objects is a false positive
    preds = [det([[0, 0, 10, 10]], [0.5]), det([[0, 0, 10, 10]], [0.9])]
    assert evaluate(preds, targets)["AP50"] == pytest.approx(0.5)


def test_no_ground_truth_at_all_is_nan():
    r = evaluate([det([[0, 0, 1, 1]], [1.0])], [gt(np.zeros((0, 4)))], num_classes=1)
    assert math.isnan(r["AP50"])


def test_two_images_interleaved_ranking():
    # image 1: two objects; image 2: one object. Detections across images ranked by score.
    targets = [gt([[0, 0, 10, 10], [20, 20, 30, 30]]), gt([[5, 5, 15, 15]])]
    preds = [
        det([[0, 0, 10, 10], [60, 60, 70, 70]], [0.9, 0.7]),   # TP, FP
        det([[5, 5, 15, 15], [40, 40, 50, 50]], [0.8, 0.95]),  # TP, FP
    ]
    # global order: 0.95 FP, 0.9 TP, 0.8 TP, 0.7 FP; 3 gt, one never found
    expected = ap_curve([False, True, True, False], 3)
    assert evaluate(preds, targets)["AP50"] == pytest.approx(expected)
    assert expected == pytest.approx((67 * (2 / 3)) / 101)  # recall 0..0.66 at precision 2/3


def test_duplicates_are_false_positives():
    target = [gt([[0, 0, 10, 10]])]
    preds = [det([[0, 0, 10, 10], [0, 0, 10, 10.5]], [0.8, 0.9])]
    # the higher-scored duplicate takes the match; the other one is a FP ranked after it
    assert evaluate(preds, target)["AP50"] == pytest.approx(1.0)
    target = [gt([[0, 0, 10, 10]]), gt([[0, 0, 10, 10]])]
    preds = [det([[0, 0, 10, 10], [0, 0, 10, 10.5]], [0.9, 0.8]), det([[0, 0, 10, 10]], [0.7])]
    assert evaluate(preds, target)["AP50"] == pytest.approx(ap_curve([True, False, True], 2))


def test_per_class_mean():
    targets = [gt([[0, 0, 10, 10], [20, 20, 30, 30]], [0, 1])]
    preds = [det([[0, 0, 10, 10], [50, 50, 60, 60], [20, 20, 30, 30]], [0.9, 0.8, 0.7], [0, 1, 1])]
    r = evaluate(preds, targets)
    assert r["per_class_AP50"] == pytest.approx([1.0, 0.5])
    assert r["AP50"] == pytest.approx(0.75)


def test_at_most_100_detections_per_image():
    target = [gt([[0, 0, 10, 10]])]
    fps = [[50 + i % 10, 50, 60 + i % 10, 60] for i in range(MAX_DETS)]
    # 100 high-scoring FPs push the TP out of the 100 that are scored
    preds = [det(fps + [[0, 0, 10, 10]], [0.9] * MAX_DETS + [0.1])]
    r = evaluate(preds, target)
    assert r["AP50"] == 0.0 and r["detections"] == MAX_DETS
    # the cut is per image over all classes, not per class
    preds = [det(fps + [[0, 0, 10, 10]], [0.9] * MAX_DETS + [0.1], [1] * MAX_DETS + [0])]
    assert evaluate(preds, target, num_classes=2)["AP50"] == 0.0


def test_bad_input_raises():
    with pytest.raises(ValueError):
        evaluate([det([[0, 0, 1, 1]], [1.0])], [])
    with pytest.raises(ValueError):
        evaluate([{"boxes": np.zeros((2, 3)), "scores": np.zeros(2), "labels": np.zeros(2)}],
                 [gt([[0, 0, 1, 1]])])
    with pytest.raises(ValueError):
        evaluate([det([[0, 0, 1, 1]], [np.nan])], [gt([[0, 0, 1, 1]])])


def test_matches_hand_rolled_ap_on_random_cases():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n_gt = int(rng.integers(1, 6))
        xy = rng.uniform(0, 200, (n_gt, 2)) * 5  # far apart: each det overlaps <= 1 gt
        gboxes = np.hstack([xy, xy + rng.uniform(5, 20, (n_gt, 2))])
        flags, dboxes = [], []
        for g in gboxes:
            if rng.random() < 0.7:
                dboxes.append(g + rng.uniform(-0.3, 0.3, 4))
                flags.append(True)
        for _ in range(int(rng.integers(0, 4))):
            dboxes.append([5000, 5000, 5010, 5010])
            flags.append(False)
        scores = rng.permutation(len(flags)) / 10 + 0.05
        order = np.argsort(-scores, kind="stable")
        expected = ap_curve([flags[i] for i in order], n_gt) if flags else 0.0
        r = evaluate([det(np.asarray(dboxes).reshape(-1, 4), scores)], [gt(gboxes)])
        assert r["AP50"] == pytest.approx(expected)


def test_quiet_without_touching_the_process_stdout(capsys):
    """pycocotools prints progress; muting it must not swap ``sys.stdout`` for the
    whole process, because calibration runs graders in threads and another thread's
    verdict lines must still reach the real stream."""
    import sys
    import threading

    seen: set[int] = set()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.add(id(sys.stdout))

    before = sys.stdout
    t = threading.Thread(target=watch)
    t.start()
    try:
        for _ in range(5):
            evaluate([det([[0, 0, 10, 10]], [0.9])], [gt([[0, 0, 10, 10]])])
    finally:
        stop.set()
        t.join()
    assert sys.stdout is before
    assert seen == {id(before)}
    assert capsys.readouterr().out == ""
