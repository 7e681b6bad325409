"""Hidden checks for geometry: contract, triangulation accuracy against the reference on
ordinary, near-degenerate and badly conditioned scenes, homography recall / precision /
accuracy against the ground truth, and latency.

Scenes come from ``proctor.scenes`` with seeds drawn from ``ctx.rng()`` (the hidden seed
and the check id).  Measurements behind the thresholds: reference_solutions/geometry/NOTES.md.
Hartley normalisation is invisible to float64 triangulation (it only reweights the DLT
rows), so the triangulation checks compare with the reference; the large-coordinate
homography scenes are where an un-normalised DLT shows.
"""

import numpy as np

from proctor.checks import Outcome, check
from proctor.checks.asserts import as_array
from proctor.kit.scenes import homography_scene, triangulation_scene

THRESHOLD_PX = 3.0
EXACT_REL_MAX = 1e-6  # noise-free triangulation: max error / scene scale
TRI_RATIO_MAX = 1.25  # noisy triangulation: RMS error <= 1.25 x the reference's
RECALL_MIN = 0.95  # mean over scenes; a correct RANSAC keeps ~0.99 at 3 px / 1 px noise
PRECISION_MIN = 0.98
ACCURACY_PX_MAX = 0.5  # mean over scenes of the RMS of H(src) - H_true(src), true inliers
MASK_DISAGREE_MAX = 0.01


def _seeds(rng, n):
    return [int(s) for s in rng.integers(0, 2**31, n)]


def _finite(x, digits=4):
    return round(float(x), digits) if np.isfinite(x) else None


# ------------------------------------------------------------------------ triangulation

def _triangulate(proxy, sc, what="triangulate"):
    n = len(sc["x1"])
    X = as_array(proxy.triangulate(sc["P1"], sc["P2"], sc["x1"], sc["x2"]), what, "f", (n, 3))
    return X.astype(np.float64)


def _rel_err(X, sc):
    return np.linalg.norm(X - sc["X_true"], axis=1) / sc["scale"]


def _rms(e):
    return float(np.sqrt(np.mean(e**2)))


def _tri_versus_reference(ctx, cases, per_case=2, n_points=500):
    """Relative RMS 3D error of the candidate and the reference on the same noisy scenes,
    pooled per case; pass when every case's ratio is <= TRI_RATIO_MAX."""
    seeds = iter(_seeds(ctx.rng(), per_case * len(cases)))
    measured, bad = {}, []
    for name, kw in cases.items():
        cand, ref = [], []
        for _ in range(per_case):
            sc = triangulation_scene(next(seeds), n_points=n_points, noise_px=1.0, **kw)
            cand.append(_rel_err(_triangulate(ctx.candidate, sc), sc))
            ref.append(_rel_err(_triangulate(ctx.reference, sc, "reference"), sc))
        c, r = _rms(np.concatenate(cand)), _rms(np.concatenate(ref))
        ratio = c / r if r > 0 else float("inf")
        measured[name] = {"rel_rms": _finite(c, 6), "reference_rel_rms": _finite(r, 6),
                          "ratio": _finite(ratio)}
        if not ratio <= TRI_RATIO_MAX:
            bad.append(f"{name}: relative RMS error {c:.4g} vs the reference's {r:.4g} "
                       f"({ratio:.2f}x)")
    text = "; ".join(f"{k}: {v['ratio']}x the reference's error" for k, v in measured.items())
    if bad:
        return Outcome("fail", f"3D error over {TRI_RATIO_MAX}x the reference's on "
                               f"{per_case * n_points} points per case: " + "; ".join(bad),
                       measured, {"kind": "accuracy", "max": TRI_RATIO_MAX,
                                  "unit": "x reference RMS error"})
    return Outcome("pass", text, measured,
                   {"kind": "accuracy", "max": TRI_RATIO_MAX, "unit": "x reference RMS error"})


# ------------------------------------------------------------------------ homography

