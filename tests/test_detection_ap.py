"""The detection_ap exercise: its reference and the graders' oracle against pycocotools, the
graders' twin sets, their data, the public checks, the contract ledger and the calibration
set.

* the accepted reference agrees with pycocotools' COCOeval on random sets holding every
  feature at once (ties, crowd regions, duplicates, max_dets cuts, classes and images
  without ground truth, empty inputs), and so do the two slow rejected solutions;
* every twin set a rule check compares with has the same pycocotools AP as its original;
  the sets keep to the easy cases the graders' docstring promises;
* the public checks pass on the reference and fail on the starter; every solution gets, in
  process (no sandbox, no latency), exactly the correctness verdicts its expect.toml
  declares, and each rejected solution fails exactly the check of its contract clause;
* the rejected solutions stay within the latency check's tolerance on its splits (so they
  fail their own check only).
"""

from __future__ import annotations

import functools
import importlib.util
import tomllib
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from conftest import (
    assert_correctness_as_declared,
    assert_rejects_name_real_checks,
    check_defs,
    correctness_failures,
    declared_failures,
    imports_of,
    load_solution,
    solution_source,
)

from proctor.library.spec import Library

pytest.importorskip("pycocotools")

ROOT = Path(__file__).resolve().parents[1]
EX_ID = "detection_ap"
EX = Library(ROOT).get(EX_ID)
SOLUTIONS = ROOT / "reference_solutions" / EX_ID
REJECTED = sorted(p.parent.name for p in (SOLUTIONS / "rejected").glob("*/expect.toml"))
SLOW = ("per_detection_loop", "python_triple_loop")
COCO_THRESHOLDS = np.linspace(0.5, 0.95, 10)


@functools.cache
def graders() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_detection_ap_graders",
                                                  EX.grader_dir / "checks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def ref() -> ModuleType:
    return load_solution(EX_ID, "accepted/reference.py")


def _same(got: dict, truth, what: str) -> None:
    np.testing.assert_array_equal(got["category_ids"], truth.category_ids, err_msg=what)
    np.testing.assert_allclose(got["ap"], truth.ap, rtol=0, atol=1e-12, err_msg=what)
    assert abs(got["mean_ap"] - truth.mean_ap) <= 1e-12, what


# ------------------------------------------------------------------------ random sets


def random_set(rng: np.random.Generator) -> tuple[dict, dict, int]:
    """Detections near and far from the objects of a few images and classes: ties (half the
    sets), crowd regions, duplicates, classes and images with one side only, any max_dets."""
    n_img, n_cls = int(rng.integers(1, 8)), int(rng.integers(1, 5))
    n_gt, n_det = int(rng.poisson(rng.uniform(0, 6) * n_img)), int(rng.poisson(
        rng.uniform(0, 15) * n_img))
    img_ids = rng.choice(1000, n_img, replace=False) * 7 + 3
    cat_ids = rng.choice(100, n_cls, replace=False) + 1
    g_img, g_cat = img_ids[rng.integers(0, n_img, n_gt)], cat_ids[rng.integers(0, n_cls, n_gt)]
    g_box = np.c_[rng.uniform(0, 200, (n_gt, 2)), rng.uniform(5, 80, (n_gt, 2))]
    d_img, d_cat = img_ids[rng.integers(0, n_img, n_det)], cat_ids[rng.integers(0, n_cls, n_det)]
    d_box = np.c_[rng.uniform(0, 200, (n_det, 2)), rng.uniform(5, 80, (n_det, 2))]
    if n_gt:
        near = np.flatnonzero(rng.random(n_det) < 0.7)
        src = rng.integers(0, n_gt, len(near))
        d_img[near] = g_img[src]
        d_cat[near] = np.where(rng.random(len(near)) < 0.9, g_cat[src], d_cat[near])
        d_box[near, 2:] = g_box[src, 2:] * rng.uniform(0.7, 1.3, (len(near), 2))
        d_box[near, :2] = g_box[src, :2] + rng.normal(0, 0.15, (len(near), 2)) * g_box[src, 2:]
    score = rng.random(n_det)
    if rng.random() < 0.5:
        score = np.round(score * 4) / 4
    det = {"image_id": d_img.astype(np.int64), "category_id": d_cat.astype(np.int64),
           "bbox": d_box, "score": score}
    gt = {"image_id": g_img.astype(np.int64), "category_id": g_cat.astype(np.int64),
          "bbox": g_box, "iscrowd": rng.random(n_gt) < 0.15}
    return det, gt, int(rng.integers(1, 20))


