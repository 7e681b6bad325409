"""Sanity checks for the box_ops and connected_components reference material.

* the accepted references agree with obviously-correct brute force (box_ops) and with
  ``scipy.ndimage.label`` relabelled to row-major first-pixel order (connected_components);
* every rejected solution really is wrong on a named input, or (for the slow ones) correct
  on small inputs, with its slowdown printed (``pytest -s``) rather than asserted;
* starters expose the same signatures as the references and the expect.toml files parse.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import inspect
import itertools
import time
import tomllib
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from conftest import load_solution

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "reference_solutions"
EXERCISES = ROOT / "exercises"
EXERCISES_IDS = ("box_ops", "connected_components")

BOX_FUNCS = ("box_iou", "nms", "batched_nms")
CC_FUNCS = ("label",)
BOX_REJECTED = (
    "ge_threshold",
    "tie_order",
    "no_zero_union_guard",
    "quadratic_python",
    "batched_ignores_classes",
    "iou_union_adds_areas",
    "iou_unclipped_intersection",
    "nms_union_adds_areas",
    "empty_keep_float_index",
)
CC_REJECTED = (
    "four_for_eight",
    "wrong_order",
    "recursive_flood",
    "python_union_find",
    "assert_validation",
    "mask_not_bool",
)


@functools.cache
def _load(path: Path) -> ModuleType:
    name = "_algo_" + "_".join(path.relative_to(ROOT).with_suffix("").parts)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference(exercise: str) -> ModuleType:
    return _load(SOLUTIONS / exercise / "accepted" / "reference.py")


@functools.cache
def rejected(exercise: str, reason: str) -> ModuleType:
    """A rejected solution: its solution.py, or a mutant's source (see conftest)."""
    return load_solution(exercise, reason)


