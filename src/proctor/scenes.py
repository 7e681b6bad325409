"""Deterministic synthetic scenes for the ``tracking`` and ``geometry`` exercises.

Every generator takes an integer ``seed`` and draws all randomness from one
``numpy.random.Generator`` built from it, so the same arguments always give the
same arrays (on one numpy version). Only numpy is needed.

Tracking
    :func:`tracking_sequence` -- ground-truth boxes with constant-velocity-plus-noise
    motion, objects that enter and leave, several crossings of same-size objects
    (with partial occlusion), and per-frame noisy detections (misses, false
    positives, shuffled order).

Geometry
    :func:`triangulation_scene` -- two calibrated pinhole cameras, 3D points and
    their noisy projections; ``conditioning`` selects ordinary pixel coordinates,
    huge pixel coordinates (~1e3-1e4, large principal point) or a mixed rig.
    :func:`homography_scene` -- point correspondences related by a plane-induced
    homography, with an exact number of gross outliers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "box_iou",
    "find_crossings",
    "homography_scene",
    "project",
    "tracking_sequence",
    "triangulation_scene",
]


# --------------------------------------------------------------------------- #
# Tracking                                                                     #
# --------------------------------------------------------------------------- #


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix between boxes ``a`` [N, 4] and ``b`` [M, 4] in (x1, y1, x2, y2)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def _trajectory(
    rng: np.random.Generator,
    n_frames: int,
    t_anchor: int,
    p_anchor: np.ndarray,
    v_anchor: np.ndarray,
    accel_sigma: float,
) -> np.ndarray:
    """Centre positions [n_frames, 2] with p[t_anchor] == p_anchor exactly.

    The velocity is a random walk (constant velocity plus process noise),
    integrated forwards and backwards from the anchor frame.
    """
    acc = rng.normal(0.0, accel_sigma, size=(n_frames, 2))
    vel = np.empty((n_frames, 2))
    vel[t_anchor] = v_anchor
    for t in range(t_anchor + 1, n_frames):
        vel[t] = vel[t - 1] + acc[t]
    for t in range(t_anchor - 1, -1, -1):
        vel[t] = vel[t + 1] - acc[t]
    pos = np.empty((n_frames, 2))
    pos[t_anchor] = p_anchor
    for t in range(t_anchor + 1, n_frames):
        pos[t] = pos[t - 1] + vel[t - 1]
    for t in range(t_anchor - 1, -1, -1):
        pos[t] = pos[t + 1] - vel[t]
    return pos


def _visible_run(
    centres: np.ndarray, wh: np.ndarray, size: tuple[int, int], t_anchor: int, t0: int, t1: int
) -> tuple[int, int] | None:
    """Contiguous frame range [a, b) around ``t_anchor`` (within [t0, t1)) where at
    least half of the box lies inside the image; None if not visible at the anchor."""
    W, H = size
    x1 = centres[:, 0] - wh[0] / 2
    y1 = centres[:, 1] - wh[1] / 2
    cw = np.clip(np.minimum(x1 + wh[0], W) - np.maximum(x1, 0), 0, None)
    ch = np.clip(np.minimum(y1 + wh[1], H) - np.maximum(y1, 0), 0, None)
    vis = cw * ch >= 0.5 * wh[0] * wh[1]
    if not (t0 <= t_anchor < t1) or not vis[t_anchor]:
        return None
    a = t_anchor
    while a - 1 >= t0 and vis[a - 1]:
        a -= 1
    b = t_anchor + 1
    while b < t1 and vis[b]:
        b += 1
    return a, b


def tracking_sequence(
    seed: int,
    n_frames: int = 100,
    n_objects: int = 8,
    size: tuple[int, int] = (640, 480),
    *,
    n_crossing_pairs: int | None = None,
    miss_rate: float = 0.10,
    fp_rate: float = 0.05,
    box_noise: float = 0.03,
    occlusion_miss: float = 0.5,
    speed: tuple[float, float] = (3.0, 8.0),
    accel_sigma: float = 0.12,
    min_track_len: int = 12,
) -> dict[str, Any]:
    """A synthetic multi-object tracking sequence.

    ``n_objects`` distinct objects (ground-truth ids 1..n_objects) are created.
    ``n_crossing_pairs`` pairs of them (default ``max(2, round(0.4 * n_objects))``)
    have identical box sizes and are constructed to pass through the same point
    at the same frame with headings 90-180 degrees apart; the others move freely.
    Motion is constant velocity plus a velocity random walk (``accel_sigma`` px /
    frame^2). Objects enter (at frame 0, mid-sequence, or through the border) and
    leave (through the border or mid-sequence); an object is in the ground truth
    while at least half of its box is inside the image.

    Detections per frame: every visible object is detected with probability
    ``1 - miss_rate``; where two objects overlap (IoU > 0.3), the one behind (the
    smaller bottom edge y2) is additionally missed with probability
    ``occlusion_miss``. Each detected box gets Gaussian corner noise with standard
    deviation ``box_noise`` x box width/height, and a score ~ N(0.75, 0.15)
    clipped to [0.2, 1]. False positives: Poisson(``fp_rate`` x visible objects)
    random boxes per frame with score ~ U(0.1, 0.7). Rows are shuffled.

    Returns a dict with per-frame lists (length ``n_frames``):

    - ``gt_ids``: int64 [G]; ``gt_boxes``: float64 [G, 4] (x1, y1, x2, y2, clipped)
    - ``dets``: float64 [K, 5] (x1, y1, x2, y2, score)
    - ``det_gt_ids``: int64 [K], the object each detection came from (-1 = false positive)

    and ``crossings`` (list of ``(id_a, id_b, frame)``), ``size``, ``n_frames``, ``seed``.
    """
    if n_objects < 1 or n_frames < 2:
        raise ValueError("need n_objects >= 1 and n_frames >= 2")
    rng = np.random.default_rng(seed)
    W, H = size
    min_track_len = min(min_track_len, n_frames)
    margin = min_track_len // 2 + 2
    if n_crossing_pairs is None:
        n_crossing_pairs = max(2, round(0.4 * n_objects))
    n_crossing_pairs = min(n_crossing_pairs, n_objects // 2)
    if n_frames < 2 * margin + 2:
        n_crossing_pairs = 0  # too short for a crossing with visible approach and exit

    def rand_wh() -> np.ndarray:
        w = rng.uniform(0.05, 0.11) * W
        return np.array([w, w * rng.uniform(1.0, 2.2)])

    def rand_vel() -> np.ndarray:
        ang = rng.uniform(0, 2 * math.pi)
        return rng.uniform(*speed) * np.array([math.cos(ang), math.sin(ang)])

    def lifespan(t_lo: int, t_hi: int) -> tuple[int, int]:
        # start: frame 0 (half of the time) or a random frame before t_lo;
        # end: the last frame (half of the time) or a random frame after t_hi.
        t0 = 0 if rng.random() < 0.5 else int(rng.integers(0, max(1, t_lo)))
        t1 = (
            n_frames if rng.random() < 0.5 else int(rng.integers(min(t_hi, n_frames), n_frames + 1))
        )
        return t0, t1

    objects: list[dict[str, Any]] = []  # centres [n_frames, 2], wh [2], span (a, b)
    crossings: list[tuple[int, int, int]] = []
    # Crossing pairs: spread the crossing frames over the middle of the sequence.
    slots = np.linspace(0.2, 0.8, n_crossing_pairs) if n_crossing_pairs > 1 else np.array([0.5])
    for k in range(n_crossing_pairs):
        for _attempt in range(200):
            tc = int(
                np.clip(
                    round(slots[k] * n_frames + rng.normal(0, 3)), margin, n_frames - margin - 1
                )
            )
            c = np.array([rng.uniform(0.25, 0.75) * W, rng.uniform(0.3, 0.7) * H])
            wh = rand_wh()
            v1 = rand_vel()
            turn = rng.uniform(math.radians(90), math.pi) * rng.choice([-1.0, 1.0])
            rot = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
            v2 = rot @ v1 / np.linalg.norm(v1) * rng.uniform(*speed)
            pair = []
            for v in (v1, v2):
                cen = _trajectory(rng, n_frames, tc, c, v, accel_sigma)
                t0, t1 = lifespan(tc - margin, tc + margin)
                span = _visible_run(cen, wh, size, tc, t0, t1)
                if span is None or span[0] > tc - margin or span[1] < tc + margin:
                    break
                pair.append({"centres": cen, "wh": wh.copy(), "span": span})
            if len(pair) == 2:
                objects.extend(pair)
                crossings.append((len(objects) - 1, len(objects), tc))
                break
        else:  # pragma: no cover - generation is very unlikely to fail 200 times
            raise RuntimeError("could not place a crossing pair")
    for _attempt in range(100_000):
        if len(objects) >= n_objects:
            break
        ta = int(rng.integers(0, max(1, n_frames - min_track_len)))
        p = np.array([rng.uniform(0.1, 0.9) * W, rng.uniform(0.1, 0.9) * H])
        wh = rand_wh()
        cen = _trajectory(rng, n_frames, ta, p, rand_vel(), accel_sigma)
        t0 = 0 if rng.random() < 0.5 else ta
        t1 = n_frames if rng.random() < 0.5 else int(rng.integers(ta + min_track_len, n_frames + 1))
        span = _visible_run(cen, wh, size, ta, t0, max(t1, ta + 1))
        if span is None or span[1] - span[0] < min_track_len:
            continue
        objects.append({"centres": cen, "wh": wh, "span": span})
    if len(objects) < n_objects:  # pragma: no cover
        raise RuntimeError("could not place the free-moving objects")

    # Scale jitter (boxes breathe a little); shared within a crossing pair so the
    # two objects stay the same size.
    for k, obj in enumerate(objects):
        if k % 2 == 1 and k < 2 * len(crossings):
            obj["scale"] = objects[k - 1]["scale"]
        else:
            obj["scale"] = np.exp(np.cumsum(rng.normal(0, 0.004, n_frames)))

    out: dict[str, Any] = {
        "gt_ids": [],
        "gt_boxes": [],
        "dets": [],
        "det_gt_ids": [],
        "crossings": crossings,
        "size": (W, H),
        "n_frames": n_frames,
        "seed": seed,
    }
    for t in range(n_frames):
        ids, boxes = [], []
        for i, obj in enumerate(objects):
            a, b = obj["span"]
            if a <= t < b:
                cx, cy = obj["centres"][t]
                w, h = obj["wh"] * obj["scale"][t]
                box = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
                box = np.clip(box, [0, 0, 0, 0], [W, H, W, H])
                ids.append(i + 1)
                boxes.append(box)
        gt_ids = np.array(ids, dtype=np.int64)
        gt_boxes = np.array(boxes, dtype=np.float64).reshape(-1, 4)

        # Which objects are detected this frame.
        detected = rng.random(len(ids)) >= miss_rate
        if len(ids) > 1:
            iou = box_iou(gt_boxes, gt_boxes)
            np.fill_diagonal(iou, 0.0)
            occ_draw = rng.random(len(ids))
            for g in range(len(ids)):
                overl = np.nonzero(iou[g] > 0.3)[0]
                # behind = some overlapping object is closer (larger bottom edge)
                if overl.size and np.any(gt_boxes[overl, 3] > gt_boxes[g, 3]):
                    if occ_draw[g] < occlusion_miss:
                        detected[g] = False
        det_rows, det_ids = [], []
        for g in np.nonzero(detected)[0]:
            x1, y1, x2, y2 = gt_boxes[g]
            w, h = x2 - x1, y2 - y1
            noisy = gt_boxes[g] + rng.normal(0, box_noise, 4) * np.array([w, h, w, h])
            noisy = _fix_box(noisy, W, H)
            score = float(np.clip(rng.normal(0.75, 0.15), 0.2, 1.0))
            det_rows.append([*noisy, score])
            det_ids.append(int(gt_ids[g]))
        n_fp = int(rng.poisson(fp_rate * max(len(ids), 1)))
        for _ in range(n_fp):
            wh = rand_wh()
            cx, cy = rng.uniform(0, W), rng.uniform(0, H)
            fp = _fix_box(
                np.array([cx - wh[0] / 2, cy - wh[1] / 2, cx + wh[0] / 2, cy + wh[1] / 2]), W, H
            )
            det_rows.append([*fp, float(rng.uniform(0.1, 0.7))])
            det_ids.append(-1)
        dets = np.array(det_rows, dtype=np.float64).reshape(-1, 5)
        det_gt = np.array(det_ids, dtype=np.int64)
        perm = rng.permutation(len(dets))
        out["gt_ids"].append(gt_ids)
        out["gt_boxes"].append(gt_boxes)
        out["dets"].append(dets[perm])
        out["det_gt_ids"].append(det_gt[perm])
    return out


def _fix_box(box: np.ndarray, W: float, H: float) -> np.ndarray:
    """Clip to the image and keep x2 > x1, y2 > y1 (at least 2 px)."""
    x1, y1, x2, y2 = np.clip(box, [0, 0, 0, 0], [W, H, W, H])
    if x2 - x1 < 2:
        x1, x2 = min(x1, W - 2), min(x1, W - 2) + 2
    if y2 - y1 < 2:
        y1, y2 = min(y1, H - 2), min(y1, H - 2) + 2
    return np.array([x1, y1, x2, y2])


def find_crossings(seq: dict[str, Any], min_iou: float = 0.3) -> list[tuple[int, int, int]]:
    """Crossings recovered from the ground truth alone.

    A crossing is a pair of same-size objects (widths and heights within 5%) whose
    boxes overlap with IoU >= ``min_iou`` and whose relative centre position
    reverses (negative dot product) between the frame just before and the frame
    just after that overlap episode (the episode around the IoU peak).
    Returns ``(id_a, id_b, frame_of_max_iou)`` with ``id_a < id_b``.
    """
    centres: dict[int, dict[int, np.ndarray]] = {}
    sizes: dict[int, dict[int, np.ndarray]] = {}
    for t, (ids, boxes) in enumerate(zip(seq["gt_ids"], seq["gt_boxes"], strict=True)):
        for i, b in zip(ids.tolist(), boxes, strict=True):
            centres.setdefault(i, {})[t] = (b[:2] + b[2:]) / 2
            sizes.setdefault(i, {})[t] = b[2:] - b[:2]
    found = []
    all_ids = sorted(centres)
    for ai, a in enumerate(all_ids):
        for b in all_ids[ai + 1 :]:
            common = sorted(set(centres[a]) & set(centres[b]))
            if len(common) < 3:
                continue
            ious = []
            for t in common:
                ia = seq["gt_ids"][t].tolist().index(a)
                ib = seq["gt_ids"][t].tolist().index(b)
                ious.append(box_iou(seq["gt_boxes"][t][ia], seq["gt_boxes"][t][ib])[0, 0])
            ious_a = np.array(ious)
            if ious_a.max() < min_iou:
                continue
            tmax = common[int(ious_a.argmax())]
            sa, sb = sizes[a][tmax], sizes[b][tmax]
            if np.any(np.abs(sa - sb) > 0.05 * np.maximum(sa, sb)):
                continue
            # the contiguous run of frames around the peak with IoU >= min_iou
            k0 = k1 = int(ious_a.argmax())
            while k0 > 0 and ious_a[k0 - 1] >= min_iou and common[k0 - 1] == common[k0] - 1:
                k0 -= 1
            while (
                k1 + 1 < len(common)
                and ious_a[k1 + 1] >= min_iou
                and common[k1 + 1] == common[k1] + 1
            ):
                k1 += 1
            if k0 == 0 or k1 == len(common) - 1:
                continue  # the overlap runs into the end of the shared lifespan
            before, after = common[k0 - 1], common[k1 + 1]
            d0 = centres[b][before] - centres[a][before]
            d1 = centres[b][after] - centres[a][after]
            if float(d0 @ d1) < 0:
                found.append((a, b, tmax))
    return found


# --------------------------------------------------------------------------- #
# Geometry                                                                     #
# --------------------------------------------------------------------------- #

# Camera intrinsics per conditioning: focal length (px), principal point (px).
# "poor": a long lens on a large sensor -- pixel coordinates ~ 7e3 - 1.1e4, far
# from the origin compared with their spread (the regime where un-normalised
# DLT design matrices are badly conditioned).
_TRI_CAMERAS = {
    "normal": (800.0, (320.0, 240.0)),
    "poor": (6000.0, (9000.0, 6750.0)),
}
# Homography images: focal length, principal point and the image region
# (x0, y0, x1, y1) in which points lie. "poor" is the "normal" view moved to
# (9000, 7000): a 640 x 480 tile of a large image (e.g. aerial) kept in
# full-image pixel coordinates -- coordinates ~1e4, spread ~5e2.
_HOMOGRAPHY_VIEWS = {
    "normal": (640.0, (320.0, 240.0), (0.0, 0.0, 640.0, 480.0)),
    "poor": (640.0, (9320.0, 7240.0), (9000.0, 7000.0, 9640.0, 7480.0)),
}


def _K(f: float, c: tuple[float, float]) -> np.ndarray:
    return np.array([[f, 0.0, c[0]], [0.0, f, c[1]], [0.0, 0.0, 1.0]])


def _look_at(centre: np.ndarray, target: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotation (world -> camera) for a camera at ``centre`` looking at ``target``
    with a small random roll."""
    z = target - centre
    z = z / np.linalg.norm(z)
    up = np.array([0.0, -1.0, 0.0])
    x = np.cross(up, z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z])
    roll = rng.normal(0, math.radians(3))
    Rz = np.array(
        [[math.cos(roll), -math.sin(roll), 0], [math.sin(roll), math.cos(roll), 0], [0, 0, 1]]
    )
    return Rz @ R


