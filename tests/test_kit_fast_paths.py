"""Faster paths of the kit give the values of the slower ones they replace."""

from __future__ import annotations

import numpy as np

from proctor.kit.scenes import tracking_sequence
from proctor.kit.trackmetrics import METRICS, ideal_ids, summarize


def test_summarize_of_some_metrics_equals_those_of_all():
    seqs = [tracking_sequence(s, n_frames=40, n_objects=6) for s in (3, 4)]
    rng = np.random.default_rng(0)
    # ids with mistakes: true ids, some rows swapped between objects in a few frames
    ids = []
    for s in seqs:
        per = ideal_ids(s)
        per = [rng.permutation(x) if rng.random() < 0.2 else x for x in per]
        ids.append(per)
    some = ("mota", "idf1", "num_switches", "num_objects")
    full, few = summarize(seqs, ids), summarize(seqs, ids, metrics=some)
    assert set(full["overall"]) == set(METRICS) and set(few["overall"]) == set(some)
    assert few["overall"] == {m: full["overall"][m] for m in some}
    for a, b in zip(few["per_sequence"], full["per_sequence"], strict=True):
        assert a == {m: b[m] for m in some}
