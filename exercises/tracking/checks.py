"""Public checks for tracking: the prompt's example, the output contract and its id rules,
that the input is left untouched, and the MOT metrics of your tracker on one public
synthetic sequence (the hidden sequences come from the same generator).

Each contract clause is judged here, once: the metric checks score ids by value (integer
ids of any dtype; an id below 1 is renamed to an unused one before scoring), so a contract
slip costs its own check's points only.
"""

import numpy as np

from proctor.checks import Outcome, check
from proctor.checks.asserts import as_array


def _ids(value, n, what):
    """ids as an int64 array of shape (n,): the shape and integer kinds only."""
    ids = as_array(value, what, "iu", (n,))
    return ids.astype(np.int64)


def _valid_ids(value, n, what):
    ids = _ids(value, n, what)
    assert n == 0 or ids.min() >= 1, f"{what}: ids must be >= 1, got {ids.tolist()}"
    assert len(np.unique(ids)) == n, (
        f"{what}: ids must be distinct within a frame, got {ids.tolist()}")
    return ids


class _Scored:
    """The tracker as the metric checks see it: ids cast to int64, and ids below 1 renamed
    to unused large ids (the >= 1 rule is tracking_ids' to judge, not the metrics')."""

    def __init__(self, remote):
        self.remote = remote

    def update(self, detections):
        ids = np.asarray(self.remote.update(detections))
        if ids.dtype.kind in "iu":
            ids = ids.astype(np.int64)
            ids = np.where(ids >= 1, ids, 2**40 - ids)
        return ids


def _box(x, y, w=40.0, h=80.0, score=0.9):
    return [x, y, x + w, y + h, score]


def _relay_scene():
    """A scripted sequence: object D stays all along; A (frames 0-9, top left), B (40-49,
    top right) and C (80-89, bottom left) appear one after another, each at least 250 px
    from where the earlier ones were last seen. Returns (frames, owner): owner[t][k] names
    the object of row k of frame t."""
    frames, owner = [], []
    for t in range(90):
        rows, names = [_box(300 + 0.5 * t, 350)], ["D"]
        if t < 10:
            rows.append(_box(40 + 4 * t, 100))
            names.append("A")
        if 40 <= t < 50:
            rows.append(_box(520 - 3 * (t - 40), 40))
            names.append("B")
        if 80 <= t < 90:
            rows.append(_box(40 + 3 * (t - 80), 360))
            names.append("C")
        frames.append(np.array(rows, dtype=np.float64))
        owner.append(names)
    return frames, owner


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


@check(points=2)
def tracking_ids(ctx):
    """The output contract on a public sequence with empty frames inserted: integer ids of
    shape [K], >= 1 and distinct within each frame; empty frames give shape (0,); two
    fresh trackers fed the same frames give the same ids (deterministic)."""
    from proctor.scenes import tracking_sequence

    seq = tracking_sequence(int(ctx.rng().integers(2**31)), n_frames=50)
    frames = list(seq["dets"])
    empty = np.zeros((0, 5))
    frames = [empty] + frames[:20] + [empty, empty] + frames[20:]

    def run():
        t = ctx.candidate.Tracker()
        return [_valid_ids(t.update(d), len(d), f"frame {i} ({len(d)} detections)")
                for i, d in enumerate(frames)]

    first, second = run(), run()
    for i, (a, b) in enumerate(zip(first, second, strict=True)):
        if not np.array_equal(a, b):
            raise AssertionError(
                f"frame {i}: two fresh trackers fed the same frames gave different ids "
                f"({a.tolist()} vs {b.tolist()}); the tracker must be deterministic")


@check(points=1)
def tracking_new_ids(ctx):
    """A new object gets an id never used before in the sequence: in a scripted scene
    where objects A, B and C appear one after another (30 frames apart, far from each
    other) beside an object D that stays, the four objects' ids are all different."""
    frames, owner = _relay_scene()
    t = ctx.candidate.Tracker()
    seen: dict[int, tuple[str, int]] = {}  # id -> (object, first frame)
    for i, (d, names) in enumerate(zip(frames, owner, strict=True)):
        ids = _ids(t.update(d), len(d), f"frame {i}")
        for k, name in enumerate(names):
            first = seen.setdefault(int(ids[k]), (name, i))
            if first[0] != name:
                raise AssertionError(
                    f"frame {i}: object {name} got id {int(ids[k])}, which object {first[0]} "
                    f"had from frame {first[1]}: a new object must get an id that has never "
                    "been used in this sequence (never reuse the id of a dropped track)")


@check(points=1)
def tracking_input_untouched(ctx):
    """update does not modify its detections array (rows, values, dtype): checked on every
    frame of a public sequence and on boxes partly outside the image."""
    from proctor.scenes import tracking_sequence

    seq = tracking_sequence(int(ctx.rng().integers(2**31)), n_frames=40)
    edge = np.array([[-12.5, 40, 28, 130, 0.9], [610, 400, 655, 490, 0.7]])
    t = ctx.candidate.Tracker()
    for i, d in enumerate([edge] + list(seq["dets"])):
        d = np.ascontiguousarray(d, dtype=np.float64)
        _, (after,) = t.update.returning_args(d)
        same = (isinstance(after, np.ndarray) and after.dtype == d.dtype
                and after.shape == d.shape and np.array_equal(after, d, equal_nan=True))
        if not same:
            what = (f"dtype {after.dtype}, shape {after.shape}"
                    if isinstance(after, np.ndarray) else type(after).__name__)
            raise AssertionError(
                f"frame {i}: update changed its detections array ({what}; first rows before "
                f"{np.round(d[:2], 2).tolist()}, after "
                f"{np.round(np.asarray(after)[:2], 2).tolist()}): don't modify the array, "
                "copy it first (e.g. detections.copy())")


@check(points=2, kind="accuracy")
def tracking_public_sequence(ctx):
    """MOTA, IDF1 and ID switches on one public 100-frame sequence (motmetrics, IoU >= 0.5),
    next to the ceiling: the scores of the same detections under their true identities
    (the detector's misses and false positives cost everybody the same). Passes when the
    tracker links detections over time (MOTA >= 0.5, IDF1 >= 0.5); the hidden sequences
    ask for more (see the prompt's numbers)."""
    from proctor.scenes import tracking_sequence
    from proctor.trackmetrics import TrackerOutputError, evaluate_tracker, ideal_ids, summarize

    seq = tracking_sequence(int(ctx.rng().integers(2**31)))
    try:
        o = evaluate_tracker(lambda: _Scored(ctx.candidate.Tracker()), [seq])["overall"]
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