def _homography(ctx, sc, seed, what="find_homography"):
    out = ctx.candidate.find_homography(sc["src"], sc["dst"], THRESHOLD_PX, seed=seed)
    assert isinstance(out, (tuple, list)) and len(out) == 2, f"{what} must return (H, mask)"
    n = len(sc["src"])
    # values only: the dtypes (float64 H, bool mask) are the public geometry_types' clause
    H = as_array(out[0], f"{what}: H", "f", (3, 3)).astype(np.float64)
    mask = as_array(out[1], f"{what}: mask", "biuf", (n,)) != 0
    return H, mask


def _project(H, pts):
    p = np.c_[pts, np.ones(len(pts))] @ H.T
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return p[:, :2] / p[:, 2:]


def _scores(H, mask, sc):
    """(accuracy px, recall, precision) of one result against the scene's truth."""
    truth = sc["inliers"]
    with np.errstate(invalid="ignore", over="ignore"):
        d = _project(H, sc["src"]) - _project(sc["H_true"], sc["src"])
        acc = float(np.sqrt(np.mean(np.sum(d[truth] ** 2, axis=1))))
    acc = acc if np.isfinite(acc) else float("inf")
    hit = (mask & truth).sum()
    return acc, float(hit / truth.sum()), float(hit / max(mask.sum(), 1))


def _homography_stats(ctx, conditioning, per_ratio=4, n_points=300):
    seeds = iter(_seeds(ctx.rng(), 2 * per_ratio))
    rows = []
    for ratio in (0.3, 0.5):
        for k in range(per_ratio):
            sc = homography_scene(next(seeds), n_points, ratio, 1.0, conditioning)
            rows.append(_scores(*_homography(ctx, sc, seed=k), sc))
    a = np.array(rows)
    acc = float(np.mean(a[:, 0])) if np.isfinite(a[:, 0]).all() else float("inf")
    return {"accuracy_px": acc, "recall": float(a[:, 1].mean()),
            "precision": float(a[:, 2].mean()), "min_recall": float(a[:, 1].min()),
            "worst_accuracy_px": float(a[:, 0].max()), "scenes": len(rows)}


def _rounded(stats):
    return {k: (_finite(v) if isinstance(v, float) else v) for k, v in stats.items()}


def _scene_text(s, conditioning):
    return (f"{s['scenes']} {conditioning} scenes (30% and 50% outliers): mean recall "
            f"{s['recall']:.3f}, precision {s['precision']:.3f}, true inliers reprojected "
            f"{s['accuracy_px']:.3g} px (RMS, mean over scenes) from the truth")


# ------------------------------------------------------------------------ checks

@check(points=2)
def geometry_contract(ctx):
    """triangulate works for N = 1; find_homography's mask is the set of points within the
    threshold under the returned H (disagreeing on at most 1% of the points); the same seed
    gives the same output; 4 exact points give an exact H. (The returned types and
    H[2, 2] == 1 are the public geometry_types'.)"""
    rng = ctx.rng()
    s1, s2, s3, s4 = _seeds(rng, 4)
    sc = triangulation_scene(s1, n_points=30, noise_px=1.0)
    _triangulate(ctx.candidate, sc)
    one = {k: sc[k][:1] if k in ("x1", "x2") else sc[k] for k in ("P1", "P2", "x1", "x2")}
    _triangulate(ctx.candidate, one, "triangulate of one point")

    hs = homography_scene(s2, n_points=200, outlier_ratio=0.4)
    H, mask = _homography(ctx, hs, seed=s3 % 1000)
    err = np.linalg.norm(_project(H, hs["src"]) - hs["dst"], axis=1)
    disagree = mask != (err <= THRESHOLD_PX)
    if disagree.mean() > MASK_DISAGREE_MAX:
        raise AssertionError(
            f"mask must be exactly the points with reprojection error <= threshold under the "
            f"returned H: it disagrees on {int(disagree.sum())} of {len(mask)} points (e.g. point "
            f"{int(np.argmax(disagree))}: error {err[np.argmax(disagree)]:.3f} px, mask "
            f"{bool(mask[np.argmax(disagree)])}, threshold {THRESHOLD_PX})")
    H2, mask2 = _homography(ctx, hs, seed=s3 % 1000, what="find_homography (same seed again)")
    if not (np.array_equal(H, H2) and np.array_equal(mask, mask2)):
        raise AssertionError("the same inputs and seed must give the same (H, mask)")
    # ambiguous scenes (40 points, half outliers, 3 px noise): different samples end in
    # different answers here, so only a seeded generator gives the same one twice
    for k, seed in enumerate(_seeds(rng, 3)):
        hard = homography_scene(seed, n_points=40, outlier_ratio=0.5, noise_px=3.0)
        a = _homography(ctx, hard, seed=k, what="find_homography (ambiguous scene)")
        b = _homography(ctx, hard, seed=k, what="find_homography (ambiguous scene, again)")
        if not (np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])):
            raise AssertionError(
                "the same inputs and seed must give the same (H, mask): two calls on a scene "
                "of 40 points with 50% outliers differ (draw every random number from "
                "np.random.default_rng(seed))")

    clean = homography_scene(s4, n_points=4, outlier_ratio=0.0, noise_px=0.0)
    H4, m4 = _homography(ctx, clean, seed=0, what="find_homography on 4 exact points")
    e4 = np.linalg.norm(_project(H4, clean["src"]) - clean["dst"], axis=1)
    if not (m4.all() and e4.max() <= 1e-6):
        raise AssertionError(
            f"4 exact correspondences: all must be inliers with ~0 error, got mask {m4.tolist()}, "
            f"errors {e4.tolist()}")