def _best_time(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


# --------------------------------------------------------------------------- layout


@pytest.mark.parametrize(
    ("exercise", "funcs"), [("box_ops", BOX_FUNCS), ("connected_components", CC_FUNCS)]
)
def test_starter_matches_reference_signatures(exercise: str, funcs: tuple[str, ...]) -> None:
    starter = _load(EXERCISES / exercise / "starter.py")
    ref = reference(exercise)
    assert (EXERCISES / exercise / "prompt.md").read_text().strip()
    for name in funcs:
        s_sig = inspect.signature(getattr(starter, name))
        r_sig = inspect.signature(getattr(ref, name))
        assert [(p.name, p.default) for p in s_sig.parameters.values()] == [
            (p.name, p.default) for p in r_sig.parameters.values()
        ], name
        assert getattr(starter, name).__doc__
        n_params = len(s_sig.parameters)
        with pytest.raises(NotImplementedError):
            getattr(starter, name)(*([None] * n_params))


@pytest.mark.parametrize(
    ("exercise", "reason"),
    [("box_ops", r) for r in BOX_REJECTED] + [("connected_components", r) for r in CC_REJECTED],
)
def test_rejected_layout(exercise: str, reason: str) -> None:
    folder = SOLUTIONS / exercise / "rejected" / reason
    expect = tomllib.loads((folder / "expect.toml").read_text())
    assert isinstance(expect["fail"], list)
    assert isinstance(expect["why"], str) and len(expect["why"]) > 20
    module = rejected(exercise, reason)
    for name in BOX_FUNCS if exercise == "box_ops" else CC_FUNCS:
        assert callable(getattr(module, name)), name


def test_references_and_starters_import_only_numpy() -> None:
    for path in [SOLUTIONS / e / "accepted" / "reference.py" for e in EXERCISES_IDS] + [
        EXERCISES / e / "starter.py" for e in EXERCISES_IDS
    ]:
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add((node.module or "").split(".")[0])
        assert imported <= {"__future__", "numpy"}, (path, imported)


# --------------------------------------------------------------------------- box_ops


def iou_pair(a: list[float], b: list[float]) -> float:
    """IoU of two boxes, one pair at a time, in plain Python floats."""
    w = max(min(a[2], b[2]) - max(a[0], b[0]), 0.0)
    h = max(min(a[3], b[3]) - max(a[1], b[1]), 0.0)
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def brute_iou(b1: np.ndarray, b2: np.ndarray) -> np.ndarray:
    l1 = np.asarray(b1, dtype=np.float64).reshape(-1, 4).tolist()
    l2 = np.asarray(b2, dtype=np.float64).reshape(-1, 4).tolist()
    out = np.zeros((len(l1), len(l2)))
    for i, a in enumerate(l1):
        for j, b in enumerate(l2):
            out[i, j] = iou_pair(a, b)
    return out


def brute_nms(
    boxes: np.ndarray, scores: np.ndarray, thr: float, classes: np.ndarray | None = None
) -> np.ndarray:
    """Textbook greedy NMS: visit by (-score, index); keep unless IoU > thr with a kept box."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).tolist()
    s = np.asarray(scores, dtype=np.float64).tolist()
    c = None if classes is None else np.asarray(classes).tolist()
    kept: list[int] = []
    for i in sorted(range(len(s)), key=lambda i: (-s[i], i)):
        if all(iou_pair(b[i], b[k]) <= thr or (c is not None and c[i] != c[k]) for k in kept):
            kept.append(i)
    return np.array(kept, dtype=np.int64)


def random_box_case(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Small adversarial-ish case: duplicates, degenerate boxes, ties, exact thresholds."""
    n = int(rng.integers(0, 25))
    if rng.random() < 0.5:  # integer grid: exact IoUs like 1/2, 1/3, duplicates, points
        xy = rng.integers(-3, 4, size=(n, 2)).astype(np.float64)
        wh = rng.integers(0, 4, size=(n, 2)).astype(np.float64)
        thr = float(rng.choice([0.0, 0.2, 0.25, 1 / 3, 0.5, 2 / 3, 0.7, 1.0]))
    else:  # continuous, possibly negative coordinates
        xy = rng.normal(0, 20, size=(n, 2))
        wh = rng.exponential(15, size=(n, 2)) * (rng.random((n, 2)) > 0.1)
        thr = float(rng.uniform(0, 1))
    boxes = np.concatenate([xy, xy + wh], axis=1)
    if rng.random() < 0.3:
        boxes = boxes.astype(np.float32)
    if rng.random() < 0.5:
        scores = rng.integers(0, 4, size=n) / 4.0  # lots of ties
    else:
        scores = rng.random(n)
    classes = rng.integers(-1, 3, size=n)
    return boxes, scores, classes, thr


def test_box_iou_matches_brute_force() -> None:
    ref = reference("box_ops")
    rng = np.random.default_rng(0)
    for _ in range(200):
        b1, _, _, _ = random_box_case(rng)
        b2, _, _, _ = random_box_case(rng)
        got = ref.box_iou(b1, b2)
        assert got.dtype == np.float64 and got.shape == (len(b1), len(b2))
        assert not np.isnan(got).any()
        np.testing.assert_array_equal(got, brute_iou(b1, b2))


def test_box_iou_edge_cases() -> None:
    ref = reference("box_ops")
    boxes = np.array([[0, 0, 2, 2], [1, 0, 3, 2], [10, 10, 11, 11]], dtype=float)
    assert ref.box_iou(np.zeros((0, 4)), boxes).shape == (0, 3)
    assert ref.box_iou(boxes, np.zeros((0, 4))).shape == (3, 0)
    assert ref.box_iou(np.zeros((0, 4)), np.zeros((0, 4))).shape == (0, 0)
    np.testing.assert_allclose(ref.box_iou(boxes, boxes)[0], [1, 1 / 3, 0])
    points = np.array([[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0], [2.0, 0.0, 2.0, 5.0]])
    with np.errstate(all="raise"):  # no 0/0 evaluated, not even silently
        np.testing.assert_array_equal(ref.box_iou(points, points), np.zeros((3, 3)))
    # Negative coordinates; float32 input gives float64 output.
    neg = np.array([[-4, -4, -2, -2], [-3, -3, -1, -1]], dtype=np.float32)
    got = ref.box_iou(neg, neg)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got[0, 1], 1 / 7)


