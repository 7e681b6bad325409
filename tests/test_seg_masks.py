"""The seg_masks exercise: its reference against pycocotools, its public checks, and its
calibration set.

* the accepted reference agrees with ``pycocotools.mask`` on random masks: ``encode`` (the
  uncompressed counts, through ``frPyObjects``), ``decode``, ``iou`` (``iscrowd = 0``) and
  ``toBbox``; so does the graders' unpacking of pycocotools' compressed counts;
* the public checks pass on the reference and fail on the starter;
* every hidden check is failed by at least one rejected solution, and the correctness
  checks (public and hidden, run in-process without the sandbox or the latency checks)
  give each solution exactly the verdicts its expect.toml declares;
* the slow rejected solutions are slow, not wrong; every solution is standalone numpy code.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from conftest import (
    assert_correctness_as_declared,
    assert_rejects_name_real_checks,
    imports_of,
    load_solution,
    solution_source,
)

from proctor.kit.datasets import shape_mask
from proctor.library.spec import Library

coco_mask = pytest.importorskip("pycocotools.mask")

# pycocotools.mask.decode trips numpy 2's copy-keyword deprecation; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

ROOT = Path(__file__).resolve().parents[1]
EX_ID = "seg_masks"
EX = Library(ROOT).get(EX_ID)
SOLUTIONS = ROOT / "reference_solutions" / EX_ID
REJECTED = sorted(p.parent.name for p in (SOLUTIONS / "rejected").glob("*/expect.toml"))
FUNCS = ("rle_encode", "rle_decode", "mask_iou", "mask_to_box")


@functools.cache
def _load(path: Path) -> ModuleType:
    name = "_seg_" + "_".join(path.relative_to(ROOT).with_suffix("").parts)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ref() -> ModuleType:
    return _load(SOLUTIONS / "accepted" / "reference.py")


def graders() -> ModuleType:
    return _load(EX.grader_dir / "checks.py")


def _source(solution: str) -> str:
    """A solution's code ("accepted/reference" or "rejected/<reason>"; mutants applied)."""
    return solution_source(EX_ID, f"{solution}.py" if solution.startswith("accepted")
                           else solution)



# ------------------------------------------------------------------------ masks


def _random_mask(rng, h, w):
    """Noise, a union of shapes, empty or full: every kind of run structure."""
    kind = rng.integers(0, 4)
    if kind == 0:
        return rng.random((h, w)) < rng.uniform(0.05, 0.95)
    if kind == 1:
        m = np.zeros((h, w), bool)
        for _ in range(int(rng.integers(1, 5))):
            m |= shape_mask(int(rng.integers(0, 8)), rng.uniform(0, w), rng.uniform(0, h),
                            rng.uniform(0.5, 1 + 0.6 * max(h, w)), rng.uniform(-np.pi, np.pi), h, w)
        return m
    return np.full((h, w), kind == 3)


def _sizes(rng, n):
    fixed = [(1, 1), (1, 7), (7, 1), (2, 2), (3, 4), (4, 3)]
    return fixed + [tuple(int(x) for x in rng.integers(1, 90, 2)) for _ in range(n)]


def _coco_encode(mask):
    return coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))


# ------------------------------------------------------------------------ vs pycocotools


def test_encode_matches_pycocotools():
    rng = np.random.default_rng(0)
    for h, w in _sizes(rng, 150):
        for mask in (_random_mask(rng, h, w), _random_mask(rng, h, w).astype(np.uint8)):
            got = ref().rle_encode(mask)
            assert got["size"] == [h, w] and isinstance(got["counts"], list)
            assert all(type(c) is int for c in got["counts"])
            assert sum(got["counts"]) == h * w
            assert all(c > 0 for c in got["counts"][1:])
            # pycocotools reads our uncompressed counts to its compressed string ...
            assert coco_mask.frPyObjects(got, h, w) == _coco_encode(mask)
            # ... and the graders read its compressed string back to our counts
            assert graders()._coco_counts(mask) == got["counts"]
            json.dumps(got)  # a COCO results file can hold it


def test_decode_matches_pycocotools():
    rng = np.random.default_rng(1)
    for h, w in _sizes(rng, 150):
        mask = _random_mask(rng, h, w)
        rle = {"size": [h, w], "counts": graders()._coco_counts(mask)}
        got = ref().rle_decode(rle)
        assert got.dtype == np.uint8 and got.shape == (h, w)
        np.testing.assert_array_equal(got, coco_mask.decode(coco_mask.frPyObjects(rle, h, w)))
        np.testing.assert_array_equal(got, mask)
        np.testing.assert_array_equal(ref().rle_decode(ref().rle_encode(mask)), mask)


