"""CLEAR-MOT / identity metrics for the ``tracking`` exercise, via motmetrics.

Boxes in proctor are (x1, y1, x2, y2); motmetrics wants (x, y, w, h). The IoU
distance is computed here with motmetrics' own ``boxiou`` and the same semantics
as ``motmetrics.distances.iou_matrix`` (distance = 1 - IoU, NaN = "may not be
paired" when the distance exceeds ``max_iou``), because ``iou_matrix`` in
motmetrics 1.4.0 calls ``np.asfarray``, which numpy 2 removed.

Run a tracker with :func:`run_tracker`, score it with :func:`evaluate_tracker`, or score
ids obtained some other way (e.g. from a tracker in a sandboxed worker) with
:func:`summarize`. :func:`ideal_ids` gives the detections their true identities: its
scores are the ceiling that the detector's misses and false positives leave to any
tracker, so a tracker's shortfall from it is what its ids cost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import numpy as np

__all__ = [
    "METRICS",
    "TrackerOutputError",
    "accumulate",
    "check_output",
    "evaluate_tracker",
    "ideal_ids",
    "iou_distance",
    "run_tracker",
    "summarize",
    "xyxy_to_xywh",
]

METRICS = [
    "mota",
    "motp",
    "idf1",
    "idp",
    "idr",
    "num_switches",
    "num_fragmentations",
    "num_misses",
    "num_false_positives",
    "num_objects",
    "num_predictions",
    "mostly_tracked",
    "num_unique_objects",
]


class _Tracker(Protocol):
    def update(self, detections: np.ndarray) -> np.ndarray: ...


class TrackerOutputError(ValueError):
    """The tracker broke the output contract (shape, dtype, ids >= 1, distinct per frame)."""


def xyxy_to_xywh(boxes: np.ndarray) -> np.ndarray:
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.column_stack([b[:, 0], b[:, 1], b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]])


def iou_distance(gt_xyxy: np.ndarray, hyp_xyxy: np.ndarray, max_iou: float = 0.5) -> np.ndarray:
    """motmetrics-style IoU distance matrix [G, K] (1 - IoU, NaN where > ``max_iou``).

    Unlike ``mm.distances.iou_matrix`` it returns shape [G, K] (not [0, 0]) when
    one side is empty, which ``MOTAccumulator.update`` accepts.
    """
    from motmetrics.distances import boxiou

    g = xyxy_to_xywh(gt_xyxy)
    h = xyxy_to_xywh(hyp_xyxy)
    if len(g) == 0 or len(h) == 0:
        return np.empty((len(g), len(h)))
    dist = 1.0 - boxiou(g[:, None], h[None, :])
    return np.where(dist > max_iou, np.nan, dist)


def check_output(ids: Any, n_dets: int, frame: int) -> np.ndarray:
    """``ids`` as int64 [n_dets]; :class:`TrackerOutputError` unless they are integers
    >= 1, distinct, one per detection row."""
    arr = np.asarray(ids)
    if arr.shape != (n_dets,):
        raise TrackerOutputError(f"frame {frame}: expected shape ({n_dets},), got {arr.shape}")
    if n_dets and not np.issubdtype(arr.dtype, np.integer):
        raise TrackerOutputError(f"frame {frame}: ids must be integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if n_dets and arr.min() < 1:
        raise TrackerOutputError(f"frame {frame}: ids must be >= 1, got {arr.min()}")
    if len(np.unique(arr)) != n_dets:
        raise TrackerOutputError(f"frame {frame}: duplicate ids within one frame")
    return arr


def run_tracker(tracker: _Tracker, seq: dict[str, Any]) -> tuple[list[np.ndarray], list[float]]:
    """Feed every frame of ``seq`` to ``tracker.update``; return (ids per frame,
    seconds per update call). Raises :class:`TrackerOutputError` on contract breaks."""
    out, times = [], []
    for t, dets in enumerate(seq["dets"]):
        d = np.array(dets, dtype=np.float64, copy=True)  # trackers may not mutate our data
        t0 = time.perf_counter()
        ids = tracker.update(d)
        times.append(time.perf_counter() - t0)
        out.append(check_output(ids, len(dets), t))
    return out, times


def accumulate(seq: dict[str, Any], hyp_ids: Sequence[np.ndarray], max_iou: float = 0.5):
    """A motmetrics ``MOTAccumulator`` for predicted ids ``hyp_ids`` (one array per
    frame, aligned with ``seq["dets"]`` rows)."""
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=True)
    for gt_ids, gt_boxes, dets, ids in zip(
        seq["gt_ids"], seq["gt_boxes"], seq["dets"], hyp_ids, strict=True
    ):
        dist = iou_distance(gt_boxes, np.asarray(dets)[:, :4], max_iou=max_iou)
        acc.update(np.asarray(gt_ids).tolist(), np.asarray(ids).tolist(), dist)
    return acc


def ideal_ids(seq: dict[str, Any]) -> list[np.ndarray]:
    """Ids of a tracker that knows the truth: each detection gets the id of the object it
    came from (``seq["det_gt_ids"]``), each false positive a fresh id of its own."""
    out, fresh = [], 1 + max((int(g.max()) for g in seq["det_gt_ids"] if len(g)), default=0)
    for g in seq["det_gt_ids"]:
        ids = np.asarray(g, dtype=np.int64).copy()
        fp = np.nonzero(ids < 0)[0]
        ids[fp] = np.arange(fresh, fresh + len(fp))
        fresh += len(fp)
        out.append(ids)
    return out


def summarize(
    sequences: Sequence[dict[str, Any]],
    hyp_ids: Sequence[Sequence[np.ndarray]],
    *,
    max_iou: float = 0.5,
    metrics: Sequence[str] = METRICS,
) -> dict[str, Any]:
    """Score ids already assigned (``hyp_ids[k][t]`` for frame ``t`` of sequence ``k``).

    Returns ``{"overall": {metric: value}, "per_sequence": [{metric: value}, ...]}``;
    ``overall`` pools all sequences (motmetrics' "OVERALL" row: counts summed, ratios
    recomputed). Metric names are motmetrics' (see :data:`METRICS`); a caller that reads
    a few asks for those only (fragmentations and mostly-tracked cost most of the time).
    """
    import motmetrics as mm

    accs = [accumulate(seq, ids, max_iou=max_iou)
            for seq, ids in zip(sequences, hyp_ids, strict=True)]
    names = [f"seq{k}" for k in range(len(accs))]
    mh = mm.metrics.create()
    metrics = list(metrics)
    summary = mh.compute_many(accs, names=names, metrics=metrics, generate_overall=True)

    def row(name: str) -> dict[str, float]:
        r = summary.loc[name]
        return {
            m: (int(r[m]) if m.startswith(("num_", "mostly")) else float(r[m])) for m in metrics
        }

    return {"overall": row("OVERALL"), "per_sequence": [row(n) for n in names]}


def evaluate_tracker(
    tracker_factory: Callable[[], _Tracker],
    sequences: Iterable[dict[str, Any]],
    *,
    max_iou: float = 0.5,
    metrics: Sequence[str] = METRICS,
) -> dict[str, Any]:
    """Run a fresh tracker (``tracker_factory()``) on each sequence and score it.

    Returns :func:`summarize`'s dict plus ``"update_seconds": {"mean", "p50", "p95", "max",
    "n"}``. The factory may return any object with an ``update`` method, e.g. a handle
    to a tracker living in another process.
    """
    seqs = list(sequences)
    all_ids, times = [], []
    for seq in seqs:
        ids, t = run_tracker(tracker_factory(), seq)
        all_ids.append(ids)
        times.extend(t)
    out = summarize(seqs, all_ids, max_iou=max_iou, metrics=metrics)
    ts = np.array(times) if times else np.zeros(1)
    out["update_seconds"] = {
        "mean": float(ts.mean()),
        "p50": float(np.percentile(ts, 50)),
        "p95": float(np.percentile(ts, 95)),
        "max": float(ts.max()),
        "n": len(times),
    }
    return out