def test_nms_matches_brute_force() -> None:
    ref = reference("box_ops")
    rng = np.random.default_rng(1)
    for _ in range(400):
        boxes, scores, classes, thr = random_box_case(rng)
        got = ref.nms(boxes, scores, thr)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, brute_nms(boxes, scores, thr))
        got = ref.batched_nms(boxes, scores, classes, thr)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, brute_nms(boxes, scores, thr, classes))
        same = np.full(len(boxes), 7)
        np.testing.assert_array_equal(
            ref.batched_nms(boxes, scores, same, thr), ref.nms(boxes, scores, thr)
        )


def test_nms_larger_random_matches_brute_force() -> None:
    ref = reference("box_ops")
    rng = np.random.default_rng(2)
    n = 400
    xy = rng.uniform(-200, 200, size=(n, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(5, 80, size=(n, 2))], axis=1)
    scores = rng.random(n).round(2)  # ties
    classes = rng.integers(0, 5, size=n)
    for thr in (0.0, 0.3, 0.5, 0.9):
        np.testing.assert_array_equal(ref.nms(boxes, scores, thr), brute_nms(boxes, scores, thr))
        np.testing.assert_array_equal(
            ref.batched_nms(boxes, scores, classes, thr), brute_nms(boxes, scores, thr, classes)
        )


def test_nms_edge_cases() -> None:
    ref = reference("box_ops")
    empty = ref.nms(np.zeros((0, 4)), np.zeros(0), 0.5)
    assert empty.dtype == np.int64 and empty.shape == (0,)
    empty = ref.batched_nms(np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=int), 0.5)
    assert empty.dtype == np.int64 and empty.shape == (0,)
    one = ref.nms(np.array([[0.0, 0.0, 1.0, 1.0]]), np.array([0.3]), 0.5)
    np.testing.assert_array_equal(one, [0])
    half = np.array([[0, 0, 2, 1], [0, 0, 1, 1]], dtype=float)  # IoU exactly 0.5
    np.testing.assert_array_equal(ref.nms(half, np.array([0.9, 0.8]), 0.5), [0, 1])
    np.testing.assert_array_equal(ref.nms(half, np.array([0.9, 0.8]), 0.49), [0])
    same = np.array([[0, 0, 1, 1]] * 3, dtype=float)
    np.testing.assert_array_equal(ref.nms(same, np.array([0.5, 0.5, 0.5]), 0.5), [0])
    np.testing.assert_array_equal(ref.nms(same, np.array([0.1, 0.5, 0.5]), 0.5), [1])
    np.testing.assert_array_equal(
        ref.batched_nms(same, np.array([0.5, 0.5, 0.5]), np.array([2, 1, 2]), 0.5), [0, 1]
    )
    # Chain: 0 suppresses 1, so 1 (suppressed) must not suppress 2.
    chain = np.array([[0, 0, 2, 1], [1, 0, 3, 1], [2, 0, 4, 1]], dtype=float)
    np.testing.assert_array_equal(ref.nms(chain, np.array([3.0, 2.0, 1.0]), 0.3), [0, 2])


def _nms_bench_case(n: int, overlapping: bool, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if overlapping:
        centre, size = rng.uniform(0, 200, (n, 2)), rng.uniform(20, 80, (n, 2))
    else:
        centre, size = rng.uniform(0, 4000, (n, 2)), rng.uniform(5, 30, (n, 2))
    return np.concatenate([centre - size / 2, centre + size / 2], axis=1), rng.random(n)


def test_nms_reference_speed() -> None:
    ref = reference("box_ops")
    for overlapping in (True, False):
        boxes, scores = _nms_bench_case(5000, overlapping)
        t = _best_time(lambda b=boxes, s=scores: ref.nms(b, s, 0.5), repeat=2)
        print(f"reference nms N=5000 overlapping={overlapping}: {t * 1e3:.1f} ms")
        assert t < 2.0


BOX_WITNESSES = {
    # reason: (call on a module, value the reference must return)
    "ge_threshold": (
        lambda m: m.nms(
            np.array([[0, 0, 2, 1], [0, 0, 1, 1]], dtype=float), np.array([0.9, 0.8]), 0.5
        ),
        [0, 1],
    ),
    "tie_order": (
        lambda m: m.nms(np.array([[0, 0, 1, 1]] * 2, dtype=float), np.array([0.5, 0.5]), 0.5),
        [0],
    ),
    "no_zero_union_guard": (
        lambda m: m.box_iou(np.array([[1.0, 1.0, 1.0, 1.0]]), np.array([[1.0, 1.0, 1.0, 1.0]])),
        [[0.0]],
    ),
    "batched_ignores_classes": (
        lambda m: m.batched_nms(
            np.array([[0, 0, 1, 1]] * 2, dtype=float), np.array([0.9, 0.8]), np.array([0, 1]), 0.5
        ),
        [0, 1],
    ),
    "iou_union_adds_areas": (
        lambda m: m.box_iou(np.array([[0.0, 0, 1, 1]]), np.array([[0.0, 0, 1, 1]])),
        [[1.0]],
    ),
    "iou_unclipped_intersection": (  # disjoint along x only
        lambda m: m.box_iou(np.array([[0.0, 0, 1, 1]]), np.array([[2.0, 0, 3, 1]])),
        [[0.0]],
    ),
    "nms_union_adds_areas": (
        lambda m: m.nms(
            np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], dtype=float),
            np.array([0.9, 0.8, 0.7]),
            0.5,
        ),
        [0, 2],
    ),
}