def test_coco_string_counts_round_trips_long_and_signed_deltas():
    """Counts of every magnitude (multi-character codes, negative deltas) survive
    frPyObjects -> compressed string -> the graders' unpacking."""
    rng = np.random.default_rng(2)
    for _ in range(200):
        n = int(rng.integers(1, 30))
        counts = [int(c) for c in rng.integers(1, 10 ** int(rng.integers(1, 7)), n)]
        if rng.random() < 0.5:
            counts[0] = 0
        total = sum(counts)
        rle = coco_mask.frPyObjects({"size": [1, total], "counts": counts}, 1, total)
        assert graders()._coco_string_counts(rle["counts"]) == counts


@pytest.mark.parametrize(("n", "m", "h", "w"),
                         [(1, 1, 1, 1), (3, 5, 7, 4), (12, 9, 40, 64), (40, 30, 128, 96)])
def test_mask_iou_matches_pycocotools(n, m, h, w):
    rng = np.random.default_rng(n + m + h + w)
    a = np.stack([_random_mask(rng, h, w) for _ in range(n)])
    b = np.stack([_random_mask(rng, h, w) for _ in range(m)])
    a[0], b[-1] = False, False  # empty vs empty: 0
    got = ref().mask_iou(a, b)
    assert got.dtype == np.float64 and got.shape == (n, m)
    want = coco_mask.iou([_coco_encode(x) for x in a], [_coco_encode(x) for x in b], [0] * m)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(ref().mask_iou(a.astype(np.uint8), b.astype(np.uint8)), want)
    np.testing.assert_array_equal(got, graders()._coco_iou(a, b))


def test_mask_iou_iscrowd_differs():
    """The graders pass iscrowd = 0: with iscrowd = 1 pycocotools divides by |dt| instead."""
    a = np.zeros((1, 4, 4), bool)
    a[0, :2] = True
    b = np.ones((1, 4, 4), bool)
    rles = [_coco_encode(x) for x in a], [_coco_encode(x) for x in b]
    assert coco_mask.iou(*rles, [1])[0, 0] == 1.0
    assert coco_mask.iou(*rles, [0])[0, 0] == ref().mask_iou(a, b)[0, 0] == 0.5


def test_mask_iou_empty_sets_and_large_counts():
    assert ref().mask_iou(np.zeros((0, 4, 5), bool), np.ones((3, 4, 5), bool)).shape == (0, 3)
    assert ref().mask_iou(np.ones((2, 4, 5), bool), np.zeros((0, 4, 5), bool)).shape == (2, 0)
    full = np.ones((2, 300, 256), bool)
    full[1, :10] = False
    got = ref().mask_iou(full, full)
    part = (300 - 10) * 256 / (300 * 256)  # 74,240 of 76,800 pixels: over 65,535
    np.testing.assert_array_equal(got, [[1.0, part], [part, 1.0]])


def test_mask_iou_float64_above_float32_exact_counts():
    """Above 2^24 pixels the reference switches to float64 counts: still exact."""
    h, w = 4100, 4100
    a = np.ones((1, h, w), bool)
    a[0, 0, :7] = False
    b = np.ones((1, h, w), bool)
    b[0, -1, -3:] = False
    inter, union = h * w - 10, h * w
    assert ref().mask_iou(a, b)[0, 0] == inter / union


def test_mask_to_box_matches_pycocotools():
    rng = np.random.default_rng(4)
    for h, w in _sizes(rng, 40):
        masks = np.stack([_random_mask(rng, h, w) for _ in range(6)])
        masks[2] = False
        got = ref().mask_to_box(masks)
        assert got.dtype == np.float64 and got.shape == (6, 4)
        xywh = coco_mask.toBbox([_coco_encode(x) for x in masks])
        np.testing.assert_array_equal(got, np.hstack([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]]))
        np.testing.assert_array_equal(got, graders()._coco_xyxy(masks))
    assert ref().mask_to_box(np.zeros((0, 3, 3), bool)).shape == (0, 4)


