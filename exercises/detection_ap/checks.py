"""Public checks for detection_ap: the output's form, the inputs left unchanged, the -1 of
classes without ground truth (and the 0 of classes nobody detected), and mean_ap, on the
prompt's worked example and small hand-made sets.

Each check looks only at its own rule (the AP values themselves are graded by the hidden
checks), so that one mistake costs one check.
"""

import numpy as np

from proctor.checks import check


def _det(rows):
    """Detections from (image_id, category_id, x, y, w, h, score) rows."""
    a = np.array(rows, dtype=np.float64).reshape(-1, 7)
    return {"image_id": a[:, 0].astype(np.int64), "category_id": a[:, 1].astype(np.int64),
            "bbox": a[:, 2:6].copy(), "score": a[:, 6].copy()}


def _gt(rows):
    """Ground truth from (image_id, category_id, x, y, w, h, iscrowd) rows."""
    a = np.array(rows, dtype=np.float64).reshape(-1, 7)
    return {"image_id": a[:, 0].astype(np.int64), "category_id": a[:, 1].astype(np.int64),
            "bbox": a[:, 2:6].copy(), "iscrowd": a[:, 6].astype(bool)}


# The prompt's worked example: class 1 with a duplicate, a crowd region and a detection that
# matches at 0.5 only; class 2 found; class 3 detections only.
EXAMPLE = (
    _det([(1, 1, 0, 0, 10, 10, 0.9), (1, 1, 1, 0, 10, 10, 0.8), (2, 1, 0, 0, 10, 8, 0.7),
          (1, 1, 45, 5, 5, 5, 0.6), (1, 1, 22, 0, 10, 10, 0.5), (2, 2, 50, 50, 20, 20, 0.4),
          (2, 3, 0, 0, 5, 5, 0.3)]),
    _gt([(1, 1, 0, 0, 10, 10, 0), (1, 1, 20, 0, 10, 10, 0), (1, 1, 40, 0, 20, 20, 1),
         (2, 1, 0, 0, 10, 10, 0), (2, 2, 50, 50, 20, 20, 0)]),
)
THRESHOLDS = np.array([0.5, 0.75])
COCO = np.linspace(0.5, 0.95, 10)

# Classes without non-crowd ground truth: 7 (detections only), 5 (crowd regions only, one
# detection inside one of them), 9 (a crowd region, no detection)
SPARSE = (
    _det([(3, 4, 10, 10, 30, 30, 0.8), (3, 7, 100, 100, 20, 20, 0.9),
          (4, 7, 5, 5, 20, 20, 0.2), (4, 5, 210, 210, 20, 20, 0.7), (3, 5, 0, 0, 8, 8, 0.6)]),
    _gt([(3, 4, 10, 10, 30, 30, 0), (4, 5, 200, 200, 100, 100, 1), (3, 5, 300, 0, 50, 50, 1),
         (4, 9, 0, 0, 40, 40, 1), (4, 4, 50, 50, 10, 10, 0)]),
)
NOTHING_TO_FIND = (_det([(1, 2, 0, 0, 5, 5, 0.5), (2, 8, 3, 3, 5, 5, 0.4)]),
                   _gt([(2, 8, 0, 0, 50, 50, 1)]))
EMPTY = (_det([]), _gt([]))
# Category 6 has objects in both images, which have detections, none of them of category 6
UNDETECTED = (_det([(1, 1, 0, 0, 10, 10, 0.9), (2, 1, 50, 50, 10, 10, 0.6)]),
              _gt([(1, 1, 0, 0, 10, 10, 0), (1, 6, 20, 20, 10, 10, 0), (2, 6, 0, 0, 30, 30, 0)]))


def _cases():
    return [("the prompt's worked example, thresholds [0.5, 0.75]", EXAMPLE, THRESHOLDS),
            ("the worked example, COCO's 10 thresholds", EXAMPLE, COCO),
            ("classes without non-crowd ground truth", SPARSE, THRESHOLDS),
            ("detections and crowd regions only", NOTHING_TO_FIND, np.array([0.5])),
            ("no detections and no ground truth", EMPTY, THRESHOLDS),
            ("a class that no detection is of", UNDETECTED, THRESHOLDS),
            ("ground truth only", (_det([]), EXAMPLE[1]), THRESHOLDS),
            ("detections only", (EXAMPLE[0], _gt([])), THRESHOLDS)]


def _has_positives(det, gt):
    """Category ids of either input, and which of them have non-crowd ground truth."""
    ids = np.union1d(det["category_id"], gt["category_id"])
    return ids, np.isin(ids, gt["category_id"][~gt["iscrowd"]])


def _parts(got, name):
    """(category_ids, ap, mean_ap) of a result, cast to int64 / float64 / float (their types
    are output_format's business)."""
    assert isinstance(got, dict) and {"category_ids", "ap", "mean_ap"} <= set(got), (
        f"{name}: average_precision must return a dict with 'category_ids', 'ap' and "
        f"'mean_ap', got {got!r:.200}")
    ids = np.asarray(got["category_ids"]).astype(np.int64).reshape(-1)
    ap = np.asarray(got["ap"]).astype(np.float64)
    assert ap.ndim == 2 and ap.shape[0] == len(ids), (
        f"{name}: 'ap' has shape {ap.shape} for {len(ids)} category ids")
    return ids, ap, float(np.asarray(got["mean_ap"]))