@pytest.mark.parametrize("reason", sorted(BOX_WITNESSES))
def test_box_rejected_is_wrong(reason: str) -> None:
    call, expected = BOX_WITNESSES[reason]
    np.testing.assert_array_equal(call(reference("box_ops")), expected)
    with np.errstate(all="ignore"):
        got = call(rejected("box_ops", reason))
    assert not np.array_equal(got, expected), f"{reason} returned the correct {got!r}"


def test_box_rejected_wrong_beyond_witness() -> None:
    """Each buggy variant also disagrees with brute force on some random case."""
    rng = np.random.default_rng(3)
    cases = [random_box_case(rng) for _ in range(300)]
    for reason in BOX_WITNESSES:
        mod = rejected("box_ops", reason)
        wrong = 0
        with np.errstate(all="ignore"):
            for boxes, scores, classes, thr in cases:
                wrong += not np.array_equal(mod.box_iou(boxes, boxes), brute_iou(boxes, boxes))
                wrong += not np.array_equal(
                    mod.nms(boxes, scores, thr), brute_nms(boxes, scores, thr)
                )
                wrong += not np.array_equal(
                    mod.batched_nms(boxes, scores, classes, thr),
                    brute_nms(boxes, scores, thr, classes),
                )
        assert wrong > 0, reason


def test_empty_keep_float_index_breaks_only_on_empty_input() -> None:
    mod = rejected("box_ops", "empty_keep_float_index")
    with pytest.raises(IndexError):
        mod.nms(np.zeros((0, 4)), np.zeros(0), 0.5)
    with pytest.raises(IndexError):
        mod.batched_nms(np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=int), 0.5)
    rng = np.random.default_rng(7)
    for _ in range(100):
        boxes, scores, classes, thr = random_box_case(rng)
        if len(boxes):
            got = mod.nms(boxes, scores, thr)
            np.testing.assert_array_equal(got, brute_nms(boxes, scores, thr))


def test_quadratic_python_is_correct_but_slow() -> None:
    ref, slow = reference("box_ops"), rejected("box_ops", "quadratic_python")
    rng = np.random.default_rng(4)
    for _ in range(300):
        boxes, scores, classes, thr = random_box_case(rng)
        np.testing.assert_array_equal(slow.box_iou(boxes, boxes), brute_iou(boxes, boxes))
        np.testing.assert_array_equal(slow.nms(boxes, scores, thr), brute_nms(boxes, scores, thr))
        np.testing.assert_array_equal(
            slow.batched_nms(boxes, scores, classes, thr), brute_nms(boxes, scores, thr, classes)
        )
    boxes, scores = _nms_bench_case(2000, overlapping=False)
    t_ref = _best_time(lambda: ref.nms(boxes, scores, 0.5))
    t0 = time.perf_counter()
    kept = slow.nms(boxes, scores, 0.5)
    t_slow = time.perf_counter() - t0
    np.testing.assert_array_equal(kept, ref.nms(boxes, scores, 0.5))
    print(
        f"nms N=2000 few overlaps: reference {t_ref * 1e3:.1f} ms, quadratic_python "
        f"{t_slow * 1e3:.0f} ms ({t_slow / t_ref:.0f}x)"
    )