def test_grader_masks_are_shapes_and_edges():
    """The hidden inputs: non-empty shapes, top-left pixel 0 where promised, both dtypes."""
    rng = np.random.default_rng(5)
    inner = graders()._inner_masks(rng)
    assert all(not m[0, 0] for _, m in inner)
    assert {m.dtype for _, m in inner} == {np.dtype(bool), np.dtype(np.uint8)}
    edges = graders()._edge_masks(rng)
    assert any(m[0, 0] for _, m in edges) and any(not m.any() for _, m in edges)
    assert {1} <= {m.shape[0] for _, m in edges} and {1} <= {m.shape[1] for _, m in edges}
    a, b = graders()._instance_sets(rng, 30, 20, 128, 128)
    assert a.reshape(30, -1).any(axis=1).all() and b.reshape(20, -1).any(axis=1).all()
    iou = graders()._coco_iou(a, b)
    assert (iou > 0.5).sum() >= 10 and (iou == 0).sum() >= 100  # matches and misses
    # the overflow checks have intersections over 255 (and over 65,535) pixels
    inter = a.reshape(30, -1).astype(np.int64) @ b.reshape(20, -1).T.astype(np.int64)
    assert inter.max() > 255


def test_prompt_examples():
    mask = np.array([[0, 0, 1, 1], [0, 1, 1, 0], [0, 1, 0, 0]], dtype=bool)
    assert mask.ravel(order="F").astype(int).tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 0, 1, 0, 0]
    assert ref().rle_encode(mask) == {"size": [3, 4], "counts": [4, 4, 1, 1, 2]}
    assert graders()._coco_counts(mask.T) == [2, 2, 1, 2, 2, 1, 2]  # the row-major runs
    assert ref().rle_encode(np.array([[1, 1], [0, 1]], bool))["counts"] == [0, 1, 1, 2]
    assert ref().rle_encode(np.zeros((2, 3), bool))["counts"] == [6]
    assert ref().rle_encode(np.ones((2, 3), bool))["counts"] == [0, 6]
    square = np.zeros((3, 3), bool)
    square[:2, :2] = True
    column = np.zeros((3, 3), bool)
    column[:, 1] = True
    got = ref().mask_iou(np.stack([square, column]),
                         np.stack([square, column, np.zeros((3, 3), bool)]))
    np.testing.assert_array_equal(got, [[1.0, 0.4, 0.0], [0.4, 1.0, 0.0]])
    masks = np.zeros((3, 4, 5), bool)
    masks[0, 1, 2] = masks[0, 2, 3] = True
    masks[1, 3, 4] = True
    np.testing.assert_array_equal(ref().mask_to_box(masks),
                                  [[2, 1, 4, 3], [4, 3, 5, 4], [0, 0, 0, 0]])


# ------------------------------------------------------------------------ public checks


# ------------------------------------------------------------------------ calibration set


def test_the_named_mistakes_are_rejected_for_checks_that_exist():
    assert_rejects_name_real_checks(EX, {"row_major_rle", "starts_with_ones", "iou_uint8_overflow",
                                         "empty_union_nan", "pairwise_python_loop",
                                         "pixel_loop_rle"})


@pytest.mark.parametrize("solution", ["accepted/reference", *(f"rejected/{r}" for r in REJECTED)])
def test_correctness_verdicts_match_expect_toml(solution):
    assert_correctness_as_declared(EX, solution)


def test_solutions_are_standalone_numpy():
    for solution in ["accepted/reference", *(f"rejected/{r}" for r in REJECTED)]:
        source = _source(solution)
        assert imports_of(source) <= {"__future__", "numpy"}, solution
        namespace: dict = {}
        exec(compile(source, solution, "exec"), namespace)
        assert all(callable(namespace.get(f)) for f in FUNCS), solution


def test_public_checks_do_not_need_pycocotools():
    assert "pycocotools" not in imports_of((EX.public_dir / "checks.py").read_text())
    assert "pycocotools" not in imports_of(EX.starter)


@pytest.mark.parametrize("reason", ["pairwise_python_loop", "pixel_loop_rle"])
def test_slow_solutions_are_correct(reason):
    """The slow rejected solutions are slow, not wrong: identical results on random masks."""
    slow = load_solution(EX_ID, reason)
    rng = np.random.default_rng(6)
    for h, w in _sizes(rng, 30):
        mask = _random_mask(rng, h, w)
        rle = ref().rle_encode(mask)
        assert slow.rle_encode(mask) == rle
        np.testing.assert_array_equal(slow.rle_decode(rle), ref().rle_decode(rle))
        assert slow.rle_decode(rle).dtype == np.uint8
        a = np.stack([_random_mask(rng, h, w) for _ in range(4)])
        b = np.stack([_random_mask(rng, h, w) for _ in range(3)])
        for x, y in [(a, b), (a[:0], b), (a, b[:0])]:
            np.testing.assert_array_equal(slow.mask_iou(x, y), ref().mask_iou(x, y))
        np.testing.assert_array_equal(slow.mask_to_box(a), ref().mask_to_box(a))
        np.testing.assert_array_equal(slow.mask_to_box(a[:0]), ref().mask_to_box(a[:0]))
