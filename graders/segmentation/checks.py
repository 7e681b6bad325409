"""Hidden checks for segmentation: the output shape and dtype, mIoU, the per-class IoU floor
and the boundary F-score on a hidden split (proctor.kit.segmentation), predict latency
relative to the reference, and the size of the saved artifacts.

Values are compared after casting to int64 (``as_masks``), so a wrong dtype fails only
``output_dtype``, and a wrong shape for a batch of one only ``output_shape``.
"""

from collections import deque

import numpy as np

from proctor.checks import Outcome, check
from proctor.kit.segmentation import (
    BOUNDARY_TOLERANCE,
    RARE_CLASS,
    SEG_CLASS_NAMES,
    as_masks,
    evaluate,
    segmentation,
)

HIDDEN_IMAGES = 160
EVAL_BATCH = 40
LATENCY_BATCH = 8
# sanity bars for timed outputs, shapes vs background (classes aside): a constant or random
# answer fails them, a poor model does not (that is for the accuracy checks to judge)
TIMED_PRECISION_MIN = 0.25  # share of the pixels labelled as shapes that are shapes
TIMED_RECALL_MIN = 0.02     # share of the shape pixels labelled as shapes

def _hidden_eval(ctx) -> dict:
    """Predictions on the hidden split (the same for every accuracy check), evaluated."""
    images, masks = segmentation(HIDDEN_IMAGES, ctx.seed)
    preds = [as_masks(ctx.candidate.predict(images[i:i + EVAL_BATCH]),
                      len(images[i:i + EVAL_BATCH])) for i in range(0, len(images), EVAL_BATCH)]
    return evaluate(np.concatenate(preds), masks)

def _per_class(r: dict) -> str:
    return ", ".join(f"{name} {iou:.3f}" for name, iou in
                     zip(SEG_CLASS_NAMES, r["per_class_iou"], strict=True))

def _measured(r: dict) -> dict:
    return {"miou": round(r["miou"], 4), "per_class_iou": [round(v, 4) for v in r["per_class_iou"]],
            "boundary_f": round(r["boundary_f"], 4),
            "boundary_precision": round(r["boundary_precision"], 4),
            "boundary_recall": round(r["boundary_recall"], 4),
            "pixel_accuracy": round(r["pixel_accuracy"], 4), "images": r["images"]}

def _judge(value: float, text: str, measured: dict, budget) -> Outcome:
    if np.isfinite(value) and value >= budget.min:
        return Outcome("pass", f"{text}, target {budget.min:g}", measured, budget.as_dict())
    return Outcome("fail", f"{text}, below the target {budget.min:g}", measured, budget.as_dict())

@check(points=2)
def output_shape(ctx):
    """predict returns one class map per image, [N, 64, 64], with ids in 0..4: for 8 hidden
    images, for a batch of one and for an empty batch (values compared after casting)."""
    images, _ = segmentation(8, int(ctx.rng().integers(2**31)))
    as_masks(ctx.candidate.predict(images), 8, what="predict(8 images)")
    as_masks(ctx.candidate.predict(images[:1]), 1, what="predict(images[:1])")
    as_masks(ctx.candidate.predict(images[:0]), 0, what="predict(images[:0])")

@check(points=1)
def output_dtype(ctx):
    """predict returns an int64 array (class ids)."""
    images, _ = segmentation(2, int(ctx.rng().integers(2**31)))
    got = np.asarray(ctx.candidate.predict(images))
    assert got.dtype == np.int64, f"predict returned dtype {got.dtype}, expected int64"

@check(points=10, kind="accuracy", budget="miou")
def miou(ctx):
    """Mean over the 5 classes of the IoU accumulated over the hidden split."""
    r = _hidden_eval(ctx)
    text = (f"mIoU {r['miou']:.3f} on {r['images']} hidden images (per class: "
            f"{_per_class(r)}; pixel accuracy {r['pixel_accuracy']:.3f})")
    return _judge(r["miou"], text, _measured(r), ctx.budget("miou"))

@check(points=4, kind="accuracy", budget="class_iou")
def class_iou_floor(ctx):
    """Every class, the rare cross included, has an IoU of at least the floor on the hidden
    split."""
    r = _hidden_eval(ctx)
    ious = np.nan_to_num(np.asarray(r["per_class_iou"]), nan=0.0)
    worst = int(np.argmin(ious))
    text = (f"lowest class IoU {ious[worst]:.3f} ({SEG_CLASS_NAMES[worst]}"
            f"{', the rare class' if worst == RARE_CLASS else ''}) on {r['images']} hidden "
            f"images (per class: {_per_class(r)})")
    return _judge(float(ious[worst]), text, _measured(r), ctx.budget("class_iou"))

@check(points=4, kind="accuracy", budget="boundary_f")
def boundary_f(ctx):
    """Class-agnostic boundary F-score at a tolerance of 1 pixel on the hidden split."""
    r = _hidden_eval(ctx)
    text = (f"boundary F {r['boundary_f']:.3f} at {BOUNDARY_TOLERANCE} px (precision "
            f"{r['boundary_precision']:.3f}, recall {r['boundary_recall']:.3f}) on "
            f"{r['images']} hidden images")
    return _judge(r["boundary_f"], text, _measured(r), ctx.budget("boundary_f"))

@check(points=4, kind="latency", budget="predict_latency")
def predict_latency(ctx):
    """predict on batches of 8 fresh hidden images, relative to the reference, both on one
    core; each timed output must be [8, 64, 64] class ids (any integer or float dtype) that
    tell shapes from background (real work: a constant or random answer does not)."""
    images, _ = segmentation(EVAL_BATCH, int(ctx.rng("warm-up").integers(2**31)))
    for side in (ctx.candidate, ctx.reference):  # the same history on both sides
        side.predict(images)
    pending = deque()

    def make(rng):
        images, masks = segmentation(LATENCY_BATCH, int(rng.integers(2**31)))
        pending.append(masks)
        return (images,)

    def compare(got, _want):
        true = pending.popleft() > 0
        pred = as_masks(got, LATENCY_BATCH, what="timed predict(batch of 8)") > 0
        hits = (pred & true).sum()
        precision, recall = hits / max(pred.sum(), 1), hits / max(true.sum(), 1)
        assert precision >= TIMED_PRECISION_MIN and recall >= TIMED_RECALL_MIN, (
            f"timed call: {precision:.0%} of the pixels labelled as shapes are shapes and "
            f"{recall:.0%} of the shape pixels are labelled as shapes (sanity bars "
            f"{TIMED_PRECISION_MIN:.0%} and {TIMED_RECALL_MIN:.0%})")

    return ctx.latency("predict", make, budget="predict_latency", compare=compare)

@check(points=2, kind="size", budget="artifact_size")
def artifact_size(ctx):
    """All files under artifacts/segmentation/ together fit the size budget."""
    budget = ctx.budget("artifact_size")
    folder = ctx.artifact_dir
    assert folder is not None and folder.is_dir(), (
        "no artifacts/segmentation/ folder in the submission (save the weights there)")
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    total = sum(p.stat().st_size for p in files)
    biggest = sorted(files, key=lambda p: p.stat().st_size, reverse=True)[:3]
    listing = ", ".join(f"{p.relative_to(folder)} {p.stat().st_size:,} B" for p in biggest)
    measured = {"bytes": total, "files": len(files)}
    text = (f"artifacts/segmentation/ holds {total:,} bytes in {len(files)} files "
            f"(largest: {listing or 'none'}); budget {budget.max:,.0f} bytes")
    return Outcome("pass" if total <= budget.max else "fail", text, measured, budget.as_dict())
