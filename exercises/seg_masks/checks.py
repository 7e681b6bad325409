"""Public checks for seg_masks: small cases with hand-computed answers, and the types.

Value checks compare values (an RLE whose counts are numpy integers, or a bool decoded mask,
has the right values); the types the prompt asks for are judged once each: rle_types (the
JSON form of the RLE) and output_types (the dtypes of the three arrays).
"""

import json

import numpy as np

from proctor.checks import check
from proctor.checks.asserts import as_array, assert_close, assert_equal

# The worked example of the prompt: H=3, W=4.  Column by column (top to bottom):
# 0 0 0 | 0 1 1 | 1 1 0 | 1 0 0  ->  runs 0x4, 1x4, 0x1, 1x1, 0x2
EXAMPLE = np.array([[0, 0, 1, 1],
                    [0, 1, 1, 0],
                    [0, 1, 0, 0]], dtype=bool)
EXAMPLE_COUNTS = [4, 4, 1, 1, 2]
# The first pixel is 1: column-major 1 0 1 1 -> counts start with an empty run of 0s
CORNER = np.array([[1, 1],
                   [0, 1]], dtype=bool)
CORNER_COUNTS = [0, 1, 1, 2]


def _rle_counts(rle, shape, what):
    """The counts of a returned RLE by value (list or tuple, Python or numpy ints)."""
    assert isinstance(rle, dict) and "size" in rle and "counts" in rle, (
        f"{what} must return a dict with 'size' and 'counts', got {rle!r}")
    size, counts = rle["size"], rle["counts"]
    assert [int(s) for s in np.asarray(size).reshape(-1)] == list(shape), (
        f"{what}['size'] is {size!r}, expected {list(shape)}")
    assert isinstance(counts, (list, tuple, np.ndarray)), (
        f"{what}['counts'] must be a list of ints, got {type(counts).__name__}")
    return [int(c) for c in np.asarray(counts).reshape(-1)]


@check(points=1)
def rle_encode_small(ctx):
    """rle_encode: the prompt's 3x4 example, a mask whose first pixel is 1 (counts start
    with 0), an empty and a full mask."""
    cases = [("the 3x4 example", EXAMPLE, EXAMPLE_COUNTS),
             ("2x2, first pixel 1", CORNER, CORNER_COUNTS),
             ("2x3 empty", np.zeros((2, 3), bool), [6]),
             ("2x3 full", np.ones((2, 3), bool), [0, 6])]
    for name, mask, want in cases:
        got = _rle_counts(ctx.candidate.rle_encode(mask), mask.shape, f"rle_encode({name})")
        assert got == want, f"rle_encode({name})['counts'] is {got!r}, expected {want!r}"


@check(points=1)
def rle_decode_small(ctx):
    """rle_decode gives back the two example masks and a full mask."""
    cases = [("the 3x4 example", EXAMPLE, EXAMPLE_COUNTS),
             ("2x2, first pixel 1", CORNER, CORNER_COUNTS),
             ("2x3 full", np.ones((2, 3), bool), [0, 6])]
    for name, mask, counts in cases:
        got = ctx.candidate.rle_decode({"size": list(mask.shape), "counts": counts})
        assert_equal(got, mask.astype(np.uint8), f"rle_decode({name})")


@check(points=1)
def mask_iou_small(ctx):
    """IoU of two tiny masks (a 2x2 square and a column: 2 common pixels of 5), with
    themselves and with an empty mask."""
    square = np.zeros((3, 3), bool)
    square[:2, :2] = True  # 4 pixels
    column = np.zeros((3, 3), bool)
    column[:, 1] = True  # 3 pixels, 2 of them in the square
    empty = np.zeros((3, 3), bool)
    got = ctx.candidate.mask_iou(np.stack([square, column]), np.stack([square, column, empty]))
    assert_close(got, np.array([[1.0, 0.4, 0.0], [0.4, 1.0, 0.0]]),
                 "mask_iou([square, column], [square, column, empty])")


@check(points=1)
def mask_to_box_small(ctx):
    """mask_to_box: x2 and y2 are one past the last column and row; an empty mask gives
    zeros."""
    masks = np.zeros((3, 4, 5), bool)
    masks[0, 1, 2] = masks[0, 2, 3] = True  # rows 1-2, columns 2-3
    masks[1, 3, 4] = True  # the bottom-right pixel
    got = ctx.candidate.mask_to_box(masks)
    assert_close(got, np.array([[2.0, 1, 4, 3], [4, 3, 5, 4], [0, 0, 0, 0]]),
                 "mask_to_box(3 masks of 4x5)")


def _type_name(v):
    t = type(v)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__name__}"


@check(points=1)
def rle_types(ctx):
    """rle_encode returns plain JSON data: "size" a list of two Python ints and "counts" a
    list of Python ints (e.g. array.tolist()), so that json.dumps writes it to a COCO file."""
    rle = ctx.candidate.rle_encode(EXAMPLE)
    assert isinstance(rle, dict), f"rle_encode must return a dict, got {_type_name(rle)}"
    size, counts = rle.get("size"), rle.get("counts")
    problems = []
    if not (type(size) is list and all(type(v) is int for v in size)):
        inner = f" of {', '.join(sorted({_type_name(v) for v in size}))}" \
            if isinstance(size, (list, tuple)) else ""
        problems.append(f"'size' is a {_type_name(size)}{inner}, expected a list of two "
                        "Python ints")
    if not (type(counts) is list and all(type(v) is int for v in counts)):
        inner = f" of {', '.join(sorted({_type_name(v) for v in counts}))}" \
            if isinstance(counts, (list, tuple)) else ""
        problems.append(f"'counts' is a {_type_name(counts)}{inner}, expected a list of "
                        "Python ints (e.g. counts.tolist())")
    if not problems:
        try:
            json.dumps(rle)
        except TypeError as exc:
            problems.append(f"json.dumps(rle) raises TypeError: {exc}")
    assert not problems, "rle_encode(the 3x4 example): " + "; ".join(problems)


@check(points=1)
def output_types(ctx):
    """rle_decode returns uint8, mask_iou and mask_to_box return float64 (bool and uint8
    input alike). Only the dtypes: the values are the other checks'."""
    square = np.zeros((1, 3, 3), bool)
    square[0, :2, :2] = True
    calls = [("rle_decode(the 3x4 example)", "rle_decode",
              ({"size": [3, 4], "counts": list(EXAMPLE_COUNTS)},), "uint8"),
             ("mask_iou(bool masks)", "mask_iou", (square, square), "float64"),
             ("mask_iou(uint8 masks)", "mask_iou", (square.astype(np.uint8),) * 2, "float64"),
             ("mask_to_box(bool masks)", "mask_to_box", (square,), "float64"),
             ("mask_to_box(uint8 masks)", "mask_to_box", (square.astype(np.uint8),),
              "float64")]
    wrong = []
    for what, name, args, dtype in calls:
        got = as_array(getattr(ctx.candidate, name)(*args), what)
        if got.dtype != np.dtype(dtype):
            wrong.append(f"{what} returned {got.dtype}, the prompt asks for {dtype}")
    assert not wrong, "; ".join(wrong)
