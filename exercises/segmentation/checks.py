"""Public checks for segmentation: the output format on two public images, and mIoU on
100 public validation images (a signal, with a low bar; the hidden split asks for more).

The format is judged strictly by output_format alone; public_miou scores the values as the
hidden accuracy checks do (a singleton channel axis squeezed, an id outside 0..4 a wrong
pixel), so that one slip of the format costs one check."""

import numpy as np

from proctor.checks import Outcome, check
from proctor.kit.segmentation import SEG_CLASS_NAMES, as_masks, evaluate, segmentation

VAL_SEED = 2025  # the public validation seed of the prompt and starter
PUBLIC_MIOU_MIN = 0.5


@check(points=1)
def output_format(ctx):
    """predict on 2 public images returns class ids of shape [2, 64, 64] in 0..4."""
    images, _ = segmentation(2, VAL_SEED)
    as_masks(ctx.candidate.predict(images), 2)


@check(points=2, kind="accuracy")
def public_miou(ctx):
    """mIoU on the first 100 public validation images is at least 0.5."""
    images, masks = segmentation(100, VAL_SEED)
    preds = np.concatenate([as_masks(ctx.candidate.predict(images[i:i + 25]), 25,
                                     what="predict(batch of 25)", lenient=True)
                            for i in range(0, len(images), 25)])
    r = evaluate(preds, masks)
    per = ", ".join(f"{name} {iou:.3f}" for name, iou in
                    zip(SEG_CLASS_NAMES, r["per_class_iou"], strict=True))
    measured = {"miou": round(r["miou"], 4), "boundary_f": round(r["boundary_f"], 4),
                "per_class_iou": [round(v, 4) for v in r["per_class_iou"]],
                "images": len(images)}
    budget = {"kind": "accuracy", "min": PUBLIC_MIOU_MIN, "unit": "mIoU"}
    text = (f"mIoU {r['miou']:.3f} (per class: {per}), boundary F {r['boundary_f']:.3f} on "
            f"{len(images)} public images")
    if np.isfinite(r["miou"]) and r["miou"] >= PUBLIC_MIOU_MIN:
        return Outcome("pass", text, measured, budget)
    return Outcome("fail", f"{text}: below {PUBLIC_MIOU_MIN}", measured, budget)