@pytest.mark.parametrize("seed", range(3))
def test_reference_matches_pycocotools(seed):
    rng = np.random.default_rng(seed)
    for i in range(60):
        det, gt, max_dets = random_set(rng)
        thr = COCO_THRESHOLDS if i % 3 else np.sort(rng.uniform(0.05, 0.95, 3))
        truth = graders().coco_evaluate(det, gt, thr, max_dets)
        got = ref().average_precision(det, gt, thr, max_dets)
        _same(got, truth, f"set {i}")
        assert got["category_ids"].dtype == np.int64 and got["ap"].dtype == np.float64
        assert type(got["mean_ap"]) is float


@pytest.mark.parametrize("reason", SLOW)
def test_slow_solutions_are_exact(reason):
    """The slow rejected solutions are slow, not wrong."""
    slow = load_solution(EX_ID, reason)
    rng = np.random.default_rng(11)
    for i in range(40):
        det, gt, max_dets = random_set(rng)
        want = ref().average_precision(det, gt, COCO_THRESHOLDS, max_dets)
        got = slow.average_precision(det, gt, COCO_THRESHOLDS, max_dets)
        np.testing.assert_array_equal(got["category_ids"], want["category_ids"])
        np.testing.assert_allclose(got["ap"], want["ap"], rtol=0, atol=1e-12, err_msg=str(i))
        assert abs(got["mean_ap"] - want["mean_ap"]) <= 1e-12


def _arrays(det_rows, gt_rows):
    det = {"image_id": np.array([r[0] for r in det_rows], np.int64),
           "category_id": np.array([r[1] for r in det_rows], np.int64),
           "bbox": np.array([r[2] for r in det_rows], np.float64).reshape(-1, 4),
           "score": np.array([r[3] for r in det_rows], np.float64)}
    gt = {"image_id": np.array([r[0] for r in gt_rows], np.int64),
          "category_id": np.array([r[1] for r in gt_rows], np.int64),
          "bbox": np.array([r[2] for r in gt_rows], np.float64).reshape(-1, 4),
          "iscrowd": np.array([r[3] for r in gt_rows], bool)}
    return det, gt


def test_empty_inputs_and_one_sided_classes():
    box = [0.0, 0.0, 10.0, 10.0]
    for det_rows, gt_rows, ids, ap in [
            ([], [], [], np.zeros((0, 2))),
            ([(1, 3, box, 0.5)], [], [3], [[-1.0, -1.0]]),
            ([], [(2, 4, box, False)], [4], [[0.0, 0.0]]),
            ([(1, 3, box, 0.5)], [(2, 4, box, False)], [3, 4], [[-1.0, -1.0], [0.0, 0.0]]),
            ([(1, 5, box, 0.5)], [(1, 5, [0, 0, 20, 20], True)], [5], [[-1.0, -1.0]])]:
        det, gt = _arrays(det_rows, gt_rows)
        got = ref().average_precision(det, gt, np.array([0.5, 0.75]), 100)
        assert got["category_ids"].tolist() == ids
        np.testing.assert_array_equal(got["ap"], np.asarray(ap, dtype=np.float64).reshape(-1, 2))
        _same(got, graders().coco_evaluate(det, gt, np.array([0.5, 0.75]), 100), str(ids))


