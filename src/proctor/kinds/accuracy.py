"""accuracy: a metric on hidden data (mAP, MOTA, mIoU, an accuracy drop) against a budget;
the check computes it (with proctor.kit's metric adapters) and returns the Outcome."""

from __future__ import annotations

from proctor.kinds.base import Kind


class Accuracy(Kind):
    name = "accuracy"
