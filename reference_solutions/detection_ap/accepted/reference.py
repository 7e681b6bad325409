"""Reference solution for detection_ap: COCO-style box AP per class and IoU threshold, in numpy.

Budgets are measured against this file.  Every step is array code except two short loops:
the greedy matching steps through the *rank of a detection within its (image, class)*, all
groups at once (the matching is sequential inside a group but independent across groups),
and the 101-point interpolation loops over classes and thresholds for one ``searchsorted``
each.
"""

from __future__ import annotations

import numpy as np

# pycocotools' recall levels, built exactly as it builds them: np.linspace is not
# bit-identical to np.arange(101) / 100 (e.g. 0.35000000000000003 vs 0.35)
RECALL_LEVELS = np.linspace(0.0, 1.0, 101)


def _position_in_runs(keys: np.ndarray) -> np.ndarray:
    """For keys sorted into runs of equal values: each element's position in its run."""
    n = len(keys)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if n else np.zeros(0, int)
    return np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))


def _iou(det: np.ndarray, gt: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """IoU of (x, y, w, h) boxes that broadcast against each other, as pycocotools computes
    it: against a crowd region the denominator is the detection's own area."""
    iw = np.minimum(det[..., 0] + det[..., 2], gt[..., 0] + gt[..., 2]) - np.maximum(
        det[..., 0], gt[..., 0])
    ih = np.minimum(det[..., 1] + det[..., 3], gt[..., 1] + gt[..., 3]) - np.maximum(
        det[..., 1], gt[..., 1])
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    det_area, gt_area = det[..., 2] * det[..., 3], gt[..., 2] * gt[..., 3]
    union = np.where(crowd, det_area, det_area + gt_area - inter)
    return np.divide(inter, union, out=np.zeros_like(inter), where=inter > 0)


def _dense(group: np.ndarray, slot: np.ndarray, n_groups: int, values: np.ndarray,
           fill: float | bool) -> np.ndarray:
    """Scatter per-item values into a padded [n_groups, max slot + 1, ...] array."""
    width = int(slot.max()) + 1 if len(slot) else 0
    out = np.full((n_groups, width, *values.shape[1:]), fill, dtype=values.dtype)
    out[group, slot] = values
    return out


def average_precision(detections: dict, ground_truth: dict, iou_thresholds: np.ndarray,
                      max_dets: int) -> dict:
    """COCO box AP of every category at every IoU threshold (see the prompt)."""
    thr = np.asarray(iou_thresholds, dtype=np.float64).reshape(-1)
    d_img = np.asarray(detections["image_id"], dtype=np.int64).reshape(-1)
    d_cat = np.asarray(detections["category_id"], dtype=np.int64).reshape(-1)
    d_box = np.asarray(detections["bbox"], dtype=np.float64).reshape(-1, 4)
    d_score = np.asarray(detections["score"], dtype=np.float64).reshape(-1)
    g_img = np.asarray(ground_truth["image_id"], dtype=np.int64).reshape(-1)
    g_cat = np.asarray(ground_truth["category_id"], dtype=np.int64).reshape(-1)
    g_box = np.asarray(ground_truth["bbox"], dtype=np.float64).reshape(-1, 4)
    g_crowd = np.asarray(ground_truth["iscrowd"]).astype(bool).reshape(-1)
    categories = np.union1d(d_cat, g_cat).astype(np.int64)
    n_cat, n_thr = len(categories), len(thr)
    # (image, category) groups as one integer: matching never crosses them
    images, image_index = np.unique(np.r_[d_img, g_img], return_inverse=True)
    d_group = image_index[:len(d_img)] * n_cat + np.searchsorted(categories, d_cat)
    g_group = image_index[len(d_img):] * n_cat + np.searchsorted(categories, g_cat)

    # Ranking: score descending; equal scores by image id, then input position.  The same
    # order decides the max_dets cut, the matching order and the precision/recall curve.
    order = np.lexsort((np.arange(len(d_score)), d_img, -d_score))
    # max_dets: each image keeps its first max_dets detections, all classes together
    by_image = order[np.argsort(d_img[order], kind="stable")]  # ranked within each image
    kept = np.zeros(len(d_score), dtype=bool)
    kept[by_image[_position_in_runs(d_img[by_image]) < max_dets]] = True
    order = order[kept[order]]

    # Only groups holding ground truth can match anything (every other detection is a false
    # positive); they get one row each in padded arrays [rows, slots, ...].
    has_gt = np.zeros(len(images) * n_cat, dtype=bool)
    has_gt[g_group] = True
    row_of = np.cumsum(has_gt) - 1
    n_rows = int(has_gt.sum())
    # ground truth of a row: non-crowd first, then input order (pycocotools' order)
    g_order = np.lexsort((np.arange(len(g_group)), g_crowd, g_group))
    g_slot = np.empty(len(g_group), dtype=np.int64)
    g_slot[g_order] = _position_in_runs(g_group[g_order])
    # detections of a row, in ranking order ('order' is ranked)
    matchable = order[has_gt[d_group[order]]]
    d_rows = row_of[d_group[matchable]]
    by_row = np.argsort(d_rows, kind="stable")
    d_slot = np.empty(len(matchable), dtype=np.int64)
    d_slot[by_row] = _position_in_runs(d_rows[by_row])

    g_rows = row_of[g_group]
    gt_box = _dense(g_rows, g_slot, n_rows, g_box, 0.0)
    gt_crowd = _dense(g_rows, g_slot, n_rows, g_crowd, False)
    gt_real = _dense(g_rows, g_slot, n_rows, np.ones(len(g_rows), dtype=bool), False)
    det_box = _dense(d_rows, d_slot, n_rows, d_box[matchable], 0.0)
    # IoU of every detection with every ground truth of its group: [rows, dets, gts]
    iou = _iou(det_box[:, :, None, :], gt_box[:, None, :, :], gt_crowd[:, None, :])
    iou = np.where(gt_real[:, None, :], iou, -1.0)  # padding never matches

    # Greedy matching, every threshold at once: the r-th detection of every group takes
    # the free non-crowd ground truth of highest IoU >= t (the last one on equal IoU, as
    # pycocotools); failing that, a crowd region with IoU >= t makes it ignored.
    n_slots = iou.shape[2]
    taken = np.zeros((n_rows, n_thr, n_slots), dtype=bool)
    tp = np.zeros((n_rows, iou.shape[1], n_thr), dtype=bool)
    ignored = np.zeros_like(tp)
    last_first = np.arange(n_slots)[::-1]
    for r in range(iou.shape[1]):
        over = iou[:, r, None, :] >= thr[None, :, None]  # [rows, T, slots]
        free = over & ~gt_crowd[:, None, :] & ~taken
        best_iou = np.where(free, iou[:, r, None, :], -1.0)
        best = last_first[np.argmax(best_iou[..., ::-1], axis=-1)]  # the last maximum
        hit = np.take_along_axis(free, best[..., None], axis=-1)[..., 0]  # [rows, T]
        taken |= hit[..., None] & (np.arange(n_slots) == best[..., None])
        tp[:, r] = hit
        ignored[:, r] = ~hit & (over & gt_crowd[:, None, :]).any(axis=-1)

    # Back to the ranked detections: [D, T] flags, by detection index
    det_tp = np.zeros((len(d_score), n_thr), dtype=bool)
    det_ignored = np.zeros_like(det_tp)
    det_tp[matchable], det_ignored[matchable] = tp[d_rows, d_slot], ignored[d_rows, d_slot]

    # Per class and threshold, the curve's points are its counted detections (ignored ones
    # left out), in ranking order: precision and recall after each.
    ap = np.full((n_cat, n_thr), -1.0)
    n_pos = np.bincount(np.searchsorted(categories, g_cat[~g_crowd]), minlength=n_cat)
    cls = np.searchsorted(categories, d_cat[order])
    by_class = order[np.argsort(cls, kind="stable")]  # ranked within each class
    bounds = np.searchsorted(np.sort(cls), np.arange(n_cat + 1))
    for k in np.flatnonzero(n_pos):
        ranked = by_class[bounds[k]:bounds[k + 1]]
        for t in range(n_thr):
            hits = det_tp[ranked, t][~det_ignored[ranked, t]]
            if not len(hits):
                ap[k, t] = 0.0
                continue
            tps = np.cumsum(hits)
            precision = tps / np.arange(1, len(hits) + 1)
            recall = tps / n_pos[k]
            # the envelope: the best precision at this recall or any higher one
            envelope = np.maximum.accumulate(precision[::-1])[::-1]
            first = np.searchsorted(recall, RECALL_LEVELS, side="left")  # first point >= r
            ap[k, t] = np.where(first < len(hits), envelope[np.minimum(first, len(hits) - 1)],
                                0.0).mean()
    scored = ap[n_pos > 0]
    return {"category_ids": categories, "ap": ap,
            "mean_ap": float(scored.mean()) if scored.size else -1.0}