def project(P: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Project world points X [N, 3] with camera P [3, 4] to pixels [N, 2]."""
    Xh = np.hstack([X, np.ones((len(X), 1))])
    x = Xh @ P.T
    return x[:, :2] / x[:, 2:3]


def triangulation_scene(
    seed: int,
    n_points: int = 200,
    baseline: float = 1.0,
    noise_px: float = 1.0,
    conditioning: str = "normal",
) -> dict[str, Any]:
    """Two-view triangulation problem.

    Points are uniform in a box centred ~10 units in front of camera 1 (depth
    8-12, lateral +-2); camera 2 sits ``baseline`` units away (mostly sideways)
    and verges on the point cloud centre. ``conditioning``:

    - ``"normal"``: f = 800 px, principal point (320, 240): pixel coords ~ 1e2.
    - ``"poor"``: f = 6000 px, principal point (9000, 6750): pixel coords ~ 7e3-1.1e4.
    - ``"mixed"``: camera 1 normal, camera 2 poor (e.g. wide + telephoto rig).

    Additionally the world frame is offset (``"poor"``/``"mixed"``: camera 1 is
    not at the origin), and each P is multiplied by a random positive scale, as
    camera matrices are only defined up to scale.

    Image noise is i.i.d. Gaussian with ``noise_px`` standard deviation per
    coordinate. Returns ``P1, P2`` [3, 4], ``x1, x2`` [N, 2], ``X_true`` [N, 3],
    ``K1, K2``, ``scale`` (distance from camera 1 to the cloud centre; divide 3D
    errors by it) and the arguments.
    """
    if conditioning not in ("normal", "poor", "mixed"):
        raise ValueError(f"unknown conditioning {conditioning!r}")
    rng = np.random.default_rng(seed)
    f1, c1 = _TRI_CAMERAS["poor" if conditioning == "poor" else "normal"]
    f2, c2 = _TRI_CAMERAS["normal" if conditioning == "normal" else "poor"]
    lateral = 2.0  # keeps the cloud inside both fields of view
    offset = np.zeros(3) if conditioning == "normal" else rng.uniform(-50, 50, 3)
    C1 = offset
    centre = C1 + np.array([0.0, 0.0, 10.0])
    X = centre + np.column_stack(
        [
            rng.uniform(-lateral, lateral, n_points),
            rng.uniform(-0.75 * lateral, 0.75 * lateral, n_points),
            rng.uniform(-2.0, 2.0, n_points),
        ]
    )
    d = np.array([1.0, rng.normal(0, 0.1), rng.normal(0, 0.1)])
    C2 = C1 + baseline * d / np.linalg.norm(d)
    R1 = _look_at(C1, centre, rng)
    R2 = _look_at(C2, centre, rng)
    K1, K2 = _K(f1, c1), _K(f2, c2)
    P1 = K1 @ np.hstack([R1, (-R1 @ C1)[:, None]])
    P2 = K2 @ np.hstack([R2, (-R2 @ C2)[:, None]])
    P1 = P1 * rng.uniform(0.5, 2.0)
    P2 = P2 * rng.uniform(0.5, 2.0)
    x1 = project(P1, X) + rng.normal(0, noise_px, (n_points, 2))
    x2 = project(P2, X) + rng.normal(0, noise_px, (n_points, 2))
    return {
        "P1": P1,
        "P2": P2,
        "x1": x1,
        "x2": x2,
        "X_true": X,
        "K1": K1,
        "K2": K2,
        "scale": float(np.linalg.norm(centre - C1)),
        "baseline": baseline,
        "noise_px": noise_px,
        "conditioning": conditioning,
        "seed": seed,
    }


def homography_scene(
    seed: int,
    n_points: int = 300,
    outlier_ratio: float = 0.3,
    noise_px: float = 1.0,
    conditioning: str = "normal",
    *,
    min_outlier_error: float = 20.0,
) -> dict[str, Any]:
    """Point correspondences induced by a plane seen from two views, with outliers.

    H_true = K (R - t n^T / d) K^-1 for a random plane and a random relative pose
    (rotation up to ~15 degrees, translation up to ~0.3 x plane distance). ``src``
    points are uniform in the image region with their true image in image 2
    inside the region too. Exactly ``round(outlier_ratio * n_points)`` correspondences are
    outliers: their ``dst`` is uniform in the region and at least
    ``min_outlier_error`` px from the true image. Inliers get i.i.d. Gaussian
    noise (``noise_px`` per coordinate) on ``dst``. Order is shuffled.

    ``conditioning``: ``"normal"`` (points in a 640 x 480 image) or ``"poor"``
    (the same kind of view as a 640 x 480 tile at (9000, 7000) of a large image,
    in full-image pixel coordinates ~ 1e4).

    Returns ``src, dst`` [N, 2], ``H_true`` [3, 3] (H[2, 2] == 1), ``inliers``
    bool [N] (the truth), ``region`` (x0, y0, x1, y1) and the arguments.
    """
    if conditioning not in ("normal", "poor"):
        raise ValueError(f"unknown conditioning {conditioning!r}")
    if not 0.0 <= outlier_ratio < 1.0:
        raise ValueError("outlier_ratio must be in [0, 1)")
    rng = np.random.default_rng(seed)
    f, c, (x0, y0, x1, y1) = _HOMOGRAPHY_VIEWS[conditioning]
    K = _K(f, c)
    for _attempt in range(100):
        ax = rng.normal(size=3)
        ax /= np.linalg.norm(ax)
        ang = rng.uniform(math.radians(3), math.radians(15))
        Kx = np.array([[0, -ax[2], ax[1]], [ax[2], 0, -ax[0]], [-ax[1], ax[0], 0]])
        R = np.eye(3) + math.sin(ang) * Kx + (1 - math.cos(ang)) * Kx @ Kx
        n = np.array([rng.normal(0, 0.3), rng.normal(0, 0.3), -1.0])
        n /= np.linalg.norm(n)
        dist = 1.0
        t = rng.uniform(-0.3, 0.3, 3)
        Hm = K @ (R - np.outer(t, n) / dist) @ np.linalg.inv(K)
        Hm /= Hm[2, 2]
        # sample src in image 1 whose images land in image 2
        cand = np.column_stack(
            [rng.uniform(x0, x1, 20 * n_points), rng.uniform(y0, y1, 20 * n_points)]
        )
        proj = _apply_h(Hm, cand)
        ok = (
            np.isfinite(proj).all(1)
            & (proj[:, 0] >= x0)
            & (proj[:, 0] < x1)
            & (proj[:, 1] >= y0)
            & (proj[:, 1] < y1)
        )
        if ok.sum() >= n_points and ok.mean() > 0.35:
            break
    else:  # pragma: no cover
        raise RuntimeError("could not draw a homography")
    src = cand[ok][:n_points]
    true_dst = proj[ok][:n_points]
    n_out = int(round(outlier_ratio * n_points))
    inliers = np.ones(n_points, dtype=bool)
    inliers[rng.permutation(n_points)[:n_out]] = False
    dst = true_dst + rng.normal(0, noise_px, (n_points, 2))
    for i in np.nonzero(~inliers)[0]:
        while True:
            q = np.array([rng.uniform(x0, x1), rng.uniform(y0, y1)])
            if np.linalg.norm(q - true_dst[i]) >= min_outlier_error:
                dst[i] = q
                break
    return {
        "src": src,
        "dst": dst,
        "H_true": Hm,
        "inliers": inliers,
        "region": (x0, y0, x1, y1),
        "outlier_ratio": outlier_ratio,
        "noise_px": noise_px,
        "conditioning": conditioning,
        "seed": seed,
    }


def _apply_h(Hm: np.ndarray, pts: np.ndarray) -> np.ndarray:
    ph = np.hstack([pts, np.ones((len(pts), 1))]) @ Hm.T
    with np.errstate(divide="ignore", invalid="ignore"):
        return ph[:, :2] / ph[:, 2:3]