@check(points=1, kind="accuracy")
def geometry_triangulate_exact(ctx):
    """Noise-free scenes (ordinary pixels, pixels ~1e4, a mixed rig): every point recovered
    to 1e-6 of the scene's scale."""
    seeds = _seeds(ctx.rng(), 3)
    measured, bad = {}, []
    for seed, cond in zip(seeds, ("normal", "poor", "mixed"), strict=True):
        sc = triangulation_scene(seed, n_points=300, noise_px=0.0, conditioning=cond)
        worst = float(_rel_err(_triangulate(ctx.candidate, sc), sc).max())
        measured[cond] = float(f"{worst:.3g}") if np.isfinite(worst) else None
        if not worst <= EXACT_REL_MAX:
            bad.append(f"{cond}: max error {worst:.3g} x the scene's scale")
    budget = {"kind": "accuracy", "max": EXACT_REL_MAX, "unit": "max error / scene scale"}
    if bad:
        return Outcome("fail", f"noise-free points not recovered to {EXACT_REL_MAX:g}: "
                       + "; ".join(bad), measured, budget)
    return Outcome("pass", "max relative errors " + ", ".join(f"{k} {v:.2g}" for k, v in
                                                               measured.items()),
                   measured, budget)


@check(points=1, kind="accuracy")
def geometry_triangulate_accuracy(ctx):
    """Noisy scenes (1 px) with a normal 1:10 baseline and with a mixed rig (800 px and
    6000 px focal lengths): 3D error at most 1.25x the reference's."""
    return _tri_versus_reference(ctx, {
        "normal": dict(baseline=1.0, conditioning="normal"),
        "mixed": dict(baseline=1.0, conditioning="mixed")})


@check(points=2, kind="accuracy")
def geometry_triangulate_degenerate(ctx):
    """Near-degenerate small baselines (1:100 ordinary pixels, 1:200 pixels ~1e4): 3D error
    at most 1.25x the reference's."""
    return _tri_versus_reference(ctx, {
        "baseline_0.1": dict(baseline=0.1, conditioning="normal"),
        "baseline_0.05_large_coords": dict(baseline=0.05, conditioning="poor")})


@check(points=1, kind="accuracy")
def geometry_triangulate_conditioned(ctx):
    """Pixel coordinates ~1e4 (f = 6000 px, principal point far from 0), normal baseline:
    3D error at most 1.25x the reference's."""
    return _tri_versus_reference(ctx, {
        "large_coords": dict(baseline=1.0, conditioning="poor")})