# --------------------------------------------------------------------------- label


def scipy_label(mask: np.ndarray, connectivity: int) -> tuple[np.ndarray, int]:
    """scipy.ndimage.label, renumbered to row-major order of each component's first pixel."""
    ndimage = pytest.importorskip("scipy.ndimage")
    fg = np.asarray(mask).astype(bool)
    if fg.size == 0:
        return np.zeros(fg.shape, dtype=np.int32), 0
    structure = ndimage.generate_binary_structure(2, 1 if connectivity == 4 else 2)
    lab, n = ndimage.label(fg, structure=structure)
    ids, first = np.unique(lab.ravel(), return_index=True)
    ids, first = ids[ids > 0], first[ids > 0]
    lut = np.zeros(n + 1, dtype=np.int32)
    lut[ids[np.argsort(first)]] = np.arange(1, n + 1)
    return lut[lab], int(n)


def spiral(n: int) -> np.ndarray:
    """A single 1-pixel-wide square spiral filling an n x n image (one component)."""
    out = np.zeros((n, n), dtype=bool)
    lengths = [n - 1, n - 1, n - 1]
    k = n - 1
    while k > 2:
        k -= 2
        lengths += [k, k]
    r = c = 0
    out[0, 0] = True
    for i, length in enumerate(lengths):
        dr, dc = [(0, 1), (1, 0), (0, -1), (-1, 0)][i % 4]
        for _ in range(length):
            r, c = r + dr, c + dc
            out[r, c] = True
    return out


def checkerboard(h: int, w: int) -> np.ndarray:
    return np.indices((h, w)).sum(axis=0) % 2 == 0


def rings(n: int) -> np.ndarray:
    """Nested square rings with 1-pixel gaps (n // 4 components, roughly)."""
    d = np.minimum.reduce(np.indices((n, n)).tolist() + (n - 1 - np.indices((n, n))).tolist())
    return d % 2 == 0


def serpentine(h: int, w: int) -> np.ndarray:
    """Vertical boustrophedon: 1-pixel columns joined alternately at top and bottom."""
    out = np.zeros((h, w), dtype=bool)
    out[:, ::2] = True
    out[0, 1::4] = True
    out[-1, 3::4] = True
    return out


def label_cases() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(5)
    cases: list[tuple[str, np.ndarray]] = []
    for shape in [(0, 0), (0, 5), (5, 0), (1, 1), (1, 17), (17, 1), (2, 2), (3, 50), (50, 3)]:
        for density in (0.0, 0.5, 1.0):
            cases.append((f"{shape}@{density}", rng.random(shape) < density))
    for i in range(150):
        h, w = (int(x) for x in rng.integers(1, 41, size=2))
        density = float(rng.choice([0.05, 0.3, 0.45, 0.55, 0.6, 0.8, 0.95]))
        cases.append((f"random{i}", rng.random((h, w)) < density))
    cases += [
        ("checker8x8", checkerboard(8, 8)),
        ("checker7x9", checkerboard(7, 9)),
        ("anti_checker", ~checkerboard(6, 5)),
        ("eye", np.eye(12, dtype=bool)),
        ("anti_eye", np.fliplr(np.eye(12, dtype=bool))),
        ("spiral33", spiral(33)),
        ("spiral64", spiral(64)),
        ("rings", rings(31)),
        ("serpentine", serpentine(20, 31)),
        ("uint8", (rng.random((20, 20)) < 0.5).astype(np.uint8) * 255),
        ("int_negative", rng.integers(-1, 2, size=(15, 25))),
        ("float_nan", np.where(rng.random((16, 16)) < 0.4, np.nan, 0.0)),
        ("noncontiguous", (rng.random((40, 30)) < 0.5)[::2, ::-1]),
        ("transposed", (rng.random((30, 20)) < 0.5).T),
    ]
    return cases


def test_label_matches_scipy() -> None:
    ref = reference("connected_components")
    for name, mask in label_cases():
        for conn in (4, 8):
            labels, n = ref.label(mask, connectivity=conn)
            expected, expected_n = scipy_label(mask, conn)
            assert labels.dtype == np.int32 and labels.shape == np.shape(mask), name
            assert type(n) is int, name
            assert n == expected_n, (name, conn)
            np.testing.assert_array_equal(labels, expected, err_msg=f"{name} conn={conn}")


