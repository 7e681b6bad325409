"""Public checks for detection: the output contract on two public images, and AP@0.5 on
100 public validation images (a signal, with a low bar; the hidden split asks for more)."""

import numpy as np

from proctor.checks import Outcome, check
from proctor.cocoeval import as_detections, evaluate

NUM_CLASSES = 3
VAL_SEED = 2025  # the public validation seed of the prompt and starter
PUBLIC_AP50_MIN = 0.5


def _val(n):
    from proctor.datasets import detection

    return detection(n, VAL_SEED)


@check(points=1)
def output_format(ctx):
    """predict on 2 public images returns 2 dicts of boxes [K, 4] float xyxy, scores [K]
    float and labels [K] int in 0..2."""
    images, _ = _val(2)
    as_detections(ctx.candidate.predict(images), 2, NUM_CLASSES)


@check(points=2, kind="accuracy")
def public_ap50(ctx):
    """COCO AP@0.5 on the first 100 public validation images is at least 0.5."""
    images, targets = _val(100)
    preds = []
    for i in range(0, len(images), 25):
        batch = images[i:i + 25]
        preds += as_detections(ctx.candidate.predict(batch), len(batch), NUM_CLASSES)
    r = evaluate(preds, targets, NUM_CLASSES)
    per = ", ".join(f"{name} {ap:.3f}" for name, ap in
                    zip(("circle", "square", "triangle"), r["per_class_AP50"], strict=True))
    measured = {"AP50": round(r["AP50"], 4), "AP": round(r["AP"], 4), "images": len(images),
                "detections": r["detections"]}
    budget = {"kind": "accuracy", "min": PUBLIC_AP50_MIN, "unit": "AP@0.5"}
    text = (f"AP@0.5 {r['AP50']:.3f} (per class: {per}), AP@[.5:.95] {r['AP']:.3f} on "
            f"{len(images)} public images")
    if np.isfinite(r["AP50"]) and r["AP50"] >= PUBLIC_AP50_MIN:
        return Outcome("pass", text, measured, budget)
    return Outcome("fail", f"{text}: below {PUBLIC_AP50_MIN}", measured, budget)
