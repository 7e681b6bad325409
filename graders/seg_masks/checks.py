"""Hidden checks for seg_masks: COCO RLE and mask IoU against pycocotools, on masks made of
the synthetic data sets' shapes (all eight kinds, any rotation, partly outside the image),
random blobs and noise, and edge cases; the two latency budgets.

The truth is pycocotools (trusted side only): ``encode`` of a Fortran-ordered uint8 mask for
RLE counts (its compressed string is unpacked by ``_coco_string_counts``, a port of its
``rleFrString``), ``iou`` with ``iscrowd`` all 0 for IoU, ``toBbox`` (xywh) for boxes.
tests/test_seg_masks.py checks these helpers and the reference against pycocotools directly.
Cases run smallest first, so a failure names the smallest failing input.
"""

import numpy as np
from pycocotools import mask as coco_mask

from proctor.checks import check
from proctor.checks.asserts import as_array, smallest_failure
from proctor.kit.datasets import shape_mask, shape_mask_local

# ------------------------------------------------------------------------ pycocotools truth


def _coco_string_counts(s: bytes) -> list[int]:
    """The run lengths held in a pycocotools compressed RLE string (its ``rleFrString``):
    5 bits per character (offset 48), 0x20 = more characters follow, 0x10 = sign;
    from the fourth count on, each is stored as the difference to the count two before."""
    counts: list[int] = []
    p = 0
    while p < len(s):
        x = k = 0
        more = True
        while more:
            c = s[p] - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def _coco_rle(mask: np.ndarray) -> dict:
    """pycocotools' compressed RLE of one [H, W] mask (it wants Fortran-ordered uint8)."""
    return coco_mask.encode(np.asfortranarray(np.asarray(mask, dtype=np.uint8)))


def _coco_counts(mask: np.ndarray) -> list[int]:
    return _coco_string_counts(_coco_rle(mask)["counts"])


def _coco_iou(masks_a: np.ndarray, masks_b: np.ndarray) -> np.ndarray:
    """pycocotools' IoU matrix [N, M]; iscrowd = 0 for every mask of masks_b (plain IoU)."""
    n, m = len(masks_a), len(masks_b)
    if n == 0 or m == 0:
        return np.zeros((n, m))
    ious = coco_mask.iou([_coco_rle(x) for x in masks_a], [_coco_rle(x) for x in masks_b],
                         [0] * m)
    return np.asarray(ious, dtype=np.float64).reshape(n, m)


def _coco_xyxy(masks: np.ndarray) -> np.ndarray:
    """pycocotools' boxes (x, y, w, h) as (x1, y1, x2, y2); [0, 0, 0, 0] for empty masks."""
    if len(masks) == 0:
        return np.zeros((0, 4))
    xywh = np.asarray(coco_mask.toBbox([_coco_rle(x) for x in masks]), dtype=np.float64)
    return np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)


# ------------------------------------------------------------------------ masks


def _shape_params(rng, n, h, w, radius=(0.12, 0.45), min_radius=1.5):
    """Random shapes: kind (all eight), centre (anywhere in the image, so a shape may
    leave it), radius (a fraction of min(H, W)) and rotation."""
    return {"kind": rng.integers(0, 8, n),
            "cx": rng.uniform(0, w, n), "cy": rng.uniform(0, h, n),
            "r": np.maximum(rng.uniform(*radius, n) * min(h, w), min_radius),
            "angle": rng.uniform(-np.pi, np.pi, n)}


