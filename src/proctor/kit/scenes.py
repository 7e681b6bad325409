"""Deterministic synthetic scenes for the ``tracking`` and ``geometry`` exercises.

Every generator takes an integer ``seed`` and draws all randomness from one
``numpy.random.Generator`` built from it, so the same arguments always give the
same arrays (on one numpy version). Only numpy is needed.

Tracking
    :func:`tracking_sequence` -- ground-truth boxes with constant-velocity-plus-noise
    motion, objects that enter and leave, several crossings of same-size objects
    (with partial occlusion), and per-frame noisy detections (misses, false
    positives, shuffled order).  :func:`find_crossings` recovers the crossings
    from the ground truth alone.

Geometry
    :func:`triangulation_scene` -- two calibrated pinhole cameras, 3D points and
    their noisy projections; ``conditioning`` selects ordinary pixel coordinates,
    huge pixel coordinates (~1e3-1e4, large principal point) or a mixed rig.
    :func:`homography_scene` -- point correspondences related by a plane-induced
    homography, with an exact number of gross outliers.
"""

from __future__ import annotations

from proctor.kit.boxes import box_iou
from proctor.kit.crossings import find_crossings
from proctor.kit.geometry_scene import homography_scene, project, triangulation_scene
from proctor.kit.tracking_scene import tracking_sequence

__all__ = [
    "box_iou",
    "find_crossings",
    "homography_scene",
    "project",
    "tracking_sequence",
    "triangulation_scene",
]