@check(points=1)
def output_format(ctx):
    """A dict with exactly 'category_ids' (int64 [K], the categories of both inputs,
    ascending), 'ap' (float64 [K, T]) and 'mean_ap' (a float), including for empty inputs."""
    for name, (det, gt), thr in _cases():
        got = ctx.candidate.average_precision(det, gt, thr, 100)
        assert isinstance(got, dict), (
            f"{name}: average_precision must return a dict, got {type(got).__name__}")
        assert set(got) == {"category_ids", "ap", "mean_ap"}, (
            f"{name}: the result must have exactly the keys 'category_ids', 'ap', 'mean_ap', "
            f"got {sorted(got)}")
        ids, ap, mean = got["category_ids"], got["ap"], got["mean_ap"]
        want, _ = _has_positives(det, gt)
        assert isinstance(ids, np.ndarray) and ids.dtype == np.int64 and ids.ndim == 1, (
            f"{name}: 'category_ids' must be a 1-D int64 array, got "
            f"{getattr(ids, 'dtype', type(ids).__name__)} {getattr(ids, 'shape', '')}")
        assert ids.tolist() == want.tolist(), (
            f"{name}: 'category_ids' is {ids.tolist()}, expected {want.tolist()} (every "
            f"category of the detections or the ground truth, ascending)")
        assert isinstance(ap, np.ndarray) and ap.dtype == np.float64, (
            f"{name}: 'ap' must be a float64 array, got "
            f"{getattr(ap, 'dtype', type(ap).__name__)}")
        assert ap.shape == (len(want), len(thr)), (
            f"{name}: 'ap' has shape {ap.shape}, expected {(len(want), len(thr))} "
            f"(categories x thresholds)")
        assert isinstance(mean, float), (  # a Python float or np.float64 (a float subclass)
            f"{name}: 'mean_ap' must be a float, got {type(mean).__name__}")


@check(points=1)
def inputs_unchanged(ctx):
    """average_precision leaves its input arrays as they were (values, order, dtype): checked
    on every public set, with the arrays as the call left them."""
    for name, (det, gt), thr in _cases():
        _, (det_after, gt_after, thr_after, _) = (
            ctx.candidate.average_precision.returning_args(det, gt, thr, 100))
        arrays = [(f"detections[{k!r}]", v, _item(det_after, k)) for k, v in det.items()]
        arrays += [(f"ground_truth[{k!r}]", v, _item(gt_after, k)) for k, v in gt.items()]
        for where, before, after in [*arrays, ("iou_thresholds", thr, thr_after)]:
            assert (isinstance(after, np.ndarray) and after.dtype == before.dtype
                    and after.shape == before.shape and np.array_equal(after, before)), (
                f"{name}: average_precision changed {where} (before {before.tolist()[:5]}, "
                f"after {np.asarray(after).tolist()[:5]}): the caller keeps using its arrays; "
                "sort or cut copies (x[order]), never the arrays themselves")


def _item(d, key):
    return d.get(key) if isinstance(d, dict) else None


@check(points=1)
def classes_without_ground_truth(ctx):
    """A class without non-crowd ground truth (detections only, crowd regions only) has AP
    -1.0 at every threshold, and only such a class: one with ground truth but no detection
    at all has AP 0 (judged where its objects are in images that have detections, so that
    this is not the rule that objects of images without detections count)."""
    for name, (det, gt), thr in _cases():
        ids, ap, _ = _parts(ctx.candidate.average_precision(det, gt, thr, 100), name)
        for k, c in enumerate(ids.tolist()):
            if c not in gt["category_id"][~gt["iscrowd"]]:
                assert np.array_equal(ap[k], np.full(len(thr), -1.0)), (
                    f"{name}: category {c} has no non-crowd ground truth, so its AP must be "
                    f"-1.0 at every threshold, got {ap[k].tolist()}")
            elif c not in det["category_id"] and np.isin(
                    gt["image_id"][gt["category_id"] == c], det["image_id"]).all():
                assert np.array_equal(ap[k], np.zeros(len(thr))), (
                    f"{name}: category {c} has ground truth but no detection, so every "
                    f"object is missed and its AP is 0 at every threshold (-1 is only for "
                    f"classes without ground truth), got {ap[k].tolist()}")


@check(points=1)
def mean_ap(ctx):
    """mean_ap is the mean of 'ap' over the classes with non-crowd ground truth (all
    thresholds), -1.0 when there is none."""
    for name, (det, gt), thr in _cases():
        ids, ap, mean = _parts(ctx.candidate.average_precision(det, gt, thr, 100), name)
        want_ids, scored = _has_positives(det, gt)
        rows = np.isin(ids, want_ids[scored])
        assert rows.sum() == scored.sum(), (
            f"{name}: categories {want_ids[scored].tolist()} have ground truth, "
            f"'category_ids' is {ids.tolist()}")
        want = float(ap[rows].mean()) if rows.any() else -1.0
        assert abs(mean - want) <= 1e-7, (
            f"{name}: mean_ap is {mean!r}; the mean of your AP values of the classes with "
            f"non-crowd ground truth ({want_ids[scored].tolist()}) is {want!r} "
            "(classes without ground truth are left out; -1.0 when no class has any)")
