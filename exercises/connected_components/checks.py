"""Public checks for connected_components: small masks with known labels."""

import numpy as np

from proctor.checks import check
from proctor.testing import as_array, assert_equal


@check(points=2)
def label_small(ctx):
    """A small mask labelled with 8- and 4-connectivity."""
    mask = np.array([[1, 1, 0, 0],
                     [0, 0, 1, 0],
                     [1, 0, 0, 0]], dtype=bool)
    labels, n = ctx.candidate.label(mask, 8)
    as_array(labels, "labels", "iu", (3, 4))
    assert n == 2, f"8-connectivity: expected 2 components, got {n}"
    assert_equal(labels, np.array([[1, 1, 0, 0], [0, 0, 1, 0], [2, 0, 0, 0]]), "labels (8)")
    labels, n = ctx.candidate.label(mask, 4)
    assert n == 3, f"4-connectivity: expected 3 components, got {n}"
    assert_equal(labels, np.array([[1, 1, 0, 0], [0, 0, 2, 0], [3, 0, 0, 0]]), "labels (4)")


@check(points=1)
def label_errors(ctx):
    """connectivity other than 4 or 8, and masks that are not 2-D, raise ValueError."""
    from proctor.worker_client import CandidateError

    for args, what in [((np.ones((3, 3)), 6), "connectivity=6"),
                       ((np.ones((2, 2, 2)), 8), "a 3-D mask")]:
        try:
            ctx.candidate.label(*args)
        except CandidateError as exc:
            assert exc.is_a("ValueError"), f"{what}: expected ValueError, got {exc.type_name}"
        else:
            raise AssertionError(f"{what}: expected ValueError, nothing was raised")