def test_label_examples_and_counts() -> None:
    ref = reference("connected_components")
    m = np.array([[0, 0, 1, 1], [1, 0, 0, 1], [0, 1, 0, 0]])
    labels, n = ref.label(m)
    np.testing.assert_array_equal(labels, [[0, 0, 1, 1], [2, 0, 0, 1], [0, 2, 0, 0]])
    assert n == 2
    assert ref.label(m, connectivity=4)[1] == 3
    m = np.array([[0, 1, 0, 1], [1, 1, 0, 0]])
    np.testing.assert_array_equal(ref.label(m)[0], [[0, 1, 0, 2], [1, 1, 0, 0]])
    board = checkerboard(64, 64)
    assert ref.label(board, 8)[1] == 1
    assert ref.label(board, 4)[1] == 64 * 64 // 2
    assert ref.label(np.ones((9, 7)))[1] == 1
    assert ref.label(np.zeros((9, 7)))[1] == 0
    labels, n = ref.label(np.zeros((0, 5)))
    assert labels.shape == (0, 5) and labels.dtype == np.int32 and n == 0


@pytest.mark.parametrize(
    ("mask", "conn"),
    [
        (np.zeros(5), 8),
        (np.zeros((2, 2, 2)), 8),
        (np.array(1), 8),
        (np.zeros((3, 3)), 6),
        (np.zeros((3, 3)), 0),
        (np.zeros((3, 3)), 1),
        (np.zeros((3, 3)), "8"),
    ],
)
def test_label_errors(mask: np.ndarray, conn: object) -> None:
    with pytest.raises(ValueError):
        reference("connected_components").label(mask, connectivity=conn)


@functools.cache
def big_masks() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(6)
    return {"random0.5": rng.random((1024, 1024)) < 0.5, "spiral": spiral(1024)}


