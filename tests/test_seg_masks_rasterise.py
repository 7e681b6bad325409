"""seg_masks' grader fast paths. It rasterises each shape in its bounding square only: the
masks must be those of the whole-image rule (proctor.kit.shapes), pixel for pixel, for
every generator the checks use (shapes leaving the image, tiny radii, one-row and
one-column images); and it type-checks plain int counts at C speed, by the same rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from proctor.checks import load_checks
from proctor.kit.shapes import shape_mask_local

GRADER = Path(__file__).resolve().parent.parent / "graders" / "seg_masks" / "checks.py"


@pytest.fixture(scope="module")
def g() -> dict:
    return load_checks(GRADER, hidden=True)[0].fn.__globals__


def _whole_image(p: dict, h: int, w: int) -> np.ndarray:
    """The rule over every pixel of the image (the grader's former implementation)."""
    n = len(p["kind"])
    e = (slice(None), None, None)
    ys = (np.arange(h) + 0.5)[None, :, None] - p["cy"][e]
    xs = (np.arange(w) + 0.5)[None, None, :] - p["cx"][e]
    c, s, r = np.cos(p["angle"])[e], np.sin(p["angle"])[e], p["r"][e]
    u, v = (c * xs + s * ys) / r, (-s * xs + c * ys) / r
    masks = np.zeros((n, h, w), dtype=bool)
    for kind in range(8):
        idx = np.flatnonzero(p["kind"] == kind)
        if idx.size:
            masks[idx] = shape_mask_local(kind, u[idx], v[idx])
    for i in np.flatnonzero(~masks.reshape(n, -1).any(axis=1)):
        masks[i, min(int(p["cy"][i]), h - 1), min(int(p["cx"][i]), w - 1)] = True
    return masks


@pytest.mark.parametrize("h,w", [(1, 30), (25, 1), (4, 4), (24, 40), (96, 96), (128, 72)])
def test_windowed_rasterise_equals_the_whole_image_rule(g, h, w):
    rng = np.random.default_rng(h * 1000 + w)
    for radius in [(0.12, 0.45), (0.04, 0.25), (0.01, 0.02), (0.5, 1.5)]:
        p = g["_shape_params"](rng, 64, h, w, radius)
        jittered = g["_jittered"](rng, p, 64)
        # some leave the image (not beyond one width left: the grader's fallback pixel
        # indexes from the right end there, in both implementations)
        jittered["cx"] = np.maximum(jittered["cx"] + rng.normal(0, 0.5, 64) * w, -0.9 * w)
        for params in (p, jittered):
            assert np.array_equal(g["_rasterise"](params, h, w), _whole_image(params, h, w))


def test_returned_counts_fast_path_keeps_the_rules(g):
    """Plain int lists take a C-speed type check (the timed outputs hold ~10^5 counts);
    bools, floats and numpy ints are judged as before."""
    counts = np.random.default_rng(0).integers(1, 50, 1000).tolist()
    got = g["_returned_counts"]({"size": [4, 250], "counts": counts}, (4, 250), "f")
    assert got == counts and got is not counts
    mixed = {"size": (1, 2), "counts": (np.int64(3), 4)}
    assert g["_returned_counts"](mixed, (1, 2), "f") == [3, 4]
    for bad in ([1, True], [1, 2.0]):
        with pytest.raises(AssertionError, match="must hold ints"):
            g["_returned_counts"]({"size": [1, 2], "counts": bad}, (1, 2), "f")
