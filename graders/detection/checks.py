"""Hidden checks for detection: the output contract on hidden images, batch sizes 0 and 1,
COCO AP on a hidden split (pycocotools, via proctor.cocoeval), predict latency relative to
the reference, and the size of the saved artifacts."""

from collections import deque

import numpy as np

from proctor.checks import Outcome, check
from proctor.kit.cocoeval import as_detections, evaluate, recall50
from proctor.kit.datasets import DETECTION_CLASS_NAMES, detection

NUM_CLASSES = len(DETECTION_CLASS_NAMES)
HIDDEN_IMAGES = 400
EVAL_BATCH = 50
LATENCY_BATCH = 8
TIMED_RECALL_MIN = 0.5  # sanity bar for the outputs of timed calls (8 images each)


# The hidden split's COCO evaluation, made once per worker and shared by ap50 and ap (the
# same predictions on the same images). This module is loaded afresh for each exercise
# graded, so nothing is shared between submissions; the worker's channel is part of the
# key, so a restarted worker predicts again.
_hidden: dict[int, tuple[object, dict]] = {}


def _hidden_split(ctx):
    """The hidden evaluation split: the same for both AP checks, seeded by the hidden seed."""
    return detection(HIDDEN_IMAGES, ctx.seed)


def _predict_all(proxy, images):
    preds = []
    for i in range(0, len(images), EVAL_BATCH):
        batch = images[i:i + EVAL_BATCH]
        preds += as_detections(proxy.predict(batch), len(batch), NUM_CLASSES)
    return preds


def _hidden_eval(ctx) -> dict:
    """COCO metrics of the candidate's predictions on the hidden split (computed once)."""
    client = ctx.candidate.client
    cached = _hidden.get(ctx.seed)
    if cached is not None and cached[0] is client:
        return cached[1]
    images, targets = _hidden_split(ctx)
    r = evaluate(_predict_all(ctx.candidate, images), targets, NUM_CLASSES)
    _hidden[ctx.seed] = (client, r)
    return r


def _ap_outcome(ctx, key, label):
    r = _hidden_eval(ctx)
    budget = ctx.budget(key)
    per = ", ".join(f"{n} {ap:.3f}" for n, ap in
                    zip(DETECTION_CLASS_NAMES, r["per_class_AP50"], strict=True))
    measured = {"AP50": round(r["AP50"], 4), "AP": round(r["AP"], 4),
                "AP75": round(r["AP75"], 4), "AR100": round(r["AR100"], 4),
                "per_class_AP50": [round(a, 4) for a in r["per_class_AP50"]],
                "images": r["images"], "objects": r["gt"], "detections": r["detections"]}
    value = r["AP50"] if key == "ap50" else r["AP"]
    text = (f"{label} {value:.3f} on {r['images']} hidden images ({r['gt']} objects; "
            f"AP@0.5 {r['AP50']:.3f}, AP@0.75 {r['AP75']:.3f}, AP@[.5:.95] {r['AP']:.3f}, "
            f"AR@100 {r['AR100']:.3f}; AP@0.5 per class: {per})")
    if np.isfinite(value) and value >= budget.min:
        return Outcome("pass", f"{text}, target {budget.min:g}", measured, budget.as_dict())
    return Outcome("fail", f"{text}, below the target {budget.min:g}", measured,
                   budget.as_dict())


@check(points=3)
def format_types(ctx):
    """On 16 hidden images: one dict per image; boxes float [K, 4], finite, x2 >= x1 and
    y2 >= y1; scores float [K], finite; labels integer [K] in 0..2."""
    images, _ = detection(16, int(ctx.rng().integers(2**31)))
    as_detections(ctx.candidate.predict(images), len(images), NUM_CLASSES)


def _same_confident(a, b, what, min_score=0.3):
    """Every detection of ``a`` scoring >= min_score has one in ``b`` with the same label,
    IoU >= 0.9 and a score within 0.05 (float noise between batch sizes is fine)."""
    for box, score, label in zip(a["boxes"], a["scores"], a["labels"], strict=True):
        if score < min_score:
            continue
        same = b["labels"] == label
        bb = b["boxes"][same]
        lt = np.maximum(bb[:, :2], box[:2])
        rb = np.minimum(bb[:, 2:], box[2:])
        inter = np.prod(np.clip(rb - lt, 0, None), axis=1)
        union = np.prod(box[2:] - box[:2]) + np.prod(bb[:, 2:] - bb[:, :2], axis=1) - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        ok = (iou >= 0.9) & (np.abs(b["scores"][same] - score) <= 0.05)
        assert ok.any(), (
            f"{what}: the detection {DETECTION_CLASS_NAMES[int(label)]} {np.round(box, 1).tolist()}"
            f" (score {score:.3f}) has no counterpart; predictions must not depend on the "
            "other images in the batch (e.g. a model left in train() mode uses batch statistics)")


