"""Public checks for connected_components: small masks with known labels, the error
contract, and the output types.

Value checks compare after casting (int64 labels with the right numbers pass label_small);
the types the prompt asks for (int32 labels, a Python int n) are judged once each, by
label_dtype and label_count_type.
"""

import numpy as np

from proctor.checks import check
from proctor.checks.asserts import as_array, assert_equal
from proctor.worker.client import CandidateError

EXAMPLE = np.array([[0, 0, 1, 1],
                    [1, 0, 0, 1],
                    [0, 1, 0, 0]], dtype=bool)  # bool: other mask dtypes are checked apart


@check(points=1)
def label_small(ctx):
    """A small mask labelled with 8- and 4-connectivity (values; dtypes are checked apart)."""
    mask = np.array([[1, 1, 0, 0],
                     [0, 0, 1, 0],
                     [1, 0, 0, 0]], dtype=bool)
    labels, n = ctx.candidate.label(mask, 8)
    labels = as_array(labels, "labels", "iu", (3, 4)).astype(np.int64)
    assert n == 2, f"8-connectivity: expected 2 components, got {n}"
    assert_equal(labels, np.array([[1, 1, 0, 0], [0, 0, 1, 0], [2, 0, 0, 0]]), "labels (8)")
    labels, n = ctx.candidate.label(mask, 4)
    labels = as_array(labels, "labels", "iu", (3, 4)).astype(np.int64)
    assert n == 3, f"4-connectivity: expected 3 components, got {n}"
    assert_equal(labels, np.array([[1, 1, 0, 0], [0, 0, 2, 0], [3, 0, 0, 0]]), "labels (4)")


def _results(ctx):
    """label() of the prompt's examples: (what, result); a crash on the empty mask is
    skipped (degenerate shapes are another check's business)."""
    out = [(f"label(example, {c})", ctx.candidate.label(EXAMPLE, c)) for c in (8, 4)]
    try:
        out.append(("label(np.zeros((0, 5), bool))",
                    ctx.candidate.label(np.zeros((0, 5), dtype=bool))))
    except CandidateError as exc:
        if exc.is_a("NotImplementedError"):
            raise
    return out


@check(points=1)
def label_dtype(ctx):
    """labels is an int32 array (the prompt's examples, the empty mask too)."""
    for what, (labels, _) in _results(ctx):
        labels = as_array(labels, f"{what}[0]")
        assert labels.dtype == np.int32, (
            f"{what} returned labels of dtype {labels.dtype}; the prompt asks for int32 "
            "(e.g. np.zeros(mask.shape, dtype=np.int32))")


@check(points=1)
def label_count_type(ctx):
    """n is a Python int (not a numpy integer), on the prompt's examples and the empty mask."""
    for what, (_, n) in _results(ctx):
        assert type(n) is int, (
            f"{what} returned n = {n!r} of type {type(n).__module__}.{type(n).__name__}; "
            "the prompt asks for a Python int (e.g. int(count))")


@check(points=2)
def label_errors(ctx):
    """connectivity other than 4 or 8, and masks that are not 2-D, raise ValueError."""
    for args, what in [((np.ones((3, 3)), 0), "connectivity=0"),
                       ((np.ones((3, 3)), 6), "connectivity=6"),
                       ((np.ones(5), 8), "a 1-D mask"),
                       ((np.ones((2, 2, 2)), 8), "a 3-D mask")]:
        try:
            ctx.candidate.label(*args)
        except CandidateError as exc:
            if exc.is_a("NotImplementedError"):
                raise
            assert exc.is_a("ValueError"), f"{what}: expected ValueError, got {exc.type_name}"
        else:
            raise AssertionError(f"{what}: expected ValueError, nothing was raised")