def test_prompt_example():
    public = EX.public_dir / "checks.py"
    ns: dict = {}
    exec(compile(public.read_text(), str(public), "exec"), ns)
    det, gt = ns["EXAMPLE"]
    got = ref().average_precision(det, gt, np.array([0.5, 0.75]), 100)
    assert got["category_ids"].tolist() == [1, 2, 3]
    np.testing.assert_allclose(got["ap"], [[(34 + 67 * 0.75) / 101, (34 + 33 * 2 / 3) / 101],
                                           [1, 1], [-1, -1]], rtol=0, atol=1e-15)
    assert got["mean_ap"] == 0.8471534653465347
    _same(got, graders().coco_evaluate(det, gt, np.array([0.5, 0.75]), 100), "example")
    assert "0.8471534653465347" in (EX.public_dir / "prompt.md").read_text()


def test_recall_levels_claim():
    """The prompt: linspace differs from arange(101) / 100 (0.35000000000000003 vs 0.35), and
    a recall of exactly 7/20 reaches one but not the other."""
    lin, ar = np.linspace(0.0, 1.0, 101), np.arange(101) / 100
    assert (lin != ar).sum() == 10 and repr(float(lin[35])) == "0.35000000000000003"
    assert 7 / 20 >= ar[35] and 7 / 20 < lin[35]


# ------------------------------------------------------------------------ the oracle


def test_max_dets_keep_cuts_per_image_in_ranking_order():
    det, _ = _arrays([(1, 1, [0, 0, 1, 1], 0.5), (2, 1, [0, 0, 1, 1], 0.9),
                      (1, 2, [0, 0, 1, 1], 0.5), (1, 1, [0, 0, 1, 1], 0.7),
                      (1, 3, [0, 0, 1, 1], 0.1)], [])
    np.testing.assert_array_equal(graders().max_dets_keep(det, 2), [True, True, False, True,
                                                                     False])
    assert graders().max_dets_keep(det, 100).all()


def test_coco_evaluate_statuses():
    """Per-detection statuses: the prompt's example at [0.5, 0.75] (TP, duplicate FP, TP,
    absorbed by the crowd region, TP then FP), and a max_dets cut."""
    public = EX.public_dir / "checks.py"
    ns: dict = {}
    exec(compile(public.read_text(), str(public), "exec"), ns)
    det, gt = ns["EXAMPLE"]
    truth = graders().coco_evaluate(det, gt, np.array([0.5, 0.75]), 100)
    np.testing.assert_array_equal(truth.status, [[1, 1], [0, 0], [1, 1], [-1, -1], [1, 0],
                                                 [1, 1], [0, 0]])
    np.testing.assert_array_equal(truth.matched[:, 0], [0, -1, 3, -1, 1, 4, -1])
    cut = graders().coco_evaluate(det, gt, np.array([0.5]), 2)
    assert cut.status[:, 0].tolist() == [1, 0, 1, -2, -2, 1, -2]


# ------------------------------------------------------------------------ twins and data


def _truth(case, det=None, gt=None, thr=None):
    g = graders()
    return g.coco_evaluate(case.det if det is None else det, case.gt if gt is None else gt,
                           case.thr if thr is None else thr, case.max_dets)


def _rows(truth, cats):
    return truth.ap[np.searchsorted(truth.category_ids, cats)]


@pytest.mark.parametrize("builder", ["best_iou_cases", "duplicate_cases", "crowd_cases"])
def test_matched_twins_keep_pycocotools_ap(builder):
    g = graders()
    for case in getattr(g, builder)(np.random.default_rng(5)):
        truth = _truth(case)
        cats = g._categories(case)
        for t in range(len(case.thr)):
            det, gt = g.matched_twin(case, truth, t)
            twin = _truth(case, det, gt, case.thr[t:t + 1])
            np.testing.assert_allclose(_rows(twin, cats)[:, 0], _rows(truth, cats)[:, t],
                                       rtol=0, atol=1e-12, err_msg=f"{case.name} t={t}")
            assert set(twin.status[:, 0].tolist()) <= {0, 1}  # nothing left to decide