def _rasterise(p, h, w):
    """[N, H, W] bool masks of shape parameters, by proctor.datasets.shape_mask's rule
    (pixel centres rotated about the shape's centre, scaled by its radius).
    A shape that misses every pixel centre keeps the pixel under its centre.

    Each shape is tested only in its square [cx - r, cx + r] x [cy - r, cy + r] plus a
    pixel (shapes fit in the unit disk): the same arithmetic on the same pixel centres as
    over the whole image, so the same masks, without 10 full 720x960 planes per scene."""
    n = len(p["kind"])
    ys_all, xs_all = np.arange(h) + 0.5, np.arange(w) + 0.5
    cos, sin = np.cos(p["angle"]), np.sin(p["angle"])
    masks = np.zeros((n, h, w), dtype=bool)
    for i in range(n):
        cx, cy, r = p["cx"][i], p["cy"][i], p["r"][i]
        x0, x1 = max(int(np.floor(cx - r)) - 1, 0), min(int(np.ceil(cx + r)) + 2, w)
        y0, y1 = max(int(np.floor(cy - r)) - 1, 0), min(int(np.ceil(cy + r)) + 2, h)
        if x0 < x1 and y0 < y1:
            ys, xs = ys_all[y0:y1, None] - cy, xs_all[None, x0:x1] - cx
            u, v = (cos[i] * xs + sin[i] * ys) / r, (-sin[i] * xs + cos[i] * ys) / r
            masks[i, y0:y1, x0:x1] = shape_mask_local(int(p["kind"][i]), u, v)
    for i in np.flatnonzero(~masks.reshape(n, -1).any(axis=1)):
        masks[i, min(int(p["cy"][i]), h - 1), min(int(p["cx"][i]), w - 1)] = True
    return masks


def _jittered(rng, p, n):
    """n 'predictions': each a perturbed copy of a random shape of p (shifted, rescaled,
    turned), so that IoUs with their source are spread between ~0.2 and 1."""
    src = rng.integers(0, len(p["kind"]), n)
    r = p["r"][src]
    return {"kind": p["kind"][src],
            "cx": p["cx"][src] + rng.normal(0, 0.15, n) * r,
            "cy": p["cy"][src] + rng.normal(0, 0.15, n) * r,
            "r": r * rng.uniform(0.8, 1.25, n),
            "angle": p["angle"][src] + rng.normal(0, 0.2, n)}


def _scene(rng, h, w, shapes, radius=(0.12, 0.45)):
    """One [H, W] mask: the union of a few shapes (overlapping objects, holes of rings)."""
    return _rasterise(_shape_params(rng, shapes, h, w, radius), h, w).any(axis=0)


def _blob(rng, h, w):
    """An irregular mask: a thresholded sum of signed Gaussian bumps (several components,
    holes, ragged outlines)."""
    k = int(rng.integers(3, 9))
    cy, cx = rng.uniform(0, h, k), rng.uniform(0, w, k)
    sigma = rng.uniform(0.08, 0.3, k) * max(h, w)
    amp = rng.choice([-0.7, 1.0], k) * rng.uniform(0.5, 1.0, k)
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    field = sum(a * np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * s * s))
                for a, y, x, s in zip(amp, cy, cx, sigma, strict=True))
    return field > 0.35


def _noise(rng, h, w, density):
    return rng.random((h, w)) < density


def _inner_masks(rng):
    """(name, mask) of real shapes, scenes, blobs and noise whose top-left pixel is 0."""
    out = []
    for h, w in [(5, 7), (12, 12), (16, 24), (40, 30), (64, 48), (97, 131), (120, 160),
                 (240, 320)]:
        out.append((f"{h}x{w} one shape", _rasterise(_shape_params(rng, 1, h, w), h, w)[0]))
        out.append((f"{h}x{w} scene of 4 shapes", _scene(rng, h, w, 4)))
        out.append((f"{h}x{w} blob", _blob(rng, h, w)))
    for h, w, d in [(6, 9, 0.5), (23, 17, 0.1), (31, 64, 0.5), (50, 40, 0.9)]:
        out.append((f"{h}x{w} noise density {d}", _noise(rng, h, w, d)))
    for _, m in out:
        m[0, 0] = False
    # uint8 0/1 input, as pycocotools.mask.decode returns masks
    out += [(f"uint8 {name}", m.astype(np.uint8)) for name, m in out[3:6]]
    return out


