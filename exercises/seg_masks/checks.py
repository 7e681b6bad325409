"""Public checks for seg_masks: small cases with hand-computed answers."""

import numpy as np

from proctor.checks import check
from proctor.testing import assert_close, assert_equal

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
    assert isinstance(rle, dict) and "size" in rle and "counts" in rle, (
        f"{what} must return a dict with 'size' and 'counts', got {rle!r}")
    assert rle["size"] == list(shape), (
        f"{what}['size'] is {rle['size']!r}, expected {list(shape)}")
    assert isinstance(rle["counts"], list), (
        f"{what}['counts'] must be a list of ints, got {type(rle['counts']).__name__}")
    return rle["counts"]


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