@pytest.mark.parametrize(("builder", "twin"), [("max_dets_cases", "cut_twin"),
                                               ("tie_cases", "tie_twin"),
                                               ("lonely_cases", "lonely_twin")])
def test_twins_keep_pycocotools_ap(builder, twin):
    g = graders()
    for case in getattr(g, builder)(np.random.default_rng(6)):
        cats = g._categories(case)
        det, gt = getattr(g, twin)(case)
        np.testing.assert_allclose(_rows(_truth(case, det, gt), cats), _rows(_truth(case), cats),
                                   rtol=0, atol=1e-12, err_msg=case.name)


def test_rule_sets_exercise_their_rule():
    """The trap of each rule check is there: ties across images, images over max_dets
    (no class of an image over it), images with one side only, crowd regions absorbing
    detections, duplicates, detections overlapping two objects at IoU >= 0.5."""
    g = graders()
    rng = np.random.default_rng(7)
    for case in g.tie_cases(rng):
        score, img = case.det["score"], case.det["image_id"]
        assert any(len(np.unique(img[score == s])) > 1 for s in np.unique(score))
    for case in g.max_dets_cases(rng):
        _, per_image = np.unique(case.det["image_id"], return_counts=True)
        assert per_image.max() > case.max_dets
        groups = case.det["image_id"] * 1000 + case.det["category_id"]
        assert np.unique(groups, return_counts=True)[1].max() <= case.max_dets
    lonely = g.lonely_cases(rng)
    assert all(not np.isin(c.det["image_id"], c.gt["image_id"]).all() for c in lonely)
    assert sum(not np.isin(c.gt["image_id"], c.det["image_id"]).all() for c in lonely) >= 3
    for builder, status in [("crowd_cases", -1), ("duplicate_cases", 0)]:
        for case in getattr(g, builder)(rng):
            assert (_truth(case).status == status).any()
    for case in g.best_iou_cases(rng):
        assert (case.gt["iscrowd"] == 0).all()


def _easy(case) -> None:
    """The easy cases every set keeps to apart from its own rule (graders' docstring)."""
    det, gt = case.det, case.gt
    assert len(np.unique(det["score"])) == len(det["score"]), case.name
    assert np.unique(det["image_id"], return_counts=True)[1].max() <= case.max_dets
    assert not gt["iscrowd"].any()
    assert set(det["image_id"].tolist()) == set(gt["image_id"].tolist())
    g = graders()
    for i in range(len(det["score"])):  # each detection overlaps one object at most
        same = np.flatnonzero((gt["image_id"] == det["image_id"][i])
                              & (gt["category_id"] == det["category_id"][i]))
        ious = np.array([g.iou_xywh(det["bbox"][i], gt["bbox"][j]) for j in same])
        assert (ious >= 0.45).sum() <= 1, case.name
        for t in COCO_THRESHOLDS:
            assert not (np.abs(ious - t) < 0.015).any(), (case.name, ious)


@pytest.mark.parametrize("builder", ["interpolation_cases", "envelope_cases", "tie_cases",
                                     "max_dets_cases"])
def test_sets_keep_to_the_easy_cases(builder):
    for case in getattr(graders(), builder)(np.random.default_rng(8)):
        if builder == "tie_cases":
            case.det["score"] = graders().tie_twin(case)[0]["score"]
        if builder == "max_dets_cases":
            case.det = graders().cut_twin(case)[0]
        _easy(case)


def test_curve_patterns():
    g = graders()
    rng = np.random.default_rng(9)
    for _ in range(200):
        tps = int(rng.integers(1, 60))
        falling = g.falling_pattern(rng, tps, int(rng.integers(0, 5)))
        hits = np.cumsum([c == "T" for c in falling])
        at_tp = (hits / np.arange(1, len(falling) + 1))[[c == "T" for c in falling]]
        assert falling[0] == "T" and (np.diff(at_tp) <= 1e-12).all()
        fps = int(rng.integers(1, 60))
        rising = g.rising_pattern(rng, tps, fps, int(rng.integers(0, 5)))
        body = rising[:rising.rindex("T") + 1]
        assert body.count("T") == tps and rising[0] == "F"
        prec = np.cumsum([c == "T" for c in body]) / np.arange(1, len(body) + 1)
        assert prec[-1] >= prec.max() - 1e-12


