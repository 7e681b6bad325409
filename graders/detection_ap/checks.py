"""Hidden checks for detection_ap: COCO box AP against pycocotools, one check per rule of the
prompt, and the latency budget.

The truth is pycocotools' ``COCOeval`` (trusted side only), run on the same arrays through
:func:`coco_evaluate` (per-image ``max_dets`` cut first, as the prompt defines it; one area
range; the thresholds as given).

One defect, one deduction.  A solution that gets one rule wrong must fail that rule's check
and no other, so each check is blind to the other rules:

* the value checks compare with pycocotools on sets where only their rule decides the
  result: ``interpolation_101`` on precision curves that never rise (the envelope changes
  nothing) and that often stop short of full recall; ``precision_envelope`` on curves whose
  best precision comes at full recall (any set of recall levels gives the same mean);
  ``xywh_iou`` and ``iou_at_threshold`` on one detection and one object per class (AP 0 or 1);
* the rule checks compare the candidate with *itself*: its AP on a set that exercises the
  rule must equal its AP on a twin set on which pycocotools' answer is provably the same but
  the rule has nothing left to do (matching: every detection moved onto the object
  pycocotools matched it to, false positives moved out of reach, detections absorbed by a
  crowd region removed; ties: scores made distinct in the tie order; max_dets: the cut done
  beforehand; images with one side only: their boxes moved into images with both).
  tests/test_detection_ap.py proves each twin's pycocotools AP equal to the original's;
* apart from its own rule, every set keeps to the easy cases: distinct scores, at most
  max_dets detections per image, no crowd regions, every image with ground truth and
  detections, each detection overlapping one object at most (IoU >= 0.45) and each object
  overlapped by one detection at most, IoUs at least 0.015 away from every threshold.

Cases run smallest first; a failure names the case, the class and the threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from proctor.checks import check
from proctor.checks.asserts import as_array
from proctor.kit.cocoeval import silence_pycocotools

COCO_THRESHOLDS = np.linspace(0.5, 0.95, 10)  # exactly pycocotools' iouThrs
# IoUs halfway between COCO's thresholds: at least 0.015 from every threshold after jitter
_MID_GAPS = 0.525 + 0.05 * np.arange(10)
_FAR = 1.0e5  # moves a box out of reach of every other box of its image
TOL = 1e-7  # float32 rounding stays under it: a wrong dtype is output_format's business


# ------------------------------------------------------------------------ pycocotools truth


def max_dets_keep(det: dict, max_dets: int) -> np.ndarray:
    """Which detections survive the per-image cut: the first max_dets of each image by
    descending score, equal scores in input order."""
    img, score = det["image_id"], det["score"]
    order = np.lexsort((np.arange(len(score)), -score))
    by_image = order[np.argsort(img[order], kind="stable")]
    sorted_img = img[by_image]
    starts = (np.flatnonzero(np.r_[True, sorted_img[1:] != sorted_img[:-1]]) if len(img)
              else np.zeros(0, dtype=np.int64))
    pos = np.arange(len(img)) - np.repeat(starts, np.diff(np.r_[starts, len(img)]))
    keep = np.zeros(len(img), dtype=bool)
    keep[by_image[pos < max_dets]] = True
    return keep


def _coco_index(images: list[dict], anns: list[dict], cats: list[int]) -> COCO:
    silence_pycocotools()
    coco = COCO()
    coco.dataset = {"images": images, "annotations": anns,
                    "categories": [{"id": c, "name": str(c)} for c in cats]}
    coco.createIndex()
    return coco


class Truth(NamedTuple):
    category_ids: np.ndarray  # [K]
    ap: np.ndarray  # [K, T], -1 for classes without non-crowd ground truth
    mean_ap: float
    status: np.ndarray  # [D, T] per detection: 1 TP, 0 FP, -1 ignored (crowd), -2 cut
    matched: np.ndarray  # [D, T] index of the ground truth a TP matched, else -1


def coco_evaluate(det: dict, gt: dict, thresholds: np.ndarray, max_dets: int) -> Truth:
    """pycocotools' COCOeval ('bbox') on our arrays, after the per-image max_dets cut."""
    thr = np.asarray(thresholds, dtype=np.float64)
    n_det, n_thr = len(det["score"]), len(thr)
    keep = max_dets_keep(det, max_dets)
    cats = sorted(set(det["category_id"].tolist()) | set(gt["category_id"].tolist()))
    imgs = sorted(set(det["image_id"].tolist()) | set(gt["image_id"].tolist()))
    status = np.full((n_det, n_thr), -2, dtype=np.int64)
    matched = np.full((n_det, n_thr), -1, dtype=np.int64)
    if not cats:
        return Truth(np.zeros(0, np.int64), np.zeros((0, n_thr)), -1.0, status, matched)
    images = [{"id": i, "width": 0, "height": 0} for i in imgs]
    gts = [{"id": j + 1, "image_id": i, "category_id": c, "bbox": b, "area": b[2] * b[3],
            "iscrowd": int(cr)}
           for j, (i, c, b, cr) in enumerate(zip(gt["image_id"].tolist(),
                                                 gt["category_id"].tolist(),
                                                 gt["bbox"].tolist(),
                                                 gt["iscrowd"].tolist(), strict=True))]
    dts = [{"id": j + 1, "image_id": int(det["image_id"][j]),
            "category_id": int(det["category_id"][j]), "bbox": det["bbox"][j].tolist(),
            "area": float(det["bbox"][j, 2] * det["bbox"][j, 3]),
            "score": float(det["score"][j]), "iscrowd": 0} for j in np.flatnonzero(keep)]
    ev = COCOeval(_coco_index(images, gts, cats), _coco_index(images, dts, cats), iouType="bbox")
    p = ev.params
    p.imgIds, p.catIds, p.iouThrs, p.maxDets = imgs, cats, thr, [max_dets]
    p.areaRng, p.areaRngLbl = [[0.0, 1e12]], ["all"]
    ev.evaluate()
    ev.accumulate()
    prec = ev.eval["precision"][:, :, :, 0, 0]  # [T, R, K]
    ap = np.where((prec > -1).all(axis=1), prec.mean(axis=1), -1.0).T
    scored = prec[prec > -1]
    for e in ev.evalImgs:
        if e is None:
            continue
        ids = np.asarray(e["dtIds"], dtype=np.int64) - 1
        if not len(ids):
            continue
        dtm, dtig = np.asarray(e["dtMatches"]).T, np.asarray(e["dtIgnore"]).T  # [D, T]
        status[ids] = np.where(dtig, -1, np.where(dtm > 0, 1, 0))
        matched[ids] = np.where((dtm > 0) & ~dtig, dtm.astype(np.int64) - 1, -1)
    return Truth(np.asarray(cats, dtype=np.int64), ap,
                 float(scored.mean()) if scored.size else -1.0, status, matched)


