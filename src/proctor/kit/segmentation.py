"""Synthetic scenes for semantic segmentation, and the metrics they are graded with.

:func:`segmentation` draws 64 x 64 RGB scenes of a few shapes over the gradient
background, line/blob clutter and pixel noise of the other image sets
(:mod:`proctor.kit.render`, :mod:`proctor.kit.shapes`), with a per-pixel class map:

* classes ``0`` background, ``1`` circle, ``2`` square, ``3`` triangle and ``4`` cross;
  the cross is *rare* (about 1 object in 14), so a model that never predicts it still
  gets most pixels right and only its per-class IoU shows the omission;
* objects overlap (a later one covers an earlier one, never more than a fifth of it)
  and clutter drawn over them cuts holes: the map holds the *visible* class of each
  pixel, so occluders are background;
* deterministic: one ``SeedSequence`` child per image, so the same ``(n, seed)`` gives
  byte-identical arrays and a smaller ``n`` gives a prefix of a larger one.

The metrics (numpy only, vectorised over the batch) are :func:`evaluate`'s: the mean
over classes of IoU from one confusion matrix of the whole split (the usual semantic
segmentation mIoU), and a class-agnostic boundary F-score: DAVIS's / BSDS's boundary
F-measure (``seg2bmap`` boundaries matched within a disk of ``tolerance`` pixels) on
label maps, with matches summed over the split before the ratio is taken.  On binary masks
it agrees exactly with DAVIS's ``f_measure`` (davis2017-evaluation, which needs OpenCV and
scikit-image: checked once on 239 mask pairs at 1-3 px, not a dependency);
tests/test_kit_segmentation.py keeps hand cases and a brute-force twin.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from proctor.kit import render as _render
from proctor.kit.shapes import shape_mask

__all__ = ["SEG_CLASS_NAMES", "SEG_SIZE", "RARE_CLASS", "BOUNDARY_TOLERANCE", "segmentation",
           "confusion_matrix", "class_iou", "boundary_map", "dilate", "boundary_f",
           "evaluate", "as_masks"]

#: Class id -> name; 0 is the background (everything that is not one of the shapes).
SEG_CLASS_NAMES: tuple[str, ...] = ("background", "circle", "square", "triangle", "cross")
#: Side of the square images, in pixels.
SEG_SIZE: int = 64
#: The class drawn seldom (about 7% of objects, under 2% of pixels).
RARE_CLASS: int = 4
#: Boundary match tolerance in pixels: DAVIS's rule (0.8% of the image diagonal,
#: rounded up) gives 1 px at 64 x 64.
BOUNDARY_TOLERANCE: int = 1

_SHAPE_KIND = (-1, 0, 1, 2, 5)  # class id -> proctor.kit.shapes kind (5 is the cross)
_RARE_P = 0.07                  # probability that an object is of RARE_CLASS
_OBJECTS = (2, 5)               # objects per image (inclusive)
_RADIUS = (6.0, 15.0)           # circumradius in pixels: shapes 12-30 px across
_MIN_AREA = 20                  # pixels; smaller placements are redrawn
_MAX_COVER = 0.2                # a new object hides at most this much of an older one
_TRIES = 40
_CONTRAST = (70.0, 170.0)       # RGB distance of an object's colour from the background
_APART = 90.0                   # ... and from the colour of any shape it touches
_NOISE = (3.0, 15.0)            # Gaussian pixel noise sigma range
_CHUNK = 256                    # images painted together (background, clutter)


def segmentation(n: int, seed: int, size: int = SEG_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``n`` scenes: ``(images uint8 [n, size, size, 3], masks int64 [n, size, size])``.

    ``masks[i, y, x]`` is the class id (index of :data:`SEG_CLASS_NAMES`) of the visible
    surface at that pixel. Each image holds 2-5 shapes of 12-30 px at any rotation and
    position (fully inside the image), in random colours that contrast with the
    background; see the module docstring for occlusion and determinism.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    if size < 2 * int(_RADIUS[1]) + 2:
        raise ValueError(f"size must be >= {2 * int(_RADIUS[1]) + 2} so that the shapes fit")
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    masks = np.empty((n, size, size), dtype=np.int64)
    children = np.random.SeedSequence(int(seed)).spawn(n)
    for start in range(0, n, _CHUNK):
        rngs = [np.random.default_rng(c) for c in children[start:start + _CHUNK]]
        images[start:start + len(rngs)], masks[start:start + len(rngs)] = _scenes(rngs, size)
    return images, masks


def _draw_class(rng: np.random.Generator) -> int:
    u = rng.random()
    if u < _RARE_P:
        return RARE_CLASS
    return 1 + min(int((u - _RARE_P) / (1 - _RARE_P) * 3), 2)


def _scenes(rngs: list[np.random.Generator], size: int) -> tuple[np.ndarray, np.ndarray]:
    """A chunk of images, one generator each (the order of the draws from each generator
    is part of the data: keep it). Background and clutter are painted for the whole
    chunk at once, the shapes image by image."""
    b = len(rngs)
    p = np.concatenate([r.random((1, 7)) for r in rngs])
    clutter = np.concatenate([r.random((1, _render.N_CLUTTER)) for r in rngs])
    img = _render.background(p, size)
    _render.clutter(img, clutter, size, on_top=False)
    labels = np.zeros((b, size, size), np.int64)
    for i, rng in enumerate(rngs):
        _place_shapes(rng, img[i], labels[i], p[i:i + 1, 0:3] * 255.0)
    # clutter over the shapes occludes them: paint it on a NaN canvas to learn where
    over = np.full_like(img, np.nan)
    _render.clutter(over, clutter, size, on_top=True)
    drawn = ~np.isnan(over[..., 0])
    img[drawn] = over[drawn]
    labels[drawn] = 0
    noise = np.concatenate([_render.noise(r, (1, size, size, 3)) for r in rngs])
    sigma = np.array([_NOISE[0] + (_NOISE[1] - _NOISE[0]) * r.random() for r in rngs])
    return _render.finish(img, noise, sigma), labels


def _place_shapes(rng: np.random.Generator, img: np.ndarray, labels: np.ndarray,
                  bg_base: np.ndarray) -> None:
    """Paint 2-5 shapes into ``img`` [H, W, 3] and their classes into ``labels``.

    A shape that touches another gets a colour at least ``_APART`` from it, so that two
    shapes never merge into one outline that neither class has."""
    size = labels.shape[0]
    owner = np.zeros((size, size), np.int64)  # which object (1..k) each pixel shows
    colours: list[np.ndarray] = []
    for _ in range(int(rng.integers(_OBJECTS[0], _OBJECTS[1] + 1))):
        for _try in range(_TRIES):
            cls = _draw_class(rng)
            radius = float(rng.uniform(*_RADIUS))
            angle = float(rng.uniform(-np.pi, np.pi))
            cx, cy = (float(v) for v in rng.uniform(radius, size - radius, 2))
            m = shape_mask(_SHAPE_KIND[cls], cx, cy, radius, angle, size, size)
            if m.sum() < _MIN_AREA:
                continue
            covered = np.bincount(owner[m], minlength=len(colours) + 1)[1:]
            visible = np.bincount(owner.ravel(), minlength=len(colours) + 1)[1:]
            if (covered > _MAX_COVER * visible).any():
                continue
            col = _render.contrast_colour(bg_base, rng.random((1, 4)), *_CONTRAST)[0]
            near = [colours[k - 1] for k in np.unique(owner[dilate(m, 1)]) if k]
            if any(np.linalg.norm(col - c) < _APART for c in near):
                continue
            img[m] = col.astype(np.float32)
            colours.append(col)
            labels[m] = cls
            owner[m] = len(colours)
            break


# ------------------------------------------------------------------------------ metrics


def confusion_matrix(pred: np.ndarray, target: np.ndarray, num_classes: int) -> np.ndarray:
    """``[C, C]`` int64 pixel counts: row = true class, column = predicted class.

    Every id must be in ``0..C-1`` (ValueError otherwise: a stray id would be counted in
    another cell); :func:`evaluate` scores out-of-range predictions as wrong pixels."""
    pred, target = np.asarray(pred).reshape(-1), np.asarray(target).reshape(-1)
    if pred.shape != target.shape:
        raise ValueError(f"pred has {pred.size} pixels, target {target.size}")
    for name, ids in (("pred", pred), ("target", target)):
        if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
            raise ValueError(f"{name} holds class ids outside 0..{num_classes - 1}")
    return np.bincount(target * num_classes + pred,
                       minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def class_iou(conf: np.ndarray) -> np.ndarray:
    """IoU per class from a confusion matrix: TP / (TP + FP + FN); ``nan`` where a
    class is neither true nor predicted anywhere."""
    tp = np.diag(conf).astype(np.float64)
    union = conf.sum(0) + conf.sum(1) - tp
    return np.divide(tp, union, out=np.full_like(tp, np.nan), where=union > 0)


def boundary_map(labels: np.ndarray) -> np.ndarray:
    """Boundary pixels of label maps ``[..., H, W]``: a pixel whose label differs from
    its right, lower or lower-right neighbour (``seg2bmap`` of BSDS / DAVIS, which marks
    the pixel on the top-left side of each edge; the image border is no boundary)."""
    a = np.asarray(labels)
    b = np.zeros(a.shape, dtype=bool)
    b[..., :, :-1] |= a[..., :, :-1] != a[..., :, 1:]
    b[..., :-1, :] |= a[..., :-1, :] != a[..., 1:, :]
    b[..., :-1, :-1] |= a[..., :-1, :-1] != a[..., 1:, 1:]
    return b


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation of ``[..., H, W]`` masks by a disk (offsets with dy² + dx² <= r²,
    skimage's ``disk(r)``): True within ``radius`` pixels of a True pixel."""
    m = np.asarray(mask, dtype=bool)
    h, w = m.shape[-2:]
    pad = np.zeros(m.shape[:-2] + (h + 2 * radius, w + 2 * radius), dtype=bool)
    pad[..., radius:radius + h, radius:radius + w] = m
    out = np.zeros_like(m)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dy * dy + dx * dx <= radius * radius:
                out |= pad[..., radius + dy:radius + dy + h, radius + dx:radius + dx + w]
    return out


