"""Hidden checks for segmentation: the output shape and dtype, mIoU, the per-class IoU floor
and the boundary F-score on a hidden split (proctor.kit.segmentation), predictions that do
not depend on the rest of the batch, predict latency relative to the reference, and the
size of the saved artifacts.

One defect, one deduction: the checks that score values read predict's answers with
``as_masks(..., lenient=True)`` (int64 after casting, a singleton channel axis squeezed, an
id that is not one of 0..4 a wrong pixel), so a wrong dtype fails only ``output_dtype``, and
a wrong shape for a batch of one, an extra singleton axis or a stray id only
``output_shape`` (and the public ``output_format``).
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
# the timed answers together must label shapes about as well as the graded ones (the
# hidden split's): shape score (below) at most this much under the graded answers'
TIMED_SCORE_SLACK = 0.10
# batch_independent: images judged, each in two batches (not 8, the timed batches' size:
# a cheaper path for those is predict_latency's to find, not this check's)
BATCH_IMAGES = 6
BATCH_AGREEMENT_MIN = 0.99  # ... share of their pixels with the same class in both

# The hidden split's predictions, made once per worker and shared by the checks that
# score them (miou, class_iou_floor, boundary_f, predict_latency). This module is loaded
# afresh for each exercise graded, so nothing is shared between submissions; the worker's
# channel is part of the key, so a restarted worker predicts again.
_hidden: dict[int, tuple[object, np.ndarray, np.ndarray]] = {}


def _hidden_preds(ctx) -> tuple[np.ndarray, np.ndarray]:
    """(predictions, true masks) of the hidden split, predicted in batches of EVAL_BATCH."""
    client = ctx.candidate.client
    cached = _hidden.get(ctx.seed)
    if cached is not None and cached[0] is client:
        return cached[1], cached[2]
    images, masks = segmentation(HIDDEN_IMAGES, ctx.seed)
    preds = np.concatenate([
        as_masks(ctx.candidate.predict(images[i:i + EVAL_BATCH]), len(images[i:i + EVAL_BATCH]),
                 what=f"predict(batch of {len(images[i:i + EVAL_BATCH])})", lenient=True)
        for i in range(0, len(images), EVAL_BATCH)])
    _hidden[ctx.seed] = (client, preds, masks)
    return preds, masks


def _hidden_eval(ctx) -> dict:
    """Predictions on the hidden split (the same for every accuracy check), evaluated."""
    return evaluate(*_hidden_preds(ctx))


def _shape_counts(pred: np.ndarray, true: np.ndarray) -> tuple[int, int]:
    """(pixels of a shape labelled with its class, pixels that are a shape in truth or in
    the prediction): their ratio is the shape score, an IoU of the shape classes 1..4
    together that also asks for the right class."""
    true_shape = (true >= 1) & (true < len(SEG_CLASS_NAMES))
    pred_shape = (pred >= 1) & (pred < len(SEG_CLASS_NAMES))
    return int((true_shape & (pred == true)).sum()), int((true_shape | pred_shape).sum())

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

@check(points=1)
def output_shape(ctx):
    """predict returns one class map per image, [N, 64, 64], with integer ids in 0..4, for 8
    hidden images, a batch of one and an empty batch (judged strictly here: the checks that
    score the values forgive a singleton channel axis and count a stray id as a wrong pixel;
    the dtype is output_dtype's)."""
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

@check(points=1)
def batch_independent(ctx):
    """Each image's class map does not depend on the other images of the batch: 6 hidden
    images predicted as one batch, and each again in a batch of two, beside a copy of itself
    (as if alone) and beside another image (BatchNorm left in training mode normalises by the
    batch's statistics and fails this)."""
    images, _ = segmentation(2 * BATCH_IMAGES, int(ctx.rng().integers(2**31)))
    judged, others = images[:BATCH_IMAGES], images[BATCH_IMAGES:]
    together = as_masks(ctx.candidate.predict(judged), BATCH_IMAGES,
                        what=f"predict({BATCH_IMAGES} images)", lenient=True)
    agreement = {}
    for name, partner in (("beside a copy of itself", judged), ("beside another image", others)):
        same = 0
        for i in range(BATCH_IMAGES):
            pair = (judged[i], partner[i]) if i % 2 == 0 else (partner[i], judged[i])
            got = as_masks(ctx.candidate.predict(np.stack(pair)), 2,
                           what="predict(2 images)", lenient=True)[i % 2]
            same += int((got == together[i]).sum())
        agreement[name] = same / together.size
    worst = min(agreement, key=agreement.get)
    assert agreement[worst] >= BATCH_AGREEMENT_MIN, (
        f"an image's class map depends on the rest of its batch: {BATCH_IMAGES} images "
        f"predicted together and each again in a batch of two agree on "
        + ", ".join(f"{v:.1%} of the pixels {k}" for k, v in agreement.items())
        + f" (at least {BATCH_AGREEMENT_MIN:.0%} expected; is the model in eval mode?)")


@check(points=4, kind="latency", budget="predict_latency")
def predict_latency(ctx):
    """predict on batches of 8 fresh hidden images, relative to the reference, both on one
    core; each timed output must be [8, 64, 64] class ids that tell shapes from background
    (real work: a constant or random answer does not), and the timed outputs together must
    label shapes about as well as the graded predictions of the hidden split (timing must
    measure the predict that is graded, not a cheaper path for batches of 8)."""
    images, _ = segmentation(EVAL_BATCH, int(ctx.rng("warm-up").integers(2**31)))
    for side in (ctx.candidate, ctx.reference):  # the same history on both sides
        side.predict(images)
    pending = deque()
    timed = {"hits": 0, "union": 0, "images": 0}

    def make(rng):
        images, masks = segmentation(LATENCY_BATCH, int(rng.integers(2**31)))
        pending.append(masks)
        return (images,)

    def compare(got, _want):
        true = pending.popleft()
        pred = as_masks(got, LATENCY_BATCH, what="timed predict(batch of 8)", lenient=True)
        hits, union = _shape_counts(pred, true)
        timed["hits"] += hits
        timed["union"] += union
        timed["images"] += LATENCY_BATCH
        shapes, found = (pred > 0).sum(), ((pred > 0) & (true > 0)).sum()
        precision, recall = found / max(shapes, 1), found / max((true > 0).sum(), 1)
        assert precision >= TIMED_PRECISION_MIN and recall >= TIMED_RECALL_MIN, (
            f"timed call: {precision:.0%} of the pixels labelled as shapes are shapes and "
            f"{recall:.0%} of the shape pixels are labelled as shapes (sanity bars "
            f"{TIMED_PRECISION_MIN:.0%} and {TIMED_RECALL_MIN:.0%})")

    outcome = ctx.latency("predict", make, budget="predict_latency", compare=compare)
    if outcome.status not in ("pass", "inconclusive") or not timed["union"]:
        return outcome
    hits, union = _shape_counts(*_hidden_preds(ctx))
    graded = hits / max(union, 1)
    score = timed["hits"] / timed["union"]
    outcome.measured.update({"timed_shape_score": round(score, 4),
                             "graded_shape_score": round(graded, 4),
                             "timed_images": timed["images"]})
    if score < graded - TIMED_SCORE_SLACK:
        # what was timed is not the graded predict: no latency of it was measured (as when
        # a timed answer fails the sanity bars); the figures stay, under other names
        outcome.measured["timed_path_ratio"] = outcome.measured.pop("ratio", None)
        outcome.measured["timed_path_interval"] = outcome.measured.pop("interval", None)
        outcome.measured.update({"ratio": None, "interval": None})
        outcome.status = "fail"
        outcome.message = (
            f"the timed answers are worse than your graded answers: shape score {score:.3f} "
            f"on the {timed['images']} timed images against {graded:.3f} on the "
            f"{HIDDEN_IMAGES} graded ones (at most {TIMED_SCORE_SLACK:.2f} lower allowed; "
            "shape score: pixels of a shape labelled with its class over pixels that are a "
            "shape in truth or in the answer): timing must measure the real predict. "
            f"Timing alone: {outcome.message}")
    return outcome


@check(points=2, kind="size", budget="artifact_size")
def artifact_size(ctx):
    """All files under artifacts/segmentation/ and the notebook's code together fit the size
    budget: weights pasted into a cell (base64, a list literal) are weights too. An empty or
    missing folder fails: nothing was delivered."""
    budget = ctx.budget("artifact_size")
    folder = ctx.artifact_dir
    files = ([p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
             if folder is not None and folder.is_dir() else [])
    held = sum(p.stat().st_size for p in files)
    code = sum(len(cell.encode()) for cell in ctx.code)
    total = held + code
    biggest = sorted(files, key=lambda p: p.stat().st_size, reverse=True)[:3]
    listing = ", ".join(f"{p.relative_to(folder)} {p.stat().st_size:,} B" for p in biggest)
    measured = {"bytes": total, "artifact_bytes": held, "code_bytes": code, "files": len(files)}
    if not files:  # nothing delivered is not a model within budget
        return Outcome("fail", "artifacts/segmentation/ holds no file: save the weights there "
                       f"(the notebook's code is {code:,} bytes)", measured, budget.as_dict())
    text = (f"{total:,} bytes: artifacts/segmentation/ holds {held:,} in {len(files)} files "
            f"(largest: {listing or 'none'}) and the notebook's code {code:,}; budget "
            f"{budget.max:,.0f} bytes")
    return Outcome("pass" if total <= budget.max else "fail", text, measured, budget.as_dict())