# ------------------------------------------------------------------------ building sets


class Scene:
    """A detection set under construction.  Detections get a rank key (higher ranks first)
    that ``arrays`` turns into distinct scores, unless a scene sets scores itself.  (Plain
    classes, not dataclasses: check modules are not importable modules.)"""

    def __init__(self) -> None:
        self.g_img: list[int] = []
        self.g_cat: list[int] = []
        self.g_box: list[np.ndarray] = []
        self.g_crowd: list[bool] = []
        self.d_img: list[int] = []
        self.d_cat: list[int] = []
        self.d_box: list[np.ndarray] = []
        self.d_key: list[float] = []
        self.gt_order: list[list[int]] = []  # ground truths that keep this input order

    def gt(self, img: int, cat: int, box: Sequence[float], crowd: bool = False) -> int:
        self.g_img.append(img)
        self.g_cat.append(cat)
        self.g_box.append(np.asarray(box, dtype=np.float64))
        self.g_crowd.append(crowd)
        return len(self.g_img) - 1

    def det(self, img: int, cat: int, box: Sequence[float], key: float) -> int:
        self.d_img.append(img)
        self.d_cat.append(cat)
        self.d_box.append(np.asarray(box, dtype=np.float64))
        self.d_key.append(key)
        return len(self.d_img) - 1

    def arrays(self, rng: np.random.Generator, scores: np.ndarray | None = None
               ) -> tuple[dict, dict]:
        """(detections, ground_truth) in a random input order.  Scores are distinct and
        follow the rank keys (ties of keys broken at random) unless given."""
        n_d, n_g = len(self.d_img), len(self.g_img)
        if scores is None:
            rank = np.lexsort((rng.random(n_d), np.asarray(self.d_key)))  # ascending
            scores = np.empty(n_d)
            scores[rank] = np.sort(rng.uniform(0.01, 0.99, n_d + 1))[1:] if n_d else []
            assert len(np.unique(scores)) == n_d
        dp, gp = rng.permutation(n_d), rng.permutation(n_g)
        where = np.empty(n_g, dtype=np.int64)
        where[gp] = np.arange(n_g)  # position in the input of each built gt
        for group in self.gt_order:  # keep the requested relative order of these gts
            slots = np.sort(where[group])
            where[group] = slots
        gp = np.argsort(where)
        det = {"image_id": np.asarray(self.d_img, np.int64)[dp],
               "category_id": np.asarray(self.d_cat, np.int64)[dp],
               "bbox": np.asarray(self.d_box, np.float64).reshape(-1, 4)[dp],
               "score": np.asarray(scores, np.float64)[dp]}
        gt = {"image_id": np.asarray(self.g_img, np.int64)[gp],
              "category_id": np.asarray(self.g_cat, np.int64)[gp],
              "bbox": np.asarray(self.g_box, np.float64).reshape(-1, 4)[gp],
              "iscrowd": np.asarray(self.g_crowd, bool)[gp]}
        return det, gt


