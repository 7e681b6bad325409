"""Public checks for geometry: exact triangulation of a noise-free scene, a robust
homography on one public synthetic scene (the hidden scenes come from the same generators,
proctor.scenes.triangulation_scene and homography_scene), and the returned types.

The value checks compare values (a uint8 mask of 0s and 1s passes them); the types and the
scaling of H are judged once, by geometry_types.
"""

import numpy as np

from proctor.checks import Outcome, check
from proctor.testing import as_array


@check(points=1)
def geometry_triangulate_basic(ctx):
    """triangulate recovers the points of a noise-free two-view scene (relative error
    <= 1e-6), as [N, 3], and works for a single point."""
    from proctor.scenes import triangulation_scene

    sc = triangulation_scene(int(ctx.rng().integers(2**31)), n_points=20, noise_px=0.0)
    X = as_array(ctx.candidate.triangulate(sc["P1"], sc["P2"], sc["x1"], sc["x2"]),
                 "triangulate(...)", "f", (20, 3))
    err = np.linalg.norm(X - sc["X_true"], axis=1).max() / sc["scale"]
    assert err <= 1e-6, f"noise-free points are off by {err:.3g} x the scene's scale (need <= 1e-6)"
    X1 = as_array(ctx.candidate.triangulate(sc["P1"], sc["P2"], sc["x1"][:1], sc["x2"][:1]),
                  "triangulate(...) of one point", "f", (1, 3))
    err1 = np.linalg.norm(X1[0] - sc["X_true"][0]) / sc["scale"]
    assert err1 <= 1e-6, f"a single noise-free point is off by {err1:.3g} x the scene's scale"


@check(points=2, kind="accuracy")
def geometry_homography_basic(ctx):
    """find_homography on one public scene (300 correspondences, 30% outliers, 1 px noise,
    threshold 3 px): H [3, 3] and a mask [N]; reports the inlier recall and precision
    against the truth and the reprojection error of the true inliers.
    Passes at recall >= 0.9, precision >= 0.95 and error <= 1 px."""
    from proctor.scenes import homography_scene

    sc = homography_scene(int(ctx.rng().integers(2**31)), n_points=300, outlier_ratio=0.3)
    H, mask = ctx.candidate.find_homography(sc["src"], sc["dst"], 3.0, seed=0)
    H = as_array(H, "H", "f", (3, 3)).astype(np.float64)
    mask = as_array(mask, "mask", "biuf", (300,)) != 0
    truth = sc["inliers"]
    p = np.c_[sc["src"], np.ones(300)] @ H.T
    q = np.c_[sc["src"], np.ones(300)] @ sc["H_true"].T
    with np.errstate(divide="ignore", invalid="ignore"):
        d = p[:, :2] / p[:, 2:] - q[:, :2] / q[:, 2:]
    err = float(np.sqrt(np.mean(np.sum(d[truth] ** 2, axis=1))))
    recall = float((mask & truth).sum() / truth.sum())
    precision = float((mask & truth).sum() / max(mask.sum(), 1))
    measured = {"recall": round(recall, 4), "precision": round(precision, 4),
                "reprojection_error_px": round(err, 4) if np.isfinite(err) else None}
    text = (f"inlier recall {recall:.3f}, precision {precision:.3f}, true inliers "
            f"reprojected {err:.3g} px (RMS) from where the true H puts them")
    ok = recall >= 0.9 and precision >= 0.95 and err <= 1.0
    return Outcome("pass" if ok else "fail",
                   text + ("" if ok else " (need recall >= 0.9, precision >= 0.95, "
                                         "error <= 1 px)"), measured)


@check(points=1)
def geometry_types(ctx):
    """The returned form: triangulate gives a float64 array [N, 3]; find_homography gives
    a tuple (H, mask) with H float64 [3, 3] scaled so that H[2, 2] == 1 (to 1e-9) and mask
    a bool array [N]."""
    from proctor.scenes import homography_scene, triangulation_scene

    sc = triangulation_scene(int(ctx.rng("tri").integers(2**31)), n_points=5, noise_px=0.0)
    X = as_array(ctx.candidate.triangulate(sc["P1"], sc["P2"], sc["x1"], sc["x2"]),
                 "triangulate(...)", None, (5, 3))
    problems = [] if X.dtype == np.float64 else [f"triangulate returned {X.dtype}, "
                                                  "expected float64"]
    hs = homography_scene(int(ctx.rng("h").integers(2**31)), n_points=50, outlier_ratio=0.2)
    out = ctx.candidate.find_homography(hs["src"], hs["dst"], 3.0, seed=0)
    if not (isinstance(out, tuple) and len(out) == 2):
        problems.append(f"find_homography returned a {type(out).__name__}, expected a tuple "
                        "(H, mask)")
    else:
        H = as_array(out[0], "H", None, (3, 3))
        mask = as_array(out[1], "mask", None, (50,))
        if H.dtype != np.float64:
            problems.append(f"H is {H.dtype}, expected float64")
        elif not abs(H[2, 2] - 1.0) <= 1e-9:
            problems.append(f"H must be scaled so that H[2, 2] == 1, got {H[2, 2]!r}")
        if mask.dtype != np.bool_:
            problems.append(f"mask is {mask.dtype}, expected bool")
    assert not problems, "; ".join(problems)
