"""Public checks for tracking: the prompt's example, and the MOT metrics of your tracker
on one public synthetic sequence (the hidden sequences come from the same generator)."""

import numpy as np

from proctor.checks import Outcome, check
from proctor.testing import as_array


def _ids(value, n, what):
    ids = as_array(value, what, "iu", (n,))
    assert n == 0 or ids.min() >= 1, f"{what}: ids must be >= 1, got {ids.tolist()}"
    assert len(np.unique(ids)) == n, (
        f"{what}: ids must be distinct within a frame, got {ids.tolist()}")
    return ids


@check(points=1)
def tracking_example(ctx):
    """The prompt's example: two objects keep their ids when the rows come in a new order;
    an empty frame gives an empty integer array."""
    t = ctx.candidate.Tracker()
    ids0 = _ids(t.update(np.array([[10.0, 10, 50, 90, 0.9], [200, 40, 240, 120, 0.8]])), 2,
                "frame 0")
    ids1 = _ids(t.update(np.array([[204.0, 42, 244, 122, 0.85], [13, 11, 53, 91, 0.95]])), 2,
                "frame 1")
    if ids1.tolist() != ids0[::-1].tolist():
        raise AssertionError(f"frame 1 has the same two objects with the rows swapped: "
                             f"expected ids {ids0[::-1].tolist()}, got {ids1.tolist()}")
    _ids(t.update(np.zeros((0, 5))), 0, "frame 2 (no detections)")


@check(points=2, kind="accuracy")
def tracking_public_sequence(ctx):
    """MOTA, IDF1 and ID switches on one public 100-frame sequence (motmetrics, IoU >= 0.5),
    next to the ceiling: the scores of the same detections under their true identities
    (the detector's misses and false positives cost everybody the same). Passes when the
    tracker links detections over time (MOTA >= 0.5, IDF1 >= 0.5); the hidden sequences
    ask for more."""
    from proctor.scenes import tracking_sequence
    from proctor.trackmetrics import TrackerOutputError, evaluate_tracker, ideal_ids, summarize

    seq = tracking_sequence(int(ctx.rng().integers(2**31)))
    try:
        o = evaluate_tracker(ctx.candidate.Tracker, [seq])["overall"]
    except TrackerOutputError as exc:
        raise AssertionError(f"output contract broken: {exc}") from None
    best = summarize([seq], [ideal_ids(seq)])["overall"]
    measured = {"mota": round(o["mota"], 4), "idf1": round(o["idf1"], 4),
                "id_switches": o["num_switches"], "ceiling_mota": round(best["mota"], 4),
                "ceiling_idf1": round(best["idf1"], 4), "gt_boxes": o["num_objects"]}
    text = (f"MOTA {o['mota']:.3f} (ceiling {best['mota']:.3f}), IDF1 {o['idf1']:.3f} "
            f"(ceiling {best['idf1']:.3f}), {o['num_switches']} ID switches on "
            f"{o['num_objects']} ground-truth boxes")
    if o["mota"] >= 0.5 and o["idf1"] >= 0.5:
        return Outcome("pass", text, measured)
    return Outcome("fail", text + ": detections are not linked into tracks well enough "
                   "(need MOTA >= 0.5 and IDF1 >= 0.5 here)", measured)