def boundary_f(pred: np.ndarray, target: np.ndarray,
               tolerance: int = BOUNDARY_TOLERANCE) -> dict[str, float]:
    """Class-agnostic boundary precision, recall and F over label maps ``[N, H, W]``.

    Precision: the share of predicted boundary pixels within ``tolerance`` px of a true
    one; recall: the share of true boundary pixels within ``tolerance`` px of a predicted
    one; both summed over the whole split first. No boundary on a side counts as
    precision (or recall) 1, as in DAVIS.
    """
    bp, bt = boundary_map(pred), boundary_map(target)
    n_pred, n_true = int(bp.sum()), int(bt.sum())
    precision = (bp & dilate(bt, tolerance)).sum() / n_pred if n_pred else 1.0
    recall = (bt & dilate(bp, tolerance)).sum() / n_true if n_true else 1.0
    f = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": float(precision), "recall": float(recall), "f": float(f),
            "pred_pixels": n_pred, "true_pixels": n_true}


def evaluate(pred: np.ndarray, target: np.ndarray, num_classes: int = len(SEG_CLASS_NAMES),
             tolerance: int = BOUNDARY_TOLERANCE) -> dict[str, Any]:
    """mIoU, per-class IoU, pixel accuracy and boundary F of class maps ``[N, H, W]``.

    ``miou`` is the mean over the classes that occur (in truth or prediction) of the
    split-wide IoU; ``per_class_iou[c]`` is ``nan`` for a class that occurs nowhere.
    A predicted id outside ``0..C-1`` (e.g. the ``-1`` of ``as_masks(..., lenient=True)``)
    is a wrong pixel: it counts against its true class's IoU, for no class's prediction,
    and is a boundary where its neighbours differ from it.
    """
    pred, target = np.asarray(pred), np.asarray(target)
    if pred.shape != target.shape:
        raise ValueError(f"predictions have shape {pred.shape}, targets {target.shape}")
    ids = pred.astype(np.int64)
    void = (ids < 0) | (ids >= num_classes)
    # out-of-range predictions go to an extra "void" column that no true pixel has
    conf = confusion_matrix(np.where(void, num_classes, ids), target.astype(np.int64),
                            num_classes + 1)
    iou = class_iou(conf)[:num_classes]
    bf = boundary_f(ids, target, tolerance)
    return {"miou": float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan"),
            "per_class_iou": iou.tolist(),
            "pixel_accuracy": float(np.trace(conf) / max(conf.sum(), 1)),
            "boundary_f": bf["f"], "boundary_precision": bf["precision"],
            "boundary_recall": bf["recall"], "images": int(pred.shape[0]) if pred.ndim else 0,
            "tolerance": tolerance}


