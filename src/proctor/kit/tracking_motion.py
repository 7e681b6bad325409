"""Where the objects of a tracking sequence are: motion, lifespans, crossing pairs and
scale jitter (the first half of :func:`proctor.kit.tracking_scene.tracking_sequence`).

Every draw comes from the sequence's one generator in a fixed order: reordering one here
changes every hidden sequence (tests/test_tracking_scene_golden.py pins them).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class Draws:
    """The sequence's one generator and the random shapes, speeds and lifespans drawn
    from it (each method draws in a fixed order)."""

    def __init__(self, rng: np.random.Generator, n_frames: int, size: tuple[int, int],
                 speed: tuple[float, float], accel_sigma: float) -> None:
        self.rng, self.n_frames, self.size = rng, n_frames, size
        self.W, self.H = size
        self.speed, self.accel_sigma = speed, accel_sigma

    def wh(self) -> np.ndarray:
        """A box size: width 5-11 % of the image, aspect 1:1 to 1:2.2 (taller)."""
        w = self.rng.uniform(0.05, 0.11) * self.W
        return np.array([w, w * self.rng.uniform(1.0, 2.2)])

    def velocity(self) -> np.ndarray:
        ang = self.rng.uniform(0, 2 * math.pi)
        return self.rng.uniform(*self.speed) * np.array([math.cos(ang), math.sin(ang)])

    def trajectory(self, t_anchor: int, p_anchor: np.ndarray, v_anchor: np.ndarray) -> np.ndarray:
        return _trajectory(self.rng, self.n_frames, t_anchor, p_anchor, v_anchor,
                           self.accel_sigma)

    def lifespan(self, t_lo: int, t_hi: int) -> tuple[int, int]:
        """start: frame 0 (half of the time) or a random frame before t_lo;
        end: the last frame (half of the time) or a random frame after t_hi."""
        n = self.n_frames
        t0 = 0 if self.rng.random() < 0.5 else int(self.rng.integers(0, max(1, t_lo)))
        t1 = n if self.rng.random() < 0.5 else int(self.rng.integers(min(t_hi, n), n + 1))
        return t0, t1


def crossing_pairs(
    draw: Draws, n_pairs: int, margin: int
) -> tuple[list[dict[str, Any]], list[tuple[int, int, int]]]:
    """Pairs of same-sized objects through one point at one frame, headings 90-180
    degrees apart, both visible ``margin`` frames either side; the crossing frames are
    spread over the middle of the sequence. Objects are dicts: centres [n_frames, 2],
    wh [2], span (a, b); crossings are (id_a, id_b, frame) with 1-based ids."""
    rng, n_frames = draw.rng, draw.n_frames
    objects: list[dict[str, Any]] = []
    crossings: list[tuple[int, int, int]] = []
    slots = np.linspace(0.2, 0.8, n_pairs) if n_pairs > 1 else np.array([0.5])
    for k in range(n_pairs):
        for _attempt in range(200):
            around = round(slots[k] * n_frames + rng.normal(0, 3))
            tc = int(np.clip(around, margin, n_frames - margin - 1))
            pair = _crossing_pair(draw, tc, margin)
            if pair is not None:
                objects.extend(pair)
                crossings.append((len(objects) - 1, len(objects), tc))
                break
        else:  # pragma: no cover - generation is very unlikely to fail 200 times
            raise RuntimeError("could not place a crossing pair")
    return objects, crossings


def _crossing_pair(draw: Draws, tc: int, margin: int) -> list[dict[str, Any]] | None:
    """One attempt at a pair crossing at frame ``tc``; None when either object is not
    visible for ``margin`` frames around it."""
    rng, W, H = draw.rng, draw.W, draw.H
    c = np.array([rng.uniform(0.25, 0.75) * W, rng.uniform(0.3, 0.7) * H])
    wh = draw.wh()
    v1 = draw.velocity()
    turn = rng.uniform(math.radians(90), math.pi) * rng.choice([-1.0, 1.0])
    rot = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
    v2 = rot @ v1 / np.linalg.norm(v1) * rng.uniform(*draw.speed)
    pair = []
    for v in (v1, v2):
        cen = draw.trajectory(tc, c, v)
        t0, t1 = draw.lifespan(tc - margin, tc + margin)
        span = _visible_run(cen, wh, draw.size, tc, t0, t1)
        if span is None or span[0] > tc - margin or span[1] < tc + margin:
            return None
        pair.append({"centres": cen, "wh": wh.copy(), "span": span})
    return pair


def free_objects(draw: Draws, n: int, min_track_len: int) -> list[dict[str, Any]]:
    """``n`` freely moving objects, each visible for at least ``min_track_len`` frames."""
    rng, W, H, n_frames = draw.rng, draw.W, draw.H, draw.n_frames
    objects: list[dict[str, Any]] = []
    for _attempt in range(100_000):
        if len(objects) >= n:
            break
        ta = int(rng.integers(0, max(1, n_frames - min_track_len)))
        p = np.array([rng.uniform(0.1, 0.9) * W, rng.uniform(0.1, 0.9) * H])
        wh = draw.wh()
        cen = draw.trajectory(ta, p, draw.velocity())
        t0 = 0 if rng.random() < 0.5 else ta
        t1 = n_frames if rng.random() < 0.5 else int(rng.integers(ta + min_track_len, n_frames + 1))
        span = _visible_run(cen, wh, draw.size, ta, t0, max(t1, ta + 1))
        if span is None or span[1] - span[0] < min_track_len:
            continue
        objects.append({"centres": cen, "wh": wh, "span": span})
    if len(objects) < n:  # pragma: no cover
        raise RuntimeError("could not place the free-moving objects")
    return objects


def breathe(draw: Draws, objects: list[dict[str, Any]], n_paired: int) -> None:
    """Scale jitter (boxes breathe a little), as ``obj["scale"]`` [n_frames]; shared
    within a crossing pair (the first ``n_paired`` objects) so both stay the same size."""
    for k, obj in enumerate(objects):
        if k % 2 == 1 and k < n_paired:
            obj["scale"] = objects[k - 1]["scale"]
        else:
            obj["scale"] = np.exp(np.cumsum(draw.rng.normal(0, 0.004, draw.n_frames)))


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