def test_label_reference_big_and_fast() -> None:
    ref = reference("connected_components")
    for name, mask in big_masks().items():
        for conn in (8, 4):
            t = _best_time(lambda m=mask, c=conn: ref.label(m, c), repeat=2)
            print(f"reference label 1024x1024 {name} conn={conn}: {t * 1e3:.1f} ms")
            assert t < 1.0, (name, conn, t)
            labels, n = ref.label(mask, conn)
            expected, expected_n = scipy_label(mask, conn)
            assert n == expected_n
            np.testing.assert_array_equal(labels, expected)
    assert ref.label(big_masks()["spiral"])[1] == 1


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two labelings group the pixels identically (numbering ignored)."""
    if not np.array_equal(a > 0, b > 0):
        return False
    pairs = np.unique(np.stack([a[a > 0], b[b > 0]]), axis=1)
    return len(np.unique(pairs[0])) == len(np.unique(pairs[1])) == pairs.shape[1]


def test_four_for_eight_is_wrong() -> None:
    mod = rejected("connected_components", "four_for_eight")
    diagonal = np.eye(2, dtype=bool)
    assert reference("connected_components").label(diagonal, 8)[1] == 1
    assert mod.label(diagonal, 8)[1] == 2
    for name, mask in label_cases():  # the one bug: 4-connectivity is still right
        labels, n = mod.label(mask, 4)
        assert n == scipy_label(mask, 4)[1], name
        np.testing.assert_array_equal(labels, scipy_label(mask, 4)[0])


def test_wrong_order_is_wrong() -> None:
    mod = rejected("connected_components", "wrong_order")
    m = np.array([[0, 1, 0, 1], [1, 1, 0, 0]])
    got, n = mod.label(m)
    expected, expected_n = reference("connected_components").label(m)
    assert n == expected_n == 2
    assert not np.array_equal(got, expected)
    np.testing.assert_array_equal(got, [[0, 2, 0, 1], [2, 2, 0, 0]])
    for name, mask in label_cases():  # the one bug: the partition itself is right
        for conn in (4, 8):
            got, n = mod.label(mask, conn)
            expected, expected_n = scipy_label(mask, conn)
            assert n == expected_n and _same_partition(got, expected), (name, conn)


def test_recursive_flood_correct_small_but_overflows() -> None:
    mod = rejected("connected_components", "recursive_flood")
    for name, mask in label_cases():
        if np.shape(mask)[0] * np.shape(mask)[1] > 400:  # keep the DFS within the limit
            continue
        for conn in (4, 8):
            labels, n = mod.label(mask, conn)
            expected, expected_n = scipy_label(mask, conn)
            assert n == expected_n, (name, conn)
            np.testing.assert_array_equal(labels, expected)
    with pytest.raises(RecursionError):
        mod.label(np.ones((64, 64), dtype=bool), 8)
    with pytest.raises(RecursionError):
        mod.label(spiral(64), 4)


def test_python_union_find_correct_but_slow() -> None:
    mod = rejected("connected_components", "python_union_find")
    ref = reference("connected_components")
    for name, mask in label_cases():
        for conn in (4, 8):
            labels, n = mod.label(mask, conn)
            expected, expected_n = scipy_label(mask, conn)
            assert n == expected_n, (name, conn)
            np.testing.assert_array_equal(labels, expected)
    for conn in (4, 8):
        with pytest.raises(ValueError):
            mod.label(np.zeros(3), conn)
    mask = big_masks()["random0.5"]
    t_ref = _best_time(lambda: ref.label(mask, 8))
    t0 = time.perf_counter()
    labels, n = mod.label(mask, 8)
    t_slow = time.perf_counter() - t0
    assert n == ref.label(mask, 8)[1]
    print(
        f"label 1024x1024 random0.5 conn=8: reference {t_ref * 1e3:.1f} ms, "
        f"python_union_find {t_slow:.2f} s ({t_slow / t_ref:.0f}x)"
    )


@pytest.mark.parametrize("reason", [r for r in CC_REJECTED if r != "assert_validation"])
def test_cc_rejected_keep_validation(reason: str) -> None:
    mod = rejected("connected_components", reason)
    with pytest.raises(ValueError):
        mod.label(np.zeros((3, 3)), connectivity=6)
    with pytest.raises(ValueError):
        mod.label(np.zeros((3, 3, 3)))
    labels, n = mod.label(np.zeros((0, 4)))
    assert labels.shape == (0, 4) and n == 0


def test_assert_validation_raises_assertion_error() -> None:
    mod = rejected("connected_components", "assert_validation")
    for mask, conn in [(np.zeros((3, 3)), 6), (np.zeros((3, 3)), 0), (np.zeros(5), 8)]:
        with pytest.raises(AssertionError):
            mod.label(mask, connectivity=conn)
    m = np.array([[0, 1, 0, 1], [1, 1, 0, 0]])
    np.testing.assert_array_equal(mod.label(m)[0], reference("connected_components").label(m)[0])


def test_mask_not_bool_breaks_only_non_bool_masks() -> None:
    mod = rejected("connected_components", "mask_not_bool")
    with pytest.raises(IndexError):
        mod.label(np.ones((1, 1), np.uint8))
    for name, mask in label_cases():
        if mask.dtype == bool:
            labels, n = mod.label(mask, 8)
            assert n == scipy_label(mask, 8)[1], name
            np.testing.assert_array_equal(labels, scipy_label(mask, 8)[0])


# Rejected solutions added with the contract ledgers (types, dtypes, precision, truthiness):
# each breaks one clause of reference_solutions/<id>/contract.toml, and calibrate --strict
# proves it fails exactly that clause's check, so they need no witness here.
LEDGER_REJECTED = {
    "box_ops": {"float32_compute", "nms_int32", "iou_float32_output"},
    "connected_components": {"count_numpy_int", "empty_mask_rejected", "labels_int64",
                             "positive_only"},
}


def test_all_rejected_reasons_covered() -> None:
    for exercise, reasons in (("box_ops", BOX_REJECTED), ("connected_components", CC_REJECTED)):
        on_disk = {p.name for p in (SOLUTIONS / exercise / "rejected").iterdir() if p.is_dir()}
        assert on_disk == set(reasons) | LEDGER_REJECTED[exercise], exercise
    assert set(BOX_WITNESSES) | {"quadratic_python", "empty_keep_float_index"} == set(BOX_REJECTED)
    assert len(list(itertools.chain(BOX_REJECTED, CC_REJECTED))) == 15