def test_detector_output_is_a_clean_split():
    det, gt = graders().detector_output(np.random.default_rng(10))
    _, per_image = np.unique(det["image_id"], return_counts=True)
    assert len(per_image) == 200 and (per_image == 100).all()
    assert len(np.unique(det["score"])) == len(det["score"])
    assert not gt["iscrowd"].any() and len(np.unique(gt["category_id"])) == 10
    assert set(np.unique(det["category_id"])) <= set(np.unique(gt["category_id"]))


def test_rejected_solutions_pass_the_timing_comparison():
    """Only the latency check's own rule fails it: every rejected solution's output on the
    timed splits stays within its tolerance of the reference's."""
    g = graders()
    rng = np.random.default_rng(12)
    splits = [g.detector_output(rng) for _ in range(2)]
    wants = [ref().average_precision(d, t, COCO_THRESHOLDS, 100) for d, t in splits]
    for reason in REJECTED:
        if reason in SLOW:
            continue
        solution = load_solution(EX_ID, reason)
        for (d, t), want in zip(splits, wants, strict=True):
            g._plausible(solution.average_precision(d, t, COCO_THRESHOLDS, 100), want)
    bad = dict(wants[0], ap=np.clip(wants[0]["ap"] + 0.2, None, 1.0))
    with pytest.raises(AssertionError):
        g._plausible(bad, wants[0])


# ------------------------------------------------------------------------ calibration set


def test_the_named_mistakes_are_rejected_for_checks_that_exist():
    assert_rejects_name_real_checks(EX, {"eleven_point", "no_envelope",
                                         "ground_truth_matched_twice", "ties_by_input_position",
                                         "max_dets_per_class", "crowd_as_false_positive",
                                         "per_detection_loop"})


@pytest.mark.parametrize("solution", ["accepted/reference", *(f"rejected/{r}" for r in REJECTED)])
def test_correctness_verdicts_match_expect_toml(solution):
    assert_correctness_as_declared(EX, solution)


def test_starter_fails_every_public_check():
    public = {d.id for d in check_defs(EX) if not d.hidden}
    failed = correctness_failures(EX, EX.starter,
                                  solution_source(EX_ID, "accepted/reference.py"))
    assert public <= failed


def test_contract_ledger():
    """Each clause names a real check (or none, with a note); each rejected solution breaks
    one clause and fails exactly that clause's check."""
    ledger = tomllib.loads((SOLUTIONS / "contract.toml").read_text())["clause"]
    checks = {d.id for d in check_defs(EX)}
    ids = [c["id"] for c in ledger]
    assert len(ids) == len(set(ids))
    listed = []
    for clause in ledger:
        reason = clause.get("note") or clause.get("foundational")
        assert clause["text"] and (clause["check"] in checks or (not clause["check"] and reason))
        if not clause["rejected"]:
            assert reason, clause["id"]
        for reason in clause["rejected"]:
            assert declared_failures(EX, f"rejected/{reason}") == {clause["check"]}, reason
            listed.append(reason)
    assert sorted(listed) == REJECTED  # every rejected solution, once
    assert checks <= {c["check"] for c in ledger}  # every check owns a clause


def test_solutions_are_standalone_numpy():
    for solution in ["accepted/reference.py", *REJECTED]:
        assert imports_of(solution_source(EX_ID, solution)) <= {"__future__", "numpy"}, solution


def test_public_checks_do_not_need_pycocotools():
    assert "pycocotools" not in imports_of((EX.public_dir / "checks.py").read_text())
    assert imports_of(EX.starter) <= {"__future__", "numpy"}
