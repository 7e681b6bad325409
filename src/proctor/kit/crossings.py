"""Recover crossings from a tracking sequence's ground truth alone.

Kept apart from the generator: it is how the tests check what
:func:`proctor.kit.scenes.tracking_sequence` claims (the crossings it planned)
against the boxes it actually emitted, so it reads nothing but the emitted
ground truth.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from proctor.kit.boxes import box_iou


def find_crossings(seq: dict[str, Any], min_iou: float = 0.3) -> list[tuple[int, int, int]]:
    """Crossings recovered from the ground truth alone.

    A crossing is a pair of same-size objects (widths and heights within 5%) whose
    boxes overlap with IoU >= ``min_iou`` and whose relative centre position
    reverses (negative dot product) between the frame just before and the frame
    just after that overlap episode (the episode around the IoU peak).
    Returns ``(id_a, id_b, frame_of_max_iou)`` with ``id_a < id_b``.
    """
    centres: dict[int, dict[int, np.ndarray]] = {}
    sizes: dict[int, dict[int, np.ndarray]] = {}
    for t, (ids, boxes) in enumerate(zip(seq["gt_ids"], seq["gt_boxes"], strict=True)):
        for i, b in zip(ids.tolist(), boxes, strict=True):
            centres.setdefault(i, {})[t] = (b[:2] + b[2:]) / 2
            sizes.setdefault(i, {})[t] = b[2:] - b[:2]
    found = []
    all_ids = sorted(centres)
    for ai, a in enumerate(all_ids):
        for b in all_ids[ai + 1 :]:
            common = sorted(set(centres[a]) & set(centres[b]))
            if len(common) < 3:
                continue
            ious = []
            for t in common:
                ia = seq["gt_ids"][t].tolist().index(a)
                ib = seq["gt_ids"][t].tolist().index(b)
                ious.append(box_iou(seq["gt_boxes"][t][ia], seq["gt_boxes"][t][ib])[0, 0])
            ious_a = np.array(ious)
            if ious_a.max() < min_iou:
                continue
            tmax = common[int(ious_a.argmax())]
            sa, sb = sizes[a][tmax], sizes[b][tmax]
            if np.any(np.abs(sa - sb) > 0.05 * np.maximum(sa, sb)):
                continue
            # the contiguous run of frames around the peak with IoU >= min_iou
            k0 = k1 = int(ious_a.argmax())
            while k0 > 0 and ious_a[k0 - 1] >= min_iou and common[k0 - 1] == common[k0] - 1:
                k0 -= 1
            while (
                k1 + 1 < len(common)
                and ious_a[k1 + 1] >= min_iou
                and common[k1 + 1] == common[k1] + 1
            ):
                k1 += 1
            if k0 == 0 or k1 == len(common) - 1:
                continue  # the overlap runs into the end of the shared lifespan
            before, after = common[k0 - 1], common[k1 + 1]
            d0 = centres[b][before] - centres[a][before]
            d1 = centres[b][after] - centres[a][after]
            if float(d0 @ d1) < 0:
                found.append((a, b, tmax))
    return found