def as_masks(value: Any, n: int, size: int = SEG_SIZE, num_classes: int = len(SEG_CLASS_NAMES),
             what: str = "predict(images)", lenient: bool = False) -> np.ndarray:
    """A predict() result as int64 ``[n, size, size]`` class ids, or an AssertionError
    that says what is wrong. The dtype is not judged here (values are compared after
    casting): checks that own it do.

    Strict (the format checks): the shape, integer values and ids in ``0..C-1`` are
    asserted. ``lenient`` (the checks that score the values, so that one slip of the
    format costs only its own check): a singleton channel axis ``[n, 1, size, size]`` is
    squeezed, and an id that is not an integer in ``0..C-1`` (out of range, fractional,
    nan) becomes ``-1``, a wrong pixel for :func:`evaluate`; any other shape, or values
    that are not numbers, still fail."""
    arr = np.asarray(value)
    want = (n, size, size)
    if lenient and arr.ndim == 4 and arr.shape[1] == 1:
        arr = arr[:, 0]
    assert arr.shape == want, (
        f"{what} must return class ids of shape [N, H, W] = {list(want)}, got shape "
        f"{list(arr.shape)}" + (" (one class map per image: not logits or one-hot [N, C, H, W])"
                                if arr.ndim == 4 else ""))
    assert arr.dtype.kind in "biuf", f"{what} returned dtype {arr.dtype}, not numbers"
    if arr.dtype.kind == "f":
        # clipped first, so that a huge or non-finite value never wraps around in the cast
        real = np.clip(np.where(np.isfinite(arr), arr, -1), -1, num_classes)
        ids = real.astype(np.int64)
        whole = (ids == real) & np.isfinite(arr)
    else:
        # unsigned ids above int64's range wrap to negatives: out of range either way
        ids, whole = arr.astype(np.int64), np.ones(arr.shape, dtype=bool)
    if not lenient:
        assert whole.all(), f"{what} returned non-integer values (class ids are integers)"
    bad = (ids < 0) | (ids >= num_classes)
    if not lenient:
        assert not bad.any(), (
            f"{what}: {int(bad.sum())} class ids outside 0..{num_classes - 1} (e.g. "
            f"{arr[bad][0]})")
    return np.where(bad | ~whole, -1, ids)