@check(points=2)
def batch_sizes(ctx):
    """An empty batch [0, 96, 96, 3] gives []; a batch of 1 gives one dict; each image's
    confident detections are the same alone as in a batch of 8."""
    images, _ = detection(8, int(ctx.rng().integers(2**31)))
    empty = ctx.candidate.predict(np.zeros((0, 96, 96, 3), dtype=np.uint8))
    assert isinstance(empty, list) and len(empty) == 0, (
        f"predict(images with B = 0) must return an empty list, got {empty!r:.200}")
    batched = as_detections(ctx.candidate.predict(images), len(images), NUM_CLASSES,
                            "predict(batch of 8)")
    for i in range(3):
        single = as_detections(ctx.candidate.predict(images[i:i + 1]), 1, NUM_CLASSES,
                               f"predict(images[{i}:{i + 1}])")[0]
        _same_confident(batched[i], single, f"image {i} alone vs in a batch of 8")
        _same_confident(single, batched[i], f"image {i} in a batch of 8 vs alone")


@check(points=10, kind="accuracy", budget="ap50")
def ap50(ctx):
    """COCO AP@0.5 (pycocotools, 100 detections per image) on the hidden split."""
    return _ap_outcome(ctx, "ap50", "AP@0.5")


@check(points=6, kind="accuracy", budget="ap")
def ap(ctx):
    """COCO AP@[.5:.95] (mean over IoU 0.50, 0.55, ..., 0.95) on the hidden split."""
    return _ap_outcome(ctx, "ap", "AP@[.5:.95]")


@check(points=4, kind="latency", budget="predict_latency")
def predict_latency(ctx):
    """predict on batches of 8 fresh hidden images, relative to the reference, both on one
    core; each timed call's output must be well-formed and find at least half of its batch's
    objects (recall at IoU 0.5: real work, whatever the scores)."""
    images, _ = detection(EVAL_BATCH, int(ctx.rng("warm-up").integers(2**31)))
    for side in (ctx.candidate, ctx.reference):  # the same history on both sides
        side.predict(images)
    pending = deque()

    def make(rng):
        images, targets = detection(LATENCY_BATCH, int(rng.integers(2**31)))
        pending.append(targets)
        return (images,)

    def compare(got, _want):
        targets = pending.popleft()
        preds = as_detections(got, len(targets), NUM_CLASSES, "timed predict(batch of 8)")
        recall = recall50(preds, targets, NUM_CLASSES)  # evaluate's AR50, without its overhead
        assert recall >= TIMED_RECALL_MIN, (
            f"timed call found {recall:.0%} of its batch's objects at IoU 0.5 (sanity "
            f"bar {TIMED_RECALL_MIN:.0%})")

    return ctx.latency("predict", make, budget="predict_latency", compare=compare)


@check(points=2, kind="size", budget="artifact_size")
def artifact_size(ctx):
    """All files under artifacts/detection/ together fit the size budget."""
    budget = ctx.budget("artifact_size")
    folder = ctx.artifact_dir
    assert folder is not None and folder.is_dir(), (
        "no artifacts/detection/ folder in the submission (save the weights there)")
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    total = sum(p.stat().st_size for p in files)
    biggest = sorted(files, key=lambda p: p.stat().st_size, reverse=True)[:3]
    listing = ", ".join(f"{p.relative_to(folder)} {p.stat().st_size:,} B" for p in biggest)
    measured = {"bytes": total, "files": len(files)}
    text = (f"artifacts/detection/ holds {total:,} bytes in {len(files)} files "
            f"(largest: {listing or 'none'}); budget {budget.max:,.0f} bytes")
    status = "pass" if total <= budget.max else "fail"
    return Outcome(status, text, measured, budget.as_dict())
