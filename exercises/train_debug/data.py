"""The checks' side of train_debug's data: the starter's ``shape_crops`` (the same code, so a
candidate's edits to it cannot change what the checks feed) with a cache, and one-hot targets.

The public and hidden checks load this file once per process (their ``_data``), so crops
made for one solution are reused for the next: generating 1,100 detection images takes
seconds. numpy only: the graders never import torch.
"""

from __future__ import annotations

import numpy as np

from proctor.kit.datasets import detection

NUM_CLASSES = 3
CROP = 16

_cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}


def shape_crops(n_images: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Every object of ``detection(n_images, seed)`` as a square crop around its box (2 px
    margin), resampled to CROP x CROP by nearest neighbour: uint8 [K, CROP, CROP, 3] and
    int64 [K]. Identical to the starter's function; results are cached and read-only."""
    key = (int(n_images), int(seed))
    if key not in _cache:
        images, targets = detection(n_images, seed)
        boxes = np.concatenate([t["boxes"] for t in targets]).reshape(-1, 4)
        labels = np.concatenate([t["labels"] for t in targets]).astype(np.int64)
        owner = np.repeat(np.arange(n_images), [len(t["labels"]) for t in targets])
        centre = (boxes[:, :2] + boxes[:, 2:]) / 2
        half = (boxes[:, 2:] - boxes[:, :2]).max(axis=1) / 2 + 2
        grid = (np.arange(CROP) + 0.5) / CROP * 2 - 1
        side = images.shape[1]
        xs = np.clip(np.floor(centre[:, :1] + half[:, None] * grid), 0, side - 1).astype(np.int64)
        ys = np.clip(np.floor(centre[:, 1:] + half[:, None] * grid), 0, side - 1).astype(np.int64)
        crops = images[owner[:, None, None], ys[:, :, None], xs[:, None, :]]
        crops.setflags(write=False)
        labels.setflags(write=False)
        _cache[key] = (crops, labels)
    return _cache[key]


def one_hot(labels: np.ndarray) -> np.ndarray:
    return np.eye(NUM_CLASSES, dtype=np.float32)[labels]