@check(points=2, kind="accuracy")
def geometry_homography_recall(ctx):
    """Ordinary 640x480 scenes with 30% and 50% outliers: mean inlier recall >= 0.95 and
    precision >= 0.98 against the true inliers (threshold 3 px, 1 px noise)."""
    s = _homography_stats(ctx, "normal")
    ok = s["recall"] >= RECALL_MIN and s["precision"] >= PRECISION_MIN
    return Outcome("pass" if ok else "fail", _scene_text(s, "ordinary") + (
        "" if ok else f" (need recall >= {RECALL_MIN}, precision >= {PRECISION_MIN})"),
        _rounded(s), {"kind": "accuracy", "min_recall": RECALL_MIN,
                      "min_precision": PRECISION_MIN})


@check(points=2, kind="accuracy")
def geometry_homography_accuracy(ctx):
    """Ordinary scenes with 30% and 50% outliers: the true inliers mapped by H land within
    0.5 px (RMS, mean over scenes) of where the true homography puts them."""
    s = _homography_stats(ctx, "normal")
    ok = s["accuracy_px"] <= ACCURACY_PX_MAX
    return Outcome("pass" if ok else "fail", _scene_text(s, "ordinary") + (
        "" if ok else f" (need <= {ACCURACY_PX_MAX} px)"),
        _rounded(s), {"kind": "accuracy", "max": ACCURACY_PX_MAX, "unit": "px"})


@check(points=3, kind="accuracy")
def geometry_homography_poor(ctx):
    """Scenes in a 640x480 tile of a large image (pixel coordinates ~1e4), 30% and 50%
    outliers: mean accuracy <= 0.5 px and mean recall >= 0.95 (this is where the DLT needs
    Hartley normalisation)."""
    s = _homography_stats(ctx, "poor")
    ok = s["accuracy_px"] <= ACCURACY_PX_MAX and s["recall"] >= RECALL_MIN
    return Outcome("pass" if ok else "fail", _scene_text(s, "large-coordinate") + (
        "" if ok else f" (need <= {ACCURACY_PX_MAX} px and recall >= {RECALL_MIN})"),
        _rounded(s), {"kind": "accuracy", "max_px": ACCURACY_PX_MAX, "min_recall": RECALL_MIN})


# ------------------------------------------------------------------------ latency

def _make_homography(rng):
    sc = homography_scene(int(rng.integers(0, 2**31)), n_points=500, outlier_ratio=0.3)
    return sc["src"], sc["dst"], THRESHOLD_PX, int(rng.integers(0, 1000))


def _similar_homography(got, want):
    assert isinstance(got, (tuple, list)) and len(got) == 2, "find_homography must return (H, mask)"
    as_array(got[0], "H", "f", (3, 3))
    mask = as_array(got[1], "mask", "biuf", (len(want[1]),)) != 0  # dtype: geometry_types
    ref = np.asarray(want[1], dtype=bool)
    jaccard = (mask & ref).sum() / max((mask | ref).sum(), 1)
    assert jaccard >= 0.5, (f"its inlier mask overlaps the reference's by {jaccard:.2f} "
                            "(intersection over union; a correct answer is ~0.95+)")


@check(points=1, kind="latency", budget="homography_latency")
def geometry_latency_homography(ctx):
    """find_homography on 500 correspondences with 30% outliers, relative to the reference,
    on fresh scenes each call (outputs must agree with the reference's)."""
    return ctx.latency("find_homography", _make_homography, budget="homography_latency",
                       compare=_similar_homography)


def _make_triangulation(rng):
    sc = triangulation_scene(int(rng.integers(0, 2**31)), n_points=5_000, noise_px=0.0)
    return sc["P1"], sc["P2"], sc["x1"], sc["x2"]


def _same_points(got, want):
    want = np.asarray(want)
    got = as_array(got, "triangulate", "f", want.shape)
    worst = float(np.max(np.abs(got - want))) if len(want) else 0.0
    assert worst <= 1e-5, f"noise-free points differ from the reference's by up to {worst:.3g}"


@check(points=1, kind="latency", budget="triangulate_latency")
def geometry_latency_triangulate(ctx):
    """triangulate on 5,000 noise-free points, relative to the reference, on fresh scenes
    each call (outputs must match the reference's)."""
    return ctx.latency("triangulate", _make_triangulation, budget="triangulate_latency",
                       compare=_same_points)