class Cells:
    """Hands out free 400x400 cells of images, so that scenarios never touch each other."""

    SIZE = 400.0

    def __init__(self, rng: np.random.Generator, images: Sequence[int]):
        self.rng, self.images, self.used = rng, list(images), {i: 0 for i in images}

    def take(self, img: int | None = None) -> tuple[int, np.ndarray]:
        img = self.images[int(self.rng.integers(len(self.images)))] if img is None else img
        n = self.used[img]
        self.used[img] += 1
        return img, np.array([(n % 16) * self.SIZE, (n // 16) * self.SIZE])


def _image_ids(rng: np.random.Generator, n: int) -> list[int]:
    """Distinct, unsorted, non-contiguous ids (COCO ids are arbitrary integers)."""
    return [int(i) for i in rng.choice(10**9, n, replace=False) + 1]


def _category_ids(rng: np.random.Generator, n: int) -> list[int]:
    return [int(c) for c in rng.choice(np.arange(1, 200), n, replace=False)]


def random_box(rng: np.random.Generator, origin: np.ndarray, lo: float = 40.0,
               hi: float = 160.0) -> np.ndarray:
    wh = rng.uniform(lo, hi, 2)
    xy = origin + rng.uniform(20.0, Cells.SIZE - 20.0 - wh)
    return np.r_[xy, wh]


def box_at_iou(rng: np.random.Generator, box: np.ndarray, iou: float) -> np.ndarray:
    """A box whose IoU with ``box`` is ``iou``: shifted along one axis, shrunk inside it or
    grown around it (chosen at random)."""
    x, y, w, h = box
    kind = int(rng.integers(4))
    if kind == 0 or kind == 1:  # same size, shifted: IoU = (L - s) / (L + s)
        length = w if kind == 0 else h
        s = length * (1 - iou) / (1 + iou) * rng.choice([-1.0, 1.0])
        return np.array([x + s, y, w, h]) if kind == 0 else np.array([x, y + s, w, h])
    f = np.sqrt(iou) if kind == 2 else 1 / np.sqrt(iou)  # area ratio f^2 = IoU
    cx, cy = x + w / 2, y + h / 2
    return np.array([cx - f * w / 2, cy - f * h / 2, f * w, f * h])


def iou_xywh(a: np.ndarray, b: np.ndarray) -> float:
    iw = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    ih = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def mid_gap(rng: np.random.Generator, lo: float = 0.5, hi: float = 1.0) -> float:
    """An IoU between two COCO thresholds, at least 0.015 from both."""
    gaps = _MID_GAPS[(_MID_GAPS > lo) & (_MID_GAPS < hi)]
    return float(rng.choice(gaps) + rng.uniform(-0.01, 0.01))


def near_copy(rng: np.random.Generator, box: np.ndarray) -> np.ndarray:
    """A detection that matches ``box`` at every COCO threshold (IoU about 0.97)."""
    return box_at_iou(rng, box, float(rng.uniform(0.965, 0.985)))


def poor_box(rng: np.random.Generator, box: np.ndarray) -> np.ndarray:
    """A detection of a part of ``box``, too poor to match it at any threshold (IoU 0.05 to
    0.35), and inside it, so that it overlaps no other object."""
    x, y, w, h = box
    f = np.sqrt(rng.uniform(0.05, 0.35))
    return np.array([x + rng.uniform(0, 1 - f) * w, y + rng.uniform(0, 1 - f) * h, f * w, f * h])


def _far_away(box: np.ndarray) -> np.ndarray:
    return np.asarray(box, dtype=np.float64) + np.array([_FAR, 0.0, 0.0, 0.0])


# ------------------------------------------------------------------------ candidate output


def _result(got: Any, what: str) -> tuple[np.ndarray, np.ndarray, float]:
    """(category_ids, ap, mean_ap) of a returned dict, cast: types and dtypes are
    output_format's business."""
    assert isinstance(got, dict), f"{what} must return a dict, got {type(got).__name__}"
    missing = {"category_ids", "ap", "mean_ap"} - set(got)
    assert not missing, f"{what} returned a dict without {sorted(missing)}"
    ids = as_array(got["category_ids"], f"{what}['category_ids']", "biuf")
    ap = as_array(got["ap"], f"{what}['ap']", "biuf")
    mean = got["mean_ap"]
    mean = float(mean.item() if isinstance(mean, np.ndarray) and mean.size == 1 else mean)
    assert ids.ndim == 1 and ap.ndim == 2 and ap.shape[0] == len(ids), (
        f"{what}: 'ap' has shape {ap.shape} for {ids.shape} category ids")
    return ids.astype(np.int64), ap.astype(np.float64), mean


def _rows(got: Any, cats: np.ndarray, n_thr: int, what: str) -> np.ndarray:
    """The candidate's AP rows for ``cats``, [len(cats), T]."""
    ids, ap, _ = _result(got, what)
    assert ap.shape[1] == n_thr, f"{what}: 'ap' has {ap.shape[1]} columns for {n_thr} thresholds"
    out = np.empty((len(cats), n_thr))
    for k, c in enumerate(cats):
        hit = np.flatnonzero(ids == c)
        assert hit.size == 1, f"{what}: category {int(c)} appears {hit.size} times in category_ids"
        out[k] = ap[hit[0]]
    return out


def _same_ap(got: np.ndarray, want: np.ndarray, cats: np.ndarray, thr: np.ndarray,
             what: str, why: str) -> None:
    bad = ~(np.abs(got - want) <= TOL)
    if bad.any():
        k, j = (int(i) for i in np.argwhere(bad)[0])
        raise AssertionError(
            f"{what}: AP of category {int(cats[k])} at IoU threshold {thr[j]:.2f} is "
            f"{got[k, j]!r}, expected {want[k, j]!r} ({int(bad.sum())} of {bad.size} values "
            f"differ); {why}")


def _same_matches(got: np.ndarray, want: np.ndarray, cats: np.ndarray, thr: np.ndarray,
                  why: str) -> None:
    bad = (got > 0.5) != (want > 0.5)
    if bad.any():
        k, j = (int(i) for i in np.argwhere(bad)[0])
        said, truth = ("matched", "does not") if got[k, j] > 0.5 else ("not matched", "does")
        raise AssertionError(
            f"average_precision: the one detection of category {int(cats[k])} is {said} at "
            f"IoU threshold {thr[j]!r} (its AP is {got[k, j]!r}), but pycocotools {truth} "
            f"match it (AP {want[k, j]!r}; {int(bad.sum())} of {bad.size} pairs and "
            f"thresholds differ); {why}")


class Case:
    def __init__(self, name: str, det: dict, gt: dict, thr: np.ndarray | None = None,
                 max_dets: int = 100) -> None:
        self.name, self.det, self.gt, self.max_dets = name, det, gt, max_dets
        self.thr = COCO_THRESHOLDS.copy() if thr is None else np.asarray(thr, np.float64)

    @property
    def size(self) -> int:
        return len(self.det["score"]) + len(self.gt["image_id"])

    def describe(self) -> str:
        n_img = len(set(self.det["image_id"].tolist()) | set(self.gt["image_id"].tolist()))
        n_cat = len(set(self.det["category_id"].tolist()) | set(self.gt["category_id"].tolist()))
        return (f"{self.name}: {n_img} images, {n_cat} categories, "
                f"{len(self.det['score'])} detections, {len(self.gt['image_id'])} ground-truth "
                f"boxes ({int(self.gt['iscrowd'].sum())} crowd), {len(self.thr)} thresholds, "
                f"max_dets={self.max_dets}")


def run_cases(cases: list[Case], run: Callable[[Case], None]) -> None:
    """Run the cases smallest first; the first failure names its case."""
    for case in sorted(cases, key=lambda c: c.size):
        try:
            run(case)
        except AssertionError as exc:
            raise AssertionError(f"smallest failing case ({case.describe()}):\n{exc}") from None


def _call_candidate(ctx, case: Case, det: dict | None = None, gt: dict | None = None,
         thr: np.ndarray | None = None, max_dets: int | None = None) -> Any:
    return ctx.candidate.average_precision(
        case.det if det is None else det, case.gt if gt is None else gt,
        case.thr if thr is None else thr, case.max_dets if max_dets is None else max_dets)


def against_pycocotools(ctx, cases: list[Case], why: str, matched_only: bool = False) -> None:
    """The candidate's AP rows equal pycocotools' to within TOL; with ``matched_only`` (sets of
    one object and one detection per class, whose AP is 1 where they match and 0 elsewhere)
    only whether each pair matched is judged, so that a mistake in the curve's rules (the
    recall levels, the envelope) costs those rules' checks, not the IoU checks too."""
    def run(case: Case) -> None:
        truth = coco_evaluate(case.det, case.gt, case.thr, case.max_dets)
        cats = _categories(case)
        want = truth.ap[np.searchsorted(truth.category_ids, cats)]
        got = _rows(_call_candidate(ctx, case), cats, len(case.thr), "average_precision")
        if matched_only:
            _same_matches(got, want, cats, case.thr, why)
        else:
            _same_ap(got, want, cats, case.thr, "average_precision", why)

    run_cases(cases, run)


def _take(arrays: dict, index: np.ndarray) -> dict:
    return {k: v[index] for k, v in arrays.items()}


def _categories(case: Case) -> np.ndarray:
    """The classes a rule check compares: those with objects to find (the -1 of the others,
    and which ids are listed, are the public checks' business)."""
    return np.unique(case.gt["category_id"][~case.gt["iscrowd"]])


def same_as_twin(ctx, case: Case, twin: tuple[dict, dict], why: str) -> None:
    """The candidate's AP on ``case`` must equal its AP on the twin set."""
    cats = _categories(case)
    got = _rows(_call_candidate(ctx, case), cats, len(case.thr), "average_precision(set)")
    twin_ap = _rows(_call_candidate(ctx, case, *twin), cats, len(case.thr),
                    "average_precision(twin set)")
    _same_ap(got, twin_ap, cats, case.thr, "average_precision", why)


# ------------------------------------------------------------------------ the twins


def matched_twin(case: Case, truth: Truth, t: int) -> tuple[dict, dict]:
    """The set as pycocotools matched it at threshold index t: each true positive moved onto
    its ground truth, each false positive out of reach, detections that a crowd region
    absorbed (or the max_dets cut dropped) removed, and the crowd regions removed.  Every
    rule about *which* object a detection matches has nothing left to decide; the ranking,
    and so pycocotools' AP at that threshold, is unchanged."""
    status = truth.status[:, t]
    keep = (status == 0) | (status == 1)
    det = _take(case.det, np.flatnonzero(keep))
    boxes = case.det["bbox"].copy()
    tp = status == 1
    boxes[tp] = case.gt["bbox"][truth.matched[tp, t]]
    boxes[status == 0] = _far_away(boxes[status == 0])
    det["bbox"] = boxes[keep]
    gt = _take(case.gt, np.flatnonzero(~case.gt["iscrowd"]))
    return det, gt


def check_matching(ctx, cases: list[Case], rule: str) -> None:
    def run(case: Case) -> None:
        truth = coco_evaluate(case.det, case.gt, case.thr, case.max_dets)
        cats = _categories(case)
        got = _rows(_call_candidate(ctx, case), cats, len(case.thr), "average_precision(set)")
        for t in range(len(case.thr)):
            det, gt = matched_twin(case, truth, t)
            twin = _rows(_call_candidate(ctx, case, det, gt, case.thr[t:t + 1]), cats, 1,
                         "average_precision(twin set)")
            _same_ap(got[:, t:t + 1], twin, cats, case.thr[t:t + 1], "average_precision",
                     f"but that is its AP on the same set with every detection moved onto the "
                     f"object pycocotools matched it to (false positives out of reach, "
                     f"detections absorbed by crowd regions removed): {rule}")

    run_cases(cases, run)


# ------------------------------------------------------------------------ precision curves


def _class_curve(rng: np.random.Generator, scene: Scene, cells: Cells, cat: int,
                 pattern: str, n_pos: int, key0: float) -> None:
    """One class's ranking: ``pattern`` is its detections from the best score down, 'T' a
    true positive (a near copy of a distinct object), 'F' a false positive (a poor box of an
    object, or a box in an empty cell).  ``n_pos`` objects, of which len('T') are found."""
    tps = pattern.count("T")
    assert tps <= n_pos
    objects = []
    for _ in range(n_pos):
        img, origin = cells.take()
        box = random_box(rng, origin)
        scene.gt(img, cat, box)
        objects.append((img, box))
    found = rng.permutation(n_pos)[:tps]
    t = 0
    for i, p in enumerate(pattern):
        key = key0 - i
        if p == "T":
            img, box = objects[found[t]]
            t += 1
            scene.det(img, cat, near_copy(rng, box), key)
        elif rng.random() < 0.5:
            img, box = objects[int(rng.integers(n_pos))]
            scene.det(img, cat, poor_box(rng, box), key)
        else:
            img, origin = cells.take()
            scene.det(img, cat, random_box(rng, origin), key)


def falling_pattern(rng: np.random.Generator, tps: int, tail: int) -> str:
    """A ranking whose precision never rises: true positive first, and the false positives
    before the k-th true positive, f_k, with f_k / k non-decreasing."""
    out, f = ["T"], 0
    for k in range(1, tps):
        need = -(-f * (k + 1) // k)  # ceil(f (k+1) / k): keeps (k+1) / (k+1+f') <= k / (k+f)
        extra = int(rng.geometric(0.5)) - 1 if rng.random() < 0.6 else 0
        out += ["F"] * (need - f + extra) + ["T"]
        f = need + extra
    return "".join(out) + "F" * tail


def rising_pattern(rng: np.random.Generator, tps: int, fps: int, tail: int) -> str:
    """A ranking that starts with a false positive and finds every object, with its best
    precision at the last true positive (the envelope is flat)."""
    best = None
    for _ in range(200):
        body = ["F"] + list(rng.permutation(["T"] * (tps - 1) + ["F"] * (fps - 1))) + ["T"]
        hits = np.cumsum([c == "T" for c in body])
        prec = hits / np.arange(1, len(body) + 1)
        if prec[-1] >= prec.max() - 1e-12:
            best = body
            break
    if best is None:  # all false positives first always qualifies
        best = ["F"] * fps + ["T"] * tps
    return "".join(best) + "F" * tail


FILLER_CATEGORY = 999  # not among _category_ids()'s


def _fill_images(rng: np.random.Generator, scene: Scene, cells: Cells, cats: list[int]) -> None:
    """Give every image ground truth and a detection, in a class of its own whose curve no
    rule can change: objects found by near copies ranked above everything, false positives
    (out of reach) ranked below everything."""
    for img in cells.images:
        has_gt, has_det = img in scene.g_img, img in scene.d_img
        if has_gt and has_det:
            continue
        _, origin = cells.take(img)
        box = random_box(rng, origin)
        if not has_gt:
            scene.gt(img, FILLER_CATEGORY, box)
            scene.det(img, FILLER_CATEGORY, near_copy(rng, box), 1e9 + rng.random())
        else:
            scene.det(img, FILLER_CATEGORY, _far_away(box), -1e9 - rng.random())


def curve_case(rng: np.random.Generator, name: str, n_img: int, patterns: list[tuple[str, int]]
               ) -> Case:
    scene = Scene()
    cells = Cells(rng, _image_ids(rng, n_img))
    cats = _category_ids(rng, len(patterns))
    for cat, (pattern, n_pos) in zip(cats, patterns, strict=True):
        _class_curve(rng, scene, cells, cat, pattern, n_pos, key0=float(rng.uniform(0, 1e6)))
    _fill_images(rng, scene, cells, cats)
    det, gt = scene.arrays(rng)
    return Case(name, det, gt)


# ------------------------------------------------------------------------ value checks


@check(points=3)
def interpolation_101(ctx):
    """AP is the mean interpolated precision at the 101 recall levels np.linspace(0, 1, 101),
    0 beyond the last recall reached: pycocotools' values on rankings whose precision never
    rises, most of them short of full recall (20 and 100 objects per class included, whose
    recalls land on levels where linspace and arange(101) / 100 differ)."""
    against_pycocotools(ctx, interpolation_cases(ctx.rng()), "AP is the mean over the 101 "
                        "recall levels np.linspace(0.0, 1.0, 101) of the interpolated "
                        "precision, 0 at levels beyond the class's last recall")


def interpolation_cases(rng: np.random.Generator) -> list[Case]:
    """Classes of (objects, true positives, trailing false positives) on falling curves."""
    cases = []
    for n_img, spec in [(2, [(1, 1, 2), (3, 2, 1)]), (4, [(7, 5, 3), (20, 13, 4), (5, 5, 0)]),
                        (8, [(20, 20, 5), (20, 9, 2), (10, 7, 3), (2, 1, 1)]),
                        (12, [(100, 60, 10), (50, 33, 5), (3, 3, 2)]),
                        (16, [(100, 97, 20), (40, 23, 8), (20, 17, 6), (13, 6, 1), (1, 0, 4)])]:
        patterns = [(falling_pattern(rng, tps, tail) if tps else "F" * tail, n_pos)
                    for n_pos, tps, tail in spec]
        cases.append(curve_case(rng, f"{len(spec)} classes", n_img, patterns))
    return cases


@check(points=3)
def precision_envelope(ctx):
    """The interpolated precision at recall r is the best precision at any recall >= r:
    pycocotools' values on rankings that start with false positives and find every object,
    so that precision rises towards full recall."""
    against_pycocotools(ctx, envelope_cases(ctx.rng()), "the interpolated precision at recall "
                        "r is the highest precision at any point of the curve whose recall is "
                        ">= r")


def envelope_cases(rng: np.random.Generator) -> list[Case]:
    """Classes of (true positives, false positives before the last one, trailing false
    positives) on rising curves that find every object."""
    cases = []
    for n_img, spec in [(2, [(2, 1, 0), (1, 1, 1)]), (4, [(4, 3, 2), (6, 6, 1), (3, 0, 1)]),
                        (8, [(10, 8, 3), (20, 12, 0), (5, 9, 2), (7, 1, 0)]),
                        (12, [(40, 30, 6), (25, 50, 4), (9, 4, 2)])]:
        patterns = [(rising_pattern(rng, tps, fps, tail) if fps else "T" * tps + "F", tps)
                    for tps, fps, tail in spec]
        cases.append(curve_case(rng, f"{len(spec)} classes", n_img, patterns))
    return cases


def _pair_case(rng: np.random.Generator, name: str, pairs: list[tuple[np.ndarray, np.ndarray]],
               thr: np.ndarray) -> Case:
    """One image and one category per (ground truth, detection) pair: AP 1 where their IoU
    reaches the threshold, 0 elsewhere."""
    scene = Scene()
    imgs, cats = _image_ids(rng, len(pairs)), _category_ids(rng, len(pairs))
    for img, cat, (g, d) in zip(imgs, cats, pairs, strict=True):
        scene.gt(img, cat, g)
        scene.det(img, cat, d, float(rng.random()))
    det, gt = scene.arrays(rng)
    return Case(name, det, gt, thr=thr)


@check(points=2)
def xywh_iou(ctx):
    """Boxes are (x, y, w, h) and IoU = intersection / union of their areas w * h
    (continuous coordinates): one detection per object of 4 to 24 pixels, IoUs just below
    and just above the thresholds (0.003 to 0.02 away)."""
    against_pycocotools(ctx, xywh_iou_cases(ctx.rng()), "IoU of (x, y, w, h) boxes is the area "
                        "of the intersection over the area of the union, areas w * h",
                        matched_only=True)


def xywh_iou_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n, lo, hi in [(6, 10.0, 24.0), (20, 4.0, 16.0), (60, 4.0, 24.0)]:
        pairs = []
        for _ in range(n):
            xy, wh = rng.uniform(-50, 600, 2), rng.uniform(lo, hi, 2)
            g = np.r_[xy, wh]
            t = float(rng.choice(COCO_THRESHOLDS))
            target = t + rng.choice([-1.0, 1.0]) * rng.uniform(0.003, 0.02)
            if target >= 0.999:
                target = t - 0.01
            d = box_at_iou(rng, g, target)
            pairs.append((g, d))
        cases.append(_pair_case(rng, f"{n} pairs of {lo:g} to {hi:g} pixels", pairs,
                                COCO_THRESHOLDS.copy()))
    return cases


def _exact_pairs(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Integer boxes whose IoU is exactly 0.5 or 0.75 (exact in floating point)."""
    shapes = [  # (gt w, h), (det dx, dy, w, h) relative to the gt's corner
        ((3, 1), (1, 0, 3, 1)), ((7, 1), (1, 0, 7, 1)), ((1, 3), (0, 1, 1, 3)),
        ((10, 10), (0, 0, 10, 20)), ((10, 10), (0, 0, 5, 10)), ((4, 4), (0, 0, 4, 3)),
        ((30, 30), (6, 5, 30, 30)), ((14, 14), (2, 0, 14, 14)), ((8, 6), (0, 0, 8, 8)),
        ((12, 6), (4, 0, 12, 6)), ((40, 6), (0, 2, 40, 6))]
    pairs = []
    for (w, h), (dx, dy, dw, dh) in shapes:
        for _ in range(3):
            scale = int(rng.integers(1, 5))
            x, y = (int(v) for v in rng.integers(0, 500, 2))
            if rng.random() < 0.5:  # swap the roles of x and y
                w, h, dx, dy, dw, dh = h, w, dy, dx, dh, dw
            g = np.array([x, y, w * scale, h * scale], dtype=np.float64)
            d = np.array([x + dx * scale, y + dy * scale, dw * scale, dh * scale], np.float64)
            if rng.random() < 0.5:
                g, d = d, g
            pairs.append((g, d))
    return pairs


def _threshold_pairs(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Nested boxes whose float64 IoU is k/20 for k = 10..19 (every COCO threshold, as exact
    as float64 makes it), and nested pairs 1e-9 above each threshold: float32 IoUs (or
    float32 boxes) fall below several of these thresholds (0.65, 0.7, ...: float32(0.65) <
    0.65).  All of them match in pycocotools; a "+1" IoU only raises them (still matched), so
    that mistake stays xywh_iou's alone."""
    pairs = []
    for t in COCO_THRESHOLDS:
        x, y, h, scale = *rng.integers(0, 500, 2), int(rng.integers(1, 9)), int(rng.integers(1, 5))
        k = int(round(t * 20))
        pairs.append((np.array([x, y, 20 * scale, h], np.float64),
                      np.array([x, y, k * scale, h], np.float64)))
        g = np.r_[rng.uniform(0, 500, 2), rng.uniform(20, 60, 2)]
        pairs.append((g, np.r_[g[:2], g[2] * (t + 1e-9), g[3]]))
    return pairs


@check(points=1)
def iou_at_threshold(ctx):
    """A detection matches when its IoU, in float64, is at least the threshold: integer boxes
    whose IoU is exactly 0.5 or 0.75 at thresholds [0.5, 0.75]; nested boxes at IoU k/20 and
    1e-9 above every COCO threshold, at COCO's thresholds."""
    against_pycocotools(ctx, exact_iou_cases(ctx.rng()), "a detection whose IoU equals the "
                        "threshold matches (IoU >= t, IoU computed in float64)",
                        matched_only=True)


def exact_iou_cases(rng: np.random.Generator) -> list[Case]:
    pairs = _exact_pairs(rng)
    if not all(iou_xywh(g, d) in (0.5, 0.75) for g, d in pairs):
        raise RuntimeError("_exact_pairs: an IoU is not exactly 0.5 or 0.75")
    return [*(_pair_case(rng, f"{n} pairs at IoU exactly 0.5 or 0.75", pairs[:n],
                         np.array([0.5, 0.75])) for n in (4, len(pairs))),
            _pair_case(rng, "20 pairs at or 1e-9 above every COCO threshold",
                       _threshold_pairs(rng), COCO_THRESHOLDS.copy())]


# ------------------------------------------------------------------------ matching


def _two_objects(rng: np.random.Generator, scene: Scene, cells: Cells, cat: int, key: float,
                 tie: bool) -> None:
    """Two objects side by side (IoU 0.2 to 0.3 between them); the first detection overlaps
    both at IoU >= 0.5, the second detection (ranked lower) only the first object.  A matcher
    that gives the first detection the wrong object leaves the second one unmatched at 0.5.
    With ``tie``, the first detection sits exactly halfway (equal IoUs: integer boxes)."""
    img, origin = cells.take()
    length, other = float(rng.integers(60, 140)), float(rng.integers(60, 140))
    if tie:  # IoU (L - u) / (L + u) with both objects: 0.52 to 0.53
        u = float(round(0.31 * length))
        offsets = [0.0, 2 * u, u]
    else:  # IoU about 0.525 with the first object, 0.575 or 0.625 with the second
        a = 0.525 + rng.uniform(-0.008, 0.008)
        b = float(rng.choice([0.575, 0.625])) + rng.uniform(-0.008, 0.008)
        d1 = length * (1 - a) / (1 + a)
        offsets = [0.0, d1 + length * (1 - b) / (1 + b), d1]
    c = mid_gap(rng, 0.55, 0.8)
    offsets.append(-length * (1 - c) / (1 + c))  # the second detection, on the first object
    x, y = origin + 150.0
    along_x = rng.random() < 0.5
    boxes = [np.array([x + o, y, length, other]) if along_x else np.array([x, y + o, other, length])
             for o in offsets]
    first, second = scene.gt(img, cat, boxes[0]), scene.gt(img, cat, boxes[1])
    scene.gt_order.append([first, second])
    scene.det(img, cat, boxes[2], key)
    scene.det(img, cat, boxes[3], key - 1)


def _filler_class(rng: np.random.Generator, scene: Scene, cells: Cells, cat: int,
                  n: int) -> None:
    """A class with n found objects and a few false positives, to interleave the rankings."""
    pattern = "".join(rng.permutation(list("T" * n + "F" * max(1, n // 2))))
    _class_curve(rng, scene, cells, cat, pattern, n + int(rng.integers(0, 2)),
                 key0=float(rng.uniform(0, 1e6)))


@check(points=2)
def best_iou_match(ctx):
    """A detection takes, among the free objects it overlaps at IoU >= t, the one of highest
    IoU, and on equal IoU the one that comes last in the ground truth: the candidate's AP on
    sets where a detection overlaps two objects must equal its AP on the same set with each
    detection moved onto the object pycocotools matched it to."""
    check_matching(ctx, best_iou_cases(ctx.rng()), "a detection matches the free object of "
                   "highest IoU >= t, and on equal IoU the one that comes last in the "
                   "ground-truth arrays")


def best_iou_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n_img, n_scenes in [(1, 1), (3, 4), (6, 12)]:
        for tie in (False, True):
            scene = Scene()
            cells = Cells(rng, _image_ids(rng, n_img))
            cats = _category_ids(rng, 3)
            for _ in range(n_scenes):
                cat = cats[int(rng.integers(2))]
                _two_objects(rng, scene, cells, cat, float(rng.uniform(0, 1e6)), tie)
            _filler_class(rng, scene, cells, cats[2], 3)
            _fill_images(rng, scene, cells, cats)
            det, gt = scene.arrays(rng)
            cases.append(Case(f"{n_scenes} detections between two objects"
                              + (" at equal IoU" if tie else ""), det, gt))
    return cases


def _duplicates(rng: np.random.Generator, scene: Scene, cells: Cells, cat: int, n: int) -> None:
    """n objects of one class, found by one detection each (IoU 0.75 to 0.98); about half
    of them detected again by one or two lower-scored duplicates (IoU 0.5 to 0.98, or the
    very same box), which must be false positives where the first one matched."""
    for _ in range(n):
        img, origin = cells.take()
        g = random_box(rng, origin, 60.0, 200.0)
        scene.gt(img, cat, g)
        key = float(rng.uniform(0, 1e6))
        first = box_at_iou(rng, g, mid_gap(rng, 0.75))
        scene.det(img, cat, first, key)
        if rng.random() < 0.5:
            for i in range(int(rng.integers(1, 3))):
                dup = first.copy() if rng.random() < 0.3 else box_at_iou(rng, g, mid_gap(rng))
                scene.det(img, cat, dup, key - float(rng.uniform(1, 3e5)) - i)


@check(points=3)
def ground_truth_matched_once(ctx):
    """An object matches one detection at most (per threshold): the candidate's AP on sets
    with duplicate detections must equal its AP on the same set with every detection moved
    onto the object pycocotools matched it to (duplicates out of reach)."""
    check_matching(ctx, duplicate_cases(ctx.rng()), "an object is used up by the first "
                   "detection that matches it: later detections of it are false positives at "
                   "that threshold")


def duplicate_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n_img, per_class in [(1, [2]), (3, [4, 3]), (6, [10, 6, 3]), (10, [25, 12, 8, 4])]:
        scene = Scene()
        cells = Cells(rng, _image_ids(rng, n_img))
        cats = _category_ids(rng, len(per_class) + 1)
        for cat, n in zip(cats, per_class, strict=False):
            _duplicates(rng, scene, cells, cat, n)
            for _ in range(max(1, n // 3)):  # false positives and missed objects
                img, origin = cells.take()
                g = random_box(rng, origin)
                scene.gt(img, cat, g)
                scene.det(img, cat, poor_box(rng, g), float(rng.uniform(0, 1e6)))
        _filler_class(rng, scene, cells, cats[-1], 3)
        _fill_images(rng, scene, cells, cats)
        det, gt = scene.arrays(rng)
        cases.append(Case(f"{sum(per_class)} objects, some detected twice or three times",
                          det, gt))
    return cases


def _crowd(rng: np.random.Generator, scene: Scene, cells: Cells, cat: int, other: int) -> None:
    """A crowd region of 320-350 pixels square holding, each in its own zone: two objects
    (non-crowd), each with one detection (one matches at every threshold, the other only up
    to its IoU and then falls to the region); detections wholly inside (IoU with the region,
    over the detection's own area, 1) and straddling its bottom edge (0.5 to 1 of them
    inside), ranked high; a detection of another class (not absorbed: regions are per
    class)."""
    img, origin = cells.take()
    cw, ch = rng.uniform(320, 350, 2)
    region = np.r_[origin + 30.0, cw, ch]
    corner = region[:2]
    members = [scene.gt(img, cat, region, crowd=True)]
    for offset, lo, hi in [((40.0, 40.0), 0.85, 1.0), ((cw - 130, ch - 130), 0.5, 0.85)]:
        g = np.r_[corner + offset + rng.uniform(0, 20, 2), rng.uniform(50, 70, 2)]
        members.append(scene.gt(img, cat, g))
        scene.det(img, cat, box_at_iou(rng, g, mid_gap(rng, lo, hi)), float(rng.uniform(0, 1e6)))
    if rng.random() < 0.5:  # the region comes before the objects in the input
        scene.gt_order.append(members)
    for _ in range(int(rng.integers(2, 5))):  # wholly inside, top right
        wh = rng.uniform(20, 50, 2)
        xy = corner + np.array([cw * 0.55, 15.0]) + rng.uniform(0, 1, 2) * (
            np.array([cw * 0.45 - 15, 95.0]) - wh)
        scene.det(img, cat, np.r_[xy, wh], float(rng.uniform(5e5, 1e6)))
    for _ in range(int(rng.integers(1, 3))):  # straddling the bottom edge, bottom left
        w, h = rng.uniform(30, 60), rng.uniform(50, 60)
        inside = mid_gap(rng, 0.5)
        xy = corner + np.array([rng.uniform(20, cw - 150 - w), ch - inside * h])
        scene.det(img, cat, np.r_[xy, w, h], float(rng.uniform(5e5, 1e6)))
    xy = corner + np.array([cw * 0.1, ch * 0.6])  # another class, left middle
    scene.det(img, other, np.r_[xy, 30.0, 30.0], float(rng.uniform(5e5, 1e6)))


@check(points=3)
def crowd_regions(ctx):
    """Crowd regions are ignored: a detection that matches no object but lies in a crowd
    region of its class (IoU over its own area >= t) counts as neither true nor false
    positive, and the regions are not objects to find.  The candidate's AP must equal its
    AP on the same set without the regions and without the detections pycocotools let them
    absorb (others moved onto their objects, or out of reach)."""
    check_matching(ctx, crowd_cases(ctx.rng()), "a detection matched by no object but by a "
                   "crowd region of its class (intersection over the detection's own area >= "
                   "t) is ignored, and crowd regions do not count as objects")


def crowd_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n_img, n_regions in [(1, 1), (3, 3), (6, 8)]:
        scene = Scene()
        cells = Cells(rng, _image_ids(rng, n_img))
        cats = _category_ids(rng, 3)
        for _ in range(n_regions):
            i = int(rng.integers(2))
            _crowd(rng, scene, cells, cats[i], cats[1 - i])
        for cat in cats:
            _filler_class(rng, scene, cells, cat, int(rng.integers(2, 6)))
        _fill_images(rng, scene, cells, cats)
        det, gt = scene.arrays(rng)
        cases.append(Case(f"{n_regions} crowd regions", det, gt))
    return cases


# ------------------------------------------------------------------------ ranking and images


def _busy_images(rng: np.random.Generator, n_img: int, n_cat: int, per_class: int
                 ) -> tuple[Scene, Cells, list[int]]:
    """Images where every present class has 1..per_class detections (true positives of
    their own objects, or false positives), objects missed here and there."""
    scene = Scene()
    cells = Cells(rng, _image_ids(rng, n_img))
    cats = _category_ids(rng, n_cat)
    for img in cells.images:
        for cat in rng.choice(cats, int(rng.integers(1, n_cat + 1)), replace=False):
            for _ in range(int(rng.integers(1, per_class + 1))):
                _, origin = cells.take(img)
                g = random_box(rng, origin)
                kind = rng.random()
                if kind < 0.6 or img not in scene.g_img:
                    scene.gt(img, int(cat), g)
                    scene.det(img, int(cat), near_copy(rng, g), float(rng.random()))
                elif kind < 0.8:
                    scene.det(img, int(cat), g, float(rng.random()))  # nothing there
                else:
                    scene.gt(img, int(cat), g)  # missed
                    scene.det(img, int(cat), poor_box(rng, g), float(rng.random()))
    for cat in set(cats) - set(scene.g_cat):  # every class has objects: one missed here
        img, origin = cells.take()
        scene.gt(img, cat, random_box(rng, origin))
    _fill_images(rng, scene, cells, cats)
    return scene, cells, cats


@check(points=2)
def max_dets_per_image(ctx):
    """max_dets keeps the max_dets best-scored detections of each image, all classes
    together: the candidate's AP with max_dets = m must equal its AP on the same set cut
    that way beforehand (every image holds more than m detections, no class of an image
    more than m)."""
    run_cases(max_dets_cases(ctx.rng()), lambda case: same_as_twin(
        ctx, case, cut_twin(case), "but that is its AP on the same set after keeping only the "
        f"{case.max_dets} best-scored detections of each image (all classes together)"))


def max_dets_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n_img, n_cat, m in [(1, 3, 1), (3, 3, 2), (5, 4, 3), (8, 5, 5)]:
        scene, _, _ = _busy_images(rng, n_img, n_cat, m)
        det, gt = scene.arrays(rng)
        cases.append(Case(f"max_dets={m}", det, gt, max_dets=m))
    return cases


def cut_twin(case: Case) -> tuple[dict, dict]:
    """The set with only the detections that survive the max_dets cut."""
    return _take(case.det, np.flatnonzero(max_dets_keep(case.det, case.max_dets))), case.gt


@check(points=2)
def score_ties(ctx):
    """Equal scores rank by image_id, then by position in the input: the candidate's AP on
    sets with many tied scores (shuffled input, unsorted image ids) must equal its AP on
    the same set with the ties broken that way into distinct scores."""
    run_cases(tie_cases(ctx.rng()), lambda case: same_as_twin(
        ctx, case, tie_twin(case), "but that is its AP on the same set with the ties broken "
        "into distinct scores by image_id, then input position"))


def tie_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n_img, n_cat, levels in [(2, 1, 2), (4, 2, 3), (8, 3, 4), (15, 4, 5)]:
        scene, _, _ = _busy_images(rng, n_img, n_cat, 4)
        n = len(scene.d_img)
        scores = (rng.integers(1, levels + 1, n) / (levels + 1)).astype(np.float64)
        det, gt = scene.arrays(rng, scores=scores)
        cases.append(Case(f"scores on {levels} levels", det, gt))
    return cases


def tie_twin(case: Case) -> tuple[dict, dict]:
    """The set with distinct scores in the prompt's order (score, image_id, position)."""
    det = dict(case.det)
    n = len(det["score"])
    order = np.lexsort((np.arange(n), det["image_id"], -det["score"]))
    distinct = np.empty(n)
    distinct[order] = np.linspace(0.99, 0.01, n)
    det["score"] = distinct
    return det, case.gt


@check(points=2)
def images_without_boxes(ctx):
    """Every image counts: detections in an image without ground truth are false positives,
    objects in an image without detections are missed.  The candidate's AP must equal its AP
    on the same set with those boxes moved (out of reach) into images that have both."""
    run_cases(lonely_cases(ctx.rng()), lambda case: same_as_twin(
        ctx, case, lonely_twin(case), "but that is its AP on the same set with the detections "
        "of images without ground truth, and the objects of images without detections, moved "
        "out of reach into an image that has both"))


def lonely_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n_img, n_cat, lonely in [(2, 1, 1), (4, 2, 2), (8, 3, 4), (12, 4, 6)]:
        scene, cells, cats = _busy_images(rng, n_img, n_cat, 3)
        ids = [i for i in _image_ids(rng, lonely + n_img) if i not in cells.images][:lonely]
        for i, img in enumerate(ids):
            for _ in range(int(rng.integers(1, 4))):
                cat = cats[int(rng.integers(len(cats)))]
                box = random_box(rng, np.array([400.0 * i, 0.0]))
                if i % 2 == 0:  # detections only: false positives, some ranked high
                    scene.det(img, cat, box, float(rng.uniform(0.3, 1.0)))
                else:  # objects only: missed
                    scene.gt(img, cat, box)
        det, gt = scene.arrays(rng)
        cases.append(Case(f"{lonely} images with detections only or objects only", det, gt))
    return cases


def lonely_twin(case: Case) -> tuple[dict, dict]:
    """The set with the detections of images without ground truth, and the objects of
    images without detections, moved out of reach (apart) into an image that has both."""
    det = {k: v.copy() for k, v in case.det.items()}
    gt = {k: v.copy() for k, v in case.gt.items()}
    host = np.intersect1d(det["image_id"], gt["image_id"])[0]
    lonely_det = ~np.isin(det["image_id"], gt["image_id"])
    lonely_gt = ~np.isin(gt["image_id"], det["image_id"])
    det["image_id"][lonely_det] = host
    det["bbox"][lonely_det] += np.array([_FAR, 0.0, 0.0, 0.0])
    gt["image_id"][lonely_gt] = host
    gt["bbox"][lonely_gt] += np.array([0.0, _FAR, 0.0, 0.0])
    return det, gt


# ------------------------------------------------------------------------ latency

# Timed results (stated in the prompt): each class's AP averaged over the thresholds within
# 0.1 of the reference's, mean_ap within 0.03.  Loose on purpose: one wrong rule (11 recall
# levels, no envelope, a "+1" IoU: up to 0.03 and 0.01 on these splits) costs its own check,
# not this one too; an answer that is not COCO AP at all is far outside.
CLASS_TOLERANCE, MEAN_TOLERANCE = 0.1, 0.03


def detector_output(rng: np.random.Generator, n_img: int = 200, n_cat: int = 10,
                    objects: float = 7.0, per_image: int = 100) -> tuple[dict, dict]:
    """A validation split as a detector leaves it: about ``objects`` objects per 640x480
    image (10 to 250 pixels), 80% of them found once with a score of Beta(5, 2), the rest of
    each image's ``per_image`` detections spread as background with Beta(1.2, 5) scores."""
    cats = np.asarray(_category_ids(rng, n_cat), dtype=np.int64)
    imgs = np.asarray(_image_ids(rng, n_img), dtype=np.int64)
    n_obj = rng.poisson(objects - 1, n_img) + 1
    g_img = np.repeat(imgs, n_obj)
    g_cat = cats[np.r_[np.arange(n_cat), rng.integers(0, n_cat, len(g_img) - n_cat)]]
    wh = np.exp(rng.uniform(np.log(10), np.log(250), (len(g_img), 2)))
    g_box = np.c_[rng.uniform(0, 640, len(g_img)) - wh[:, 0] / 2,
                  rng.uniform(0, 480, len(g_img)) - wh[:, 1] / 2, wh]
    found = np.flatnonzero(rng.random(len(g_img)) < 0.8)
    hit = g_box[found].copy()
    hit[:, :2] += rng.normal(0, 0.07, (len(found), 2)) * hit[:, 2:]
    hit[:, 2:] *= np.exp(rng.normal(0, 0.08, (len(found), 2)))
    hits_per_image = np.bincount(np.searchsorted(np.sort(imgs), g_img[found]), minlength=n_img)
    n_bg = per_image - hits_per_image[np.argsort(np.argsort(imgs))]
    b_img = np.repeat(imgs, n_bg)
    b_wh = np.exp(rng.uniform(np.log(10), np.log(250), (len(b_img), 2)))
    b_box = np.c_[rng.uniform(0, 640, len(b_img)) - b_wh[:, 0] / 2,
                  rng.uniform(0, 480, len(b_img)) - b_wh[:, 1] / 2, b_wh]
    det = {"image_id": np.r_[g_img[found], b_img],
           "category_id": np.r_[g_cat[found], cats[rng.integers(0, n_cat, len(b_img))]],
           "bbox": np.r_[hit, b_box],
           "score": np.r_[rng.beta(5, 2, len(found)), rng.beta(1.2, 5, len(b_img))]}
    order = rng.permutation(len(det["score"]))
    det = {k: v[order] for k, v in det.items()}
    gt = {"image_id": g_img, "category_id": g_cat, "bbox": g_box,
          "iscrowd": np.zeros(len(g_img), dtype=bool)}
    order = rng.permutation(len(g_img))
    return det, {k: v[order] for k, v in gt.items()}


def _plausible(got: Any, want: Any) -> None:
    """A timed result must be the reference's: the same categories, -1 for the same classes,
    each class's AP averaged over the thresholds within CLASS_TOLERANCE and mean_ap within
    MEAN_TOLERANCE (exactness is the correctness checks' business)."""
    ids, ap, mean = _result(got, "average_precision")
    want_ids, want_ap, want_mean = _result(want, "reference")
    assert np.array_equal(ids, want_ids), "category_ids differ from the reference's"
    assert ap.shape == want_ap.shape, f"'ap' has shape {ap.shape}, expected {want_ap.shape}"
    assert np.array_equal(ap == -1, want_ap == -1), "'ap' is -1 for other classes"
    worst = float(np.max(np.abs(ap.mean(axis=1) - want_ap.mean(axis=1)), initial=0.0))
    assert worst <= CLASS_TOLERANCE, (
        f"a class's AP (mean over the thresholds) differs from the reference's by {worst:.4f}, "
        f"over the tolerance of {CLASS_TOLERANCE}")
    assert abs(mean - want_mean) <= MEAN_TOLERANCE, (
        f"mean_ap is {mean:.4f}, the reference's {want_mean:.4f}: over the tolerance of "
        f"{MEAN_TOLERANCE}")


@check(points=3, kind="latency", budget="average_precision_latency")
def average_precision_latency(ctx):
    """average_precision on a validation split of 200 images, 10 classes, about 7 objects
    and exactly 100 detections per image, COCO's 10 thresholds, max_dets = 100, relative to
    the reference; a fresh split each call."""

    def make(rng: np.random.Generator) -> tuple:
        det, gt = detector_output(rng)
        return det, gt, COCO_THRESHOLDS.copy(), 100

    return ctx.latency("average_precision", make, budget="average_precision_latency",
                       compare=_plausible)
