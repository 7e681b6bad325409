"""detection_ap, matched one detection at a time: a Python loop over the (image, class)
groups and, inside each, over its detections, each step vectorised over the thresholds
and the group's ground truths.  Exact, and how most implementations (pycocotools included)
are written, but several times slower than matching every group's r-th detection at once."""

from __future__ import annotations

import numpy as np

RECALL_LEVELS = np.linspace(0.0, 1.0, 101)


def _iou(det: np.ndarray, gt: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """[D, G] IoU of (x, y, w, h) boxes; over the detection's area for crowd regions."""
    iw = np.minimum(det[:, None, 0] + det[:, None, 2], gt[None, :, 0] + gt[None, :, 2]) \
        - np.maximum(det[:, None, 0], gt[None, :, 0])
    ih = np.minimum(det[:, None, 1] + det[:, None, 3], gt[None, :, 1] + gt[None, :, 3]) \
        - np.maximum(det[:, None, 1], gt[None, :, 1])
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    det_area = (det[:, 2] * det[:, 3])[:, None]
    union = np.where(crowd[None, :], det_area, det_area + gt[None, :, 2] * gt[None, :, 3] - inter)
    return np.divide(inter, union, out=np.zeros_like(inter), where=inter > 0)


def average_precision(detections: dict, ground_truth: dict, iou_thresholds: np.ndarray,
                      max_dets: int) -> dict:
    thr = np.asarray(iou_thresholds, dtype=np.float64).reshape(-1)
    d_img = np.asarray(detections["image_id"], dtype=np.int64)
    d_cat = np.asarray(detections["category_id"], dtype=np.int64)
    d_box = np.asarray(detections["bbox"], dtype=np.float64).reshape(-1, 4)
    d_score = np.asarray(detections["score"], dtype=np.float64)
    g_img = np.asarray(ground_truth["image_id"], dtype=np.int64)
    g_cat = np.asarray(ground_truth["category_id"], dtype=np.int64)
    g_box = np.asarray(ground_truth["bbox"], dtype=np.float64).reshape(-1, 4)
    g_crowd = np.asarray(ground_truth["iscrowd"]).astype(bool)
    n_thr = len(thr)

    order = np.lexsort((np.arange(len(d_score)), d_img, -d_score))
    by_image = order[np.argsort(d_img[order], kind="stable")]
    kept = np.zeros(len(d_score), dtype=bool)
    if len(by_image):
        img = d_img[by_image]
        starts = np.flatnonzero(np.r_[True, img[1:] != img[:-1]])
        pos = np.arange(len(img)) - np.repeat(starts, np.diff(np.r_[starts, len(img)]))
        kept[by_image[pos < max_dets]] = True
    order = order[kept[order]]

    gts: dict[tuple[int, int], list[int]] = {}
    for j, key in enumerate(zip(g_img.tolist(), g_cat.tolist(), strict=True)):
        gts.setdefault(key, []).append(j)
    dets: dict[tuple[int, int], list[int]] = {}
    for j in order.tolist():
        dets.setdefault((int(d_img[j]), int(d_cat[j])), []).append(j)

    tp = np.zeros((len(d_score), n_thr), dtype=bool)
    ignored = np.zeros_like(tp)
    for key, d_list in dets.items():
        if key not in gts:
            continue
        g = np.asarray(gts[key])
        g = g[np.argsort(g_crowd[g], kind="stable")]  # non-crowd first
        crowd = g_crowd[g]
        iou = _iou(d_box[d_list], g_box[g], crowd)
        taken = np.zeros((n_thr, len(g)), dtype=bool)
        last_first = np.arange(len(g))[::-1]
        for r, d in enumerate(d_list):
            over = iou[r][None, :] >= thr[:, None]  # [T, G]
            free = over & ~crowd[None, :] & ~taken
            best = last_first[np.argmax(np.where(free, iou[r][None, :], -1.0)[:, ::-1], axis=1)]
            hit = free[np.arange(n_thr), best]
            taken[np.arange(n_thr)[hit], best[hit]] = True
            tp[d] = hit
            ignored[d] = ~hit & (over & crowd[None, :]).any(axis=1)

    categories = np.union1d(d_cat, g_cat).astype(np.int64)
    ap = np.full((len(categories), n_thr), -1.0)
    for k, c in enumerate(categories.tolist()):
        n_pos = int(np.sum((g_cat == c) & ~g_crowd))
        if n_pos == 0:
            continue
        ranked = order[d_cat[order] == c]
        if not len(ranked):
            ap[k] = 0.0
            continue
        counted = ~ignored[ranked]
        tps = np.cumsum(tp[ranked] & counted, axis=0)
        fps = np.cumsum(~tp[ranked] & counted, axis=0)
        precision = np.divide(tps, tps + fps, out=np.zeros(tps.shape), where=tps + fps > 0)
        recall = tps / n_pos
        envelope = np.maximum.accumulate(precision[::-1], axis=0)[::-1]
        for t in range(n_thr):
            first = np.searchsorted(recall[:, t], RECALL_LEVELS, side="left")
            ap[k, t] = np.where(first < len(ranked),
                                envelope[np.minimum(first, len(ranked) - 1), t], 0.0).mean()
    scored = ap[ap[:, 0] > -1] if n_thr else ap
    return {"category_ids": categories, "ap": ap,
            "mean_ap": float(scored.mean()) if scored.size else -1.0}
