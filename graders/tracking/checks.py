"""Hidden checks for tracking: MOT metrics pooled over hidden sequences (motmetrics, IoU
>= 0.5; see proctor.kit.trackmetrics), and the latency of ``update`` beside the
reference's. The output contract (id rules, input untouched) is judged by the public
checks, once; here ids are scored by value (``_Scored``).

Every sequence comes from ``proctor.scenes.tracking_sequence`` with a seed drawn from
``ctx.rng()`` (the hidden seed and the check id).  The candidate's tracker stays in its
worker: each check creates fresh ``Tracker()`` handles and drives them frame by frame;
ids come back as plain arrays and are scored here, on the trusted side.

Detector misses and false positives are the same for every tracker and vary a lot from
sequence to sequence, so MOTA and IDF1 are judged against the *ceiling* of the same
detections: their scores under the true identities (``trackmetrics.ideal_ids``; MOTA
~0.82, IDF1 ~0.91).  Over 16 hidden seeds the reference sits within 0.004 MOTA / 0.04
IDF1 of it; dropping tracks on a miss costs >= 0.08 MOTA, swapping identities at
crossings >= 0.11 IDF1 (reference_solutions/tracking/NOTES.md, "Calibration").
"""


import numpy as np

from proctor.checks import Outcome, check
from proctor.checks.asserts import as_array
from proctor.kit.scenes import tracking_sequence
from proctor.kit.trackmetrics import TrackerOutputError, evaluate_tracker, ideal_ids, summarize

N_SEQ = 6  # default sequences (~8 objects, 100 frames) pooled per metric check
N_CROWDED = 6  # crowded sequences (12 objects) pooled
MOTA_GAP_MAX = 0.04  # MOTA at least the ceiling's minus this
IDF1_GAP_MAX = 0.07
IDSW_PER_SEQ_MAX = 2.5
CROWDED_IDF1_GAP_MAX = 0.08
CROWDED_IDSW_PER_SEQ_MAX = 4.0
# the motmetrics these checks read (_measured): computing only these skips the costly
# fragmentation and mostly-tracked counts, which no check judges or reports
SCORED = ("mota", "idf1", "num_switches", "num_objects")


def _seeds(rng, n):
    return [int(s) for s in rng.integers(0, 2**31, n)]


class _Scored:
    """Wraps a candidate tracker for scoring: integer ids as int64, an id below 1 replaced
    by an unused large one. The id rules are judged once, by the public checks tracking_ids
    and tracking_new_ids; the metrics score what the ids say about identity."""

    def __init__(self, remote):
        self.remote = remote

    def update(self, detections):
        ids = np.asarray(self.remote.update(detections))
        if ids.dtype.kind in "iu":
            ids = ids.astype(np.int64)
            ids = np.where(ids >= 1, ids, 2**40 - ids)
        return ids


def _scores(ctx, seqs):
    """Pooled motmetrics summaries of fresh candidate trackers on ``seqs``, and of the
    true identities on the same detections (the ceiling)."""
    try:
        cand = evaluate_tracker(lambda: _Scored(ctx.candidate.Tracker()), seqs,
                                metrics=SCORED)["overall"]
    except TrackerOutputError as exc:
        raise AssertionError(f"output contract broken: {exc}") from None
    ideal = summarize(seqs, [ideal_ids(s) for s in seqs], metrics=SCORED)["overall"]
    return cand, ideal


def _measured(o, ideal, n_seq):
    return {"mota": round(o["mota"], 4), "idf1": round(o["idf1"], 4),
            "ceiling_mota": round(ideal["mota"], 4), "ceiling_idf1": round(ideal["idf1"], 4),
            "mota_gap": round(ideal["mota"] - o["mota"], 4),
            "idf1_gap": round(ideal["idf1"] - o["idf1"], 4),
            "id_switches": o["num_switches"],
            "id_switches_per_sequence": round(o["num_switches"] / n_seq, 2),
            "sequences": n_seq, "gt_boxes": o["num_objects"]}


@check(points=2, kind="accuracy")
def tracking_mota(ctx):
    """MOTA pooled over hidden 100-frame sequences (about 8 objects each) is within 0.04 of
    the ceiling (the MOTA of the same detections under their true identities)."""
    seqs = [tracking_sequence(s) for s in _seeds(ctx.rng(), N_SEQ)]
    o, ideal = _scores(ctx, seqs)
    gap = ideal["mota"] - o["mota"]
    return Outcome(
        "pass" if gap <= MOTA_GAP_MAX else "fail",
        f"MOTA {o['mota']:.3f} over {N_SEQ} sequences, {gap:.3f} below the {ideal['mota']:.3f} "
        f"that the true identities get on the same detections (allowed: {MOTA_GAP_MAX}); "
        f"{o['num_switches']} ID switches", _measured(o, ideal, N_SEQ),
        {"kind": "accuracy", "max": MOTA_GAP_MAX, "unit": "MOTA below the ceiling"})


