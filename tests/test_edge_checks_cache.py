"""exercises/_shared/edge_checks.py's speed-ups change no value: the table-lookup
preprocess equals the element-wise formula bit for bit, and the cached public split is the
generator's output, read-only, one object per process, its prefixes the smaller splits."""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest

from proctor.kit.datasets import classification

SHARED = Path(__file__).resolve().parent.parent / "exercises" / "_shared"


@pytest.fixture(scope="module")
def edge() -> types.ModuleType:
    path = SHARED / "edge_checks.py"
    module = types.ModuleType("edge_checks")
    module.__file__ = str(path)
    exec(compile(path.read_text(), str(path), "exec"), module.__dict__)
    return module


def _formula(edge: types.ModuleType, images: np.ndarray) -> np.ndarray:
    """The element-wise preprocessing the lookup table replaced."""
    p = edge.meta()["preprocess"]
    mean = np.asarray(p["mean"], dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(p["std"], dtype=np.float32).reshape(1, 3, 1, 1)
    x = np.ascontiguousarray(images.transpose(0, 3, 1, 2)).astype(np.float32) / np.float32(255)
    return np.ascontiguousarray((x - mean) / std, dtype=np.float32)


def test_lookup_preprocess_is_bit_identical(edge):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 64, 64, 3), dtype=np.uint8)
    every = np.broadcast_to(np.arange(256, dtype=np.uint8)[None, :, None, None],
                            (1, 256, 1, 3)).copy()  # every byte, in every channel
    for x in (images, every, images[:0]):
        got, want = edge.preprocess(x), _formula(edge, x)
        assert got.dtype == np.float32 and got.flags.c_contiguous
        assert got.shape == want.shape and np.array_equal(got.view(np.uint32),
                                                          want.view(np.uint32))


def test_public_split_cached_read_only_and_a_prefix(edge):
    pub = edge.meta()["public"]
    images, labels = edge.public_split()
    again, _ = edge.public_split()
    assert np.shares_memory(images, again)  # generated once
    assert not images.flags.writeable and not labels.flags.writeable
    with pytest.raises(ValueError):
        images[0, 0, 0, 0] = 1
    want_images, want_labels = classification(int(pub["n"]), int(pub["seed"]))
    assert np.array_equal(images, want_images) and np.array_equal(labels, want_labels)
    few, few_labels = edge.public_split(7)
    assert few.shape[0] == 7 and np.array_equal(few, want_images[:7])
    assert np.array_equal(few_labels, want_labels[:7]) and not few.flags.writeable
