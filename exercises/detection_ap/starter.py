"""COCO-style average precision: implement average_precision (numpy only)."""

from __future__ import annotations

import numpy as np


def average_precision(detections: dict, ground_truth: dict, iou_thresholds: np.ndarray,
                      max_dets: int) -> dict:
    """COCO box AP of every category at every IoU threshold, as pycocotools computes it.

    Args:
        detections: {"image_id": int64 [D], "category_id": int64 [D],
                     "bbox": float64 [D, 4] as (x, y, w, h), "score": float64 [D]}.
        ground_truth: {"image_id": int64 [G], "category_id": int64 [G],
                       "bbox": float64 [G, 4] as (x, y, w, h), "iscrowd": bool [G]}.
        iou_thresholds: float64 [T], each strictly between 0 and 1.
        max_dets: at most this many detections per image are evaluated (all classes
            together), the best-ranked ones.

    Returns:
        {"category_ids": int64 [K], every category id of either input, ascending;
         "ap": float64 [K, T], AP of category_ids[k] at iou_thresholds[t], -1.0 for a
               category without non-crowd ground truth;
         "mean_ap": float, the mean of the AP values of the categories that have
               non-crowd ground truth (-1.0 if none has)}.
    """
    raise NotImplementedError