@check(points=3, kind="accuracy")
def tracking_idf1(ctx):
    """IDF1 pooled over hidden 100-frame sequences is within 0.07 of the ceiling: each
    object keeps one id over its life (through missed detections and crossings)."""
    seqs = [tracking_sequence(s) for s in _seeds(ctx.rng(), N_SEQ)]
    o, ideal = _scores(ctx, seqs)
    gap = ideal["idf1"] - o["idf1"]
    return Outcome(
        "pass" if gap <= IDF1_GAP_MAX else "fail",
        f"IDF1 {o['idf1']:.3f} over {N_SEQ} sequences, {gap:.3f} below the {ideal['idf1']:.3f} "
        f"that the true identities get on the same detections (allowed: {IDF1_GAP_MAX})",
        _measured(o, ideal, N_SEQ),
        {"kind": "accuracy", "max": IDF1_GAP_MAX, "unit": "IDF1 below the ceiling"})


@check(points=2, kind="accuracy")
def tracking_idsw(ctx):
    """At most 2.5 identity switches per sequence on average over hidden sequences (each has
    several crossings of same-size objects)."""
    seqs = [tracking_sequence(s) for s in _seeds(ctx.rng(), N_SEQ)]
    o, ideal = _scores(ctx, seqs)
    per_seq = o["num_switches"] / N_SEQ
    return Outcome(
        "pass" if per_seq <= IDSW_PER_SEQ_MAX else "fail",
        f"{per_seq:.2f} ID switches per sequence over {N_SEQ} sequences "
        f"(allowed: {IDSW_PER_SEQ_MAX:g})", _measured(o, ideal, N_SEQ),
        {"kind": "accuracy", "max": IDSW_PER_SEQ_MAX, "unit": "ID switches per sequence"})


@check(points=3, kind="accuracy")
def tracking_crowded(ctx):
    """Crowded hidden sequences (12 objects, more crossings and occlusions): pooled IDF1
    within 0.08 of the ceiling and at most 4 identity switches per sequence."""
    seqs = [tracking_sequence(s, n_objects=12) for s in _seeds(ctx.rng(), N_CROWDED)]
    o, ideal = _scores(ctx, seqs)
    gap = ideal["idf1"] - o["idf1"]
    per_seq = o["num_switches"] / N_CROWDED
    ok = gap <= CROWDED_IDF1_GAP_MAX and per_seq <= CROWDED_IDSW_PER_SEQ_MAX
    return Outcome(
        "pass" if ok else "fail",
        f"crowded, {N_CROWDED} sequences: IDF1 {o['idf1']:.3f}, {gap:.3f} below the ceiling "
        f"{ideal['idf1']:.3f} (allowed: {CROWDED_IDF1_GAP_MAX}); {per_seq:.2f} ID switches per "
        f"sequence (allowed: {CROWDED_IDSW_PER_SEQ_MAX:g})", _measured(o, ideal, N_CROWDED),
        {"kind": "accuracy", "max_idf1_gap": CROWDED_IDF1_GAP_MAX,
         "max_switches_per_sequence": CROWDED_IDSW_PER_SEQ_MAX})


# ------------------------------------------------------------------------------- latency
class _FrameStream:
    """``make_args`` for the latency check: consecutive frames of hidden sequences, one
    frame per call; when a sequence ends the next one starts (a scene cut), so both
    trackers see the same realistic frames in order.  Empty frames are skipped: every
    timed call must get an input never seen before."""

    def __init__(self):
        self.pending = []

    def __call__(self, rng):
        while not self.pending:
            seq = tracking_sequence(int(rng.integers(0, 2**31)), n_objects=30)
            self.pending = [d for d in seq["dets"][::-1] if len(d)]
        return (self.pending.pop(),)


def _same_contract(got, want):
    """A timed output is an integer id per row (its id rules are the public checks')."""
    as_array(got, "timed update output", "iu", (len(np.asarray(want)),))


@check(points=3, kind="latency", budget="tracking_latency")
def tracking_latency(ctx):
    """Tracker.update per frame, relative to the reference's, on the same stream of fresh
    hidden frames (timed by the grader, in blocks of consecutive frames)."""
    cand, ref = ctx.candidate.Tracker(), ctx.reference.Tracker()
    return ctx.latency("update", _FrameStream(), budget="tracking_latency",
                       compare=_same_contract, on=(cand, ref))