def _edge_masks(rng):
    """(name, mask): empty, full, single pixels, masks touching every border and the
    top-left corner, one row or one column, the checkerboard (every run of length 1)."""
    out = [("1x1 empty", np.zeros((1, 1), bool)), ("1x1 full", np.ones((1, 1), bool))]
    for h, w in [(3, 5), (7, 4), (32, 48)]:
        out.append((f"{h}x{w} empty", np.zeros((h, w), bool)))
        out.append((f"{h}x{w} full", np.ones((h, w), bool)))
        for i, j in [(0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1), (h // 2, w // 2)]:
            m = np.zeros((h, w), bool)
            m[i, j] = True
            out.append((f"{h}x{w} single pixel at ({i}, {j})", m))
        first_col, last_col = np.zeros((h, w), bool), np.zeros((h, w), bool)
        first_col[:, 0], last_col[:, -1] = True, True
        out += [(f"{h}x{w} first column", first_col), (f"{h}x{w} last column", last_col)]
        out.append((f"{h}x{w} everything but the top-left pixel",
                    ~np.eye(1, h * w, dtype=bool).reshape(h, w)))
        out.append((f"{h}x{w} checkerboard", np.indices((h, w)).sum(0) % 2 == 0))
        out.append((f"{h}x{w} inverse checkerboard", np.indices((h, w)).sum(0) % 2 == 1))
    for h, w in [(1, 9), (1, 40), (9, 1), (40, 1)]:
        out.append((f"{h}x{w} noise", _noise(rng, h, w, 0.5)))
        out.append((f"{h}x{w} full", np.ones((h, w), bool)))
    for h, w in [(20, 30), (64, 64), (90, 50)]:
        # a big shape over the top-left corner, and one larger than the image
        corner = shape_mask(int(rng.integers(0, 8)), 0.0, 0.0, 0.5 * min(h, w), 0.3, h, w)
        corner[0, 0] = True
        out.append((f"{h}x{w} shape over the top-left corner", corner))
        out.append((f"{h}x{w} circle touching every border",
                    shape_mask(0, w / 2, h / 2, 0.8 * max(h, w), 0.0, h, w)))
    out.append(("uint8 16x16 full", np.ones((16, 16), np.uint8)))
    out.append(("uint8 3x5 single pixel at (0, 0)", np.eye(1, 15, dtype=np.uint8).reshape(3, 5)))
    return out


# ------------------------------------------------------------------------ candidate output


def _returned_counts(got, shape, what):
    """The counts of a returned uncompressed RLE, as a list of Python ints, after checking
    its form: a dict with "size" and "counts". Values only: "size" may be any pair equal
    to [H, W] and "counts" any sequence of integers here; the JSON types the prompt asks
    for (lists of Python ints) are judged once, by the public check rle_types."""
    assert isinstance(got, dict), f"{what} must return a dict, got {type(got).__name__}"
    missing = {"size", "counts"} - set(got)
    assert not missing, f"{what} returned a dict without {sorted(missing)}"
    size, counts = got["size"], got["counts"]
    if isinstance(size, np.ndarray):
        size = size.tolist()
    assert (isinstance(size, (list, tuple)) and len(size) == 2
            and all(_is_int(s) for s in size) and [int(s) for s in size] == list(shape)), (
        f"{what}['size'] is {size!r}, expected {list(shape)}")
    if isinstance(counts, np.ndarray) and counts.ndim == 1 and counts.dtype.kind in "iu":
        counts = counts.tolist()
    assert isinstance(counts, (list, tuple)), (
        f"{what}['counts'] must be a list of ints, got {type(counts).__name__}")
    if set(map(type, counts)) <= {int}:  # plain ints (not bool): the check below, at C speed
        return list(counts)
    bad = [c for c in counts if not _is_int(c)]
    assert not bad, f"{what}['counts'] must hold ints, found {bad[0]!r}"
    return [int(c) for c in counts]


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _first_difference(got, want):
    return next((i for i, (g, x) in enumerate(zip(got, want, strict=False)) if g != x),
                min(len(got), len(want)))


def _same_counts(got, mask, what="rle_encode(mask)"):
    counts = _returned_counts(got, mask.shape, what)
    want = _coco_counts(mask)
    if counts == want:
        return
    i = _first_difference(counts, want)
    hint = ""
    if counts == _coco_counts(mask.T):
        hint = " (these are the runs of the row-major flattening; COCO RLE is column-major)"
    elif want[:1] == [0] and counts == want[1:]:
        hint = (" (the leading 0 is missing: when the first pixel is 1, counts start with "
                "an empty run of 0s)")
    raise AssertionError(
        f"{what}['counts'] differs from pycocotools' at index {i}: got "
        f"{counts[i:i + 4]!r}..., expected {want[i:i + 4]!r}...; {len(counts)} counts "
        f"(sum {sum(counts)}), expected {len(want)} (sum {sum(want)}){hint}")


def _same_mask(got, mask, what):
    got = as_array(got, what, "biu", mask.shape)
    if not np.array_equal(got, np.asarray(mask, dtype=np.uint8)):
        bad = np.argwhere(got != mask)
        i, j = (int(x) for x in bad[0])
        raise AssertionError(f"{what}: {len(bad)} of {mask.size} pixels differ from the "
                             f"mask; first at (row {i}, col {j}): got {got[i, j].item()!r}, "
                             f"expected {int(mask[i, j])}")


def _same_ious(got, masks_a, masks_b, what="mask_iou(masks_a, masks_b)", tol=1e-6):
    want = _coco_iou(masks_a, masks_b)
    got = as_array(got, what, "f", want.shape).astype(np.float64)  # float64: output_types'
    assert np.isfinite(got).all(), (
        f"{what} has {int((~np.isfinite(got)).sum())} non-finite values (NaN or inf)")
    bad = np.abs(got - want) > tol
    if bad.any():
        i, j = (int(x) for x in np.argwhere(bad)[0])
        a, b = np.asarray(masks_a[i], bool), np.asarray(masks_b[j], bool)
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {bad.size} values differ from pycocotools' IoU; "
            f"first at ({i}, {j}): got {float(got[i, j])!r}, expected {float(want[i, j])!r} "
            f"(|A| = {int(a.sum())}, |B| = {int(b.sum())}, |A ∩ B| = {int((a & b).sum())})")


# ------------------------------------------------------------------------ RLE


@check(points=2)
def rle_encode_shapes(ctx):
    """rle_encode of real shapes, scenes of overlapping shapes, blobs and noise (2 to
    80,000 pixels, H != W, bool and uint8), whose top-left pixel is 0: counts equal
    pycocotools' exactly."""
    cases = [(name, (m,)) for name, m in _inner_masks(ctx.rng())]
    smallest_failure(cases, lambda a: _same_counts(ctx.candidate.rle_encode(a[0]), a[0]))


@check(points=2)
def rle_encode_edges(ctx):
    """rle_encode of empty and full masks, single pixels in each corner, masks over the
    top-left pixel (counts then start with 0), touching every border, one row or one
    column, checkerboards: counts equal pycocotools' exactly."""
    cases = [(name, (m,)) for name, m in _edge_masks(ctx.rng())]
    smallest_failure(cases, lambda a: _same_counts(ctx.candidate.rle_encode(a[0]), a[0]))


@check(points=1)
def rle_decode_masks(ctx):
    """rle_decode of pycocotools' counts (shapes, blobs, noise and every edge case) gives
    back the mask exactly, as uint8 [H, W]."""
    rng = ctx.rng()
    cases = [(name, ({"size": list(m.shape), "counts": _coco_counts(m)}, m))
             for name, m in _inner_masks(rng) + _edge_masks(rng)]

    def run(args):
        rle, mask = args
        got = ctx.candidate.rle_decode(rle)
        _same_mask(got, mask, "rle_decode(rle)")  # values; uint8 is output_types' clause

    smallest_failure(cases, run)


@check(points=1)
def rle_round_trip(ctx):
    """rle_decode(rle_encode(mask)) gives back every mask (shapes, blobs, edge cases)."""
    rng = ctx.rng()
    cases = [(name, (m,)) for name, m in _inner_masks(rng) + _edge_masks(rng)]

    def run(args):
        (mask,) = args
        rle = ctx.candidate.rle_encode(mask)
        _returned_counts(rle, mask.shape, "rle_encode(mask)")
        _same_mask(ctx.candidate.rle_decode(rle), mask, "rle_decode(rle_encode(mask))")

    smallest_failure(cases, run)


def _encode_timing_args(pool):
    def make(rng):
        # a fresh 720x960 mask per call: a scene from the pool, moved and maybe mirrored
        m = pool[int(rng.integers(len(pool)))]
        m = np.roll(m, (int(rng.integers(720)), int(rng.integers(960))), axis=(0, 1))
        m = m[:, ::-1].copy() if rng.random() < 0.5 else m
        m[0, 0] = False  # the leading-0 rule is rle_encode_edges' business, not timing's
        return (m,)
    return make


def _same_timed_rle(got, want):
    counts = _returned_counts(got, want["size"], "timed rle_encode output")
    assert counts == want["counts"], "timed rle_encode output: counts differ from the reference"


@check(points=2, kind="latency", budget="rle_encode_latency")
def rle_encode_latency(ctx):
    """rle_encode of 720x960 scenes of ten shapes, relative to the reference, on a fresh
    mask each call."""
    rng = ctx.rng("pool")
    pool = [_scene(rng, 720, 960, 10, radius=(0.04, 0.25)) for _ in range(4)]
    return ctx.latency("rle_encode", _encode_timing_args(pool), budget="rle_encode_latency",
                       compare=_same_timed_rle)


# ------------------------------------------------------------------------ IoU


def _instance_sets(rng, n, m, h, w, dtype=bool):
    """m 'ground-truth' shapes and n 'predictions' (mostly perturbed copies of them, a
    few anywhere), as [N, H, W] and [M, H, W] masks."""
    gt = _shape_params(rng, m, h, w)
    near = _jittered(rng, gt, n - n // 4)
    far = _shape_params(rng, n // 4, h, w)
    pred = {k: np.concatenate([near[k], far[k]]) for k in gt}
    return _rasterise(pred, h, w).astype(dtype), _rasterise(gt, h, w).astype(dtype)


@check(points=1)
def mask_iou_shapes(ctx):
    """mask_iou of predicted vs ground-truth instances made of real shapes (N != M, H != W,
    one-row and one-column images, bool and uint8): float64 [N, M] equal to pycocotools'
    iou with iscrowd = 0."""
    rng = ctx.rng()
    cases = [("N=1, M=1, 4x4", _instance_sets(rng, 1, 1, 4, 4))]
    for n, m, h, w in [(2, 3, 8, 8), (5, 4, 24, 40), (7, 5, 48, 32), (12, 9, 96, 160),
                       (30, 20, 128, 128)]:
        cases.append((f"N={n}, M={m}, {h}x{w}", _instance_sets(rng, n, m, h, w)))
    cases.append(("uint8 N=6, M=4, 40x56", _instance_sets(rng, 6, 4, 40, 56, np.uint8)))
    for n, m, h, w in [(3, 4, 1, 30), (4, 3, 25, 1)]:
        a, b = _noise(rng, n * h, w, 0.5), _noise(rng, m * h, w, 0.5)
        cases.append((f"N={n}, M={m}, {h}x{w} noise",
                      (a.reshape(n, h, w), b.reshape(m, h, w))))
    smallest_failure(cases, lambda a: _same_ious(ctx.candidate.mask_iou(*a), *a))


@check(points=1)
def mask_iou_empty(ctx):
    """Empty masks: IoU 0 where both masks are empty (union 0), never NaN; and N = 0 or
    M = 0 give a (0, M) or (N, 0) result."""
    rng = ctx.rng()
    a, b = _instance_sets(rng, 6, 5, 20, 30)
    a[[1, 4]], b[[0, 3]] = False, False
    cases = [("N=1, M=1, both empty 3x3", (np.zeros((1, 3, 3), bool), np.zeros((1, 3, 3), bool))),
             ("N=2, M=3, all empty 5x4", (np.zeros((2, 5, 4), bool), np.zeros((3, 5, 4), bool))),
             ("N=6, M=5, some empty 20x30", (a, b)),
             ("uint8 N=3, M=2, all empty 8x8",
              (np.zeros((3, 8, 8), np.uint8), np.zeros((2, 8, 8), np.uint8))),
             ("N=0, M=4, 10x12", (np.zeros((0, 10, 12), bool), b[:4, :10, :12].copy())),
             ("N=3, M=0, 10x12", (a[:3, :10, :12].copy(), np.zeros((0, 10, 12), bool)))]
    smallest_failure(cases, lambda x: _same_ious(ctx.candidate.mask_iou(*x), *x))


@check(points=1)
def mask_iou_large(ctx):
    """Large counts: 200 x 200 masks of 64x64 with intersections up to 4,096 pixels, and
    near-full 300x256 masks (intersections over 65,536 pixels): no overflow."""
    rng = ctx.rng()
    big = _instance_sets(rng, 200, 200, 64, 64)
    full = np.ones((3, 300, 256), bool)
    for i, (y, x) in enumerate([(0, 0), (150, 100), (299, 255)]):
        full[i, max(y - 20, 0):y + 20, max(x - 30, 0):x + 30] = False
    cases = [("N=200, M=200, 64x64 shapes", big),
             ("N=3, M=2, near-full 300x256", (full, full[1:].copy()))]
    smallest_failure(cases, lambda a: _same_ious(ctx.candidate.mask_iou(*a), *a))


def _iou_timing_args(pool_a, pool_b):
    def make(rng):
        # 200 x 200 fresh 96x96 masks per call: drawn from the pools, moved and maybe
        # mirrored (rasterising 400 shapes per call would dominate the measurement)
        ia, ib = rng.choice(len(pool_a), 200, replace=False), rng.choice(len(pool_b), 200,
                                                                         replace=False)
        shift, flip = (int(rng.integers(96)), int(rng.integers(96))), rng.random() < 0.5
        a, b = (np.roll(p[i], shift, axis=(1, 2)) for p, i in ((pool_a, ia), (pool_b, ib)))
        return (a[:, :, ::-1].copy(), b[:, :, ::-1].copy()) if flip else (a, b)
    return make


@check(points=2, kind="latency", budget="mask_iou_latency")
def mask_iou_latency(ctx):
    """mask_iou of 200 x 200 instance masks of 96x96, relative to the reference, on fresh
    masks each call."""
    pool_a, pool_b = _instance_sets(ctx.rng("pool"), 400, 400, 96, 96)
    return ctx.latency("mask_iou", _iou_timing_args(pool_a, pool_b), budget="mask_iou_latency")


# ------------------------------------------------------------------------ boxes


@check(points=1)
def mask_to_box_random(ctx):
    """mask_to_box of shapes (some partly outside the image), empty masks among them,
    single pixels in the corners, one-row and one-column images, N = 0: float64 [N, 4]
    equal to pycocotools' toBbox as (x1, y1, x2, y2)."""
    rng = ctx.rng()
    cases = []
    for n, h, w in [(1, 3, 3), (4, 12, 20), (9, 48, 36), (25, 96, 128)]:
        masks = _rasterise(_shape_params(rng, n, h, w), h, w)
        masks[rng.random(n) < 0.2] = False
        cases.append((f"N={n}, {h}x{w} shapes, some empty", (masks,)))
    corners = np.zeros((5, 6, 9), np.uint8)
    corners[0, 0, 0] = corners[1, 0, 8] = corners[2, 5, 0] = corners[3, 5, 8] = 1
    cases.append(("uint8 N=5, 6x9 single corner pixels and an empty mask", (corners,)))
    cases += [("N=3, 1x17 noise", (_noise(rng, 3, 17, 0.3).reshape(3, 1, 17),)),
              ("N=3, 17x1 noise", (_noise(rng, 3, 17, 0.3).reshape(3, 17, 1),)),
              ("N=0, 5x5", (np.zeros((0, 5, 5), bool),))]

    def run(args):
        (masks,) = args
        want = _coco_xyxy(masks)
        got = as_array(ctx.candidate.mask_to_box(masks), "mask_to_box(masks)", "biuf",
                       want.shape).astype(np.float64)  # float64 is output_types' clause
        bad = np.flatnonzero((got != want).any(axis=1))
        assert not bad.size, (
            f"mask_to_box: {bad.size} of {len(want)} boxes differ; first, mask {bad[0]}: "
            f"got {got[bad[0]].tolist()}, expected {want[bad[0]].tolist()}")

    smallest_failure(cases, run)
