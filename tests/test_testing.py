"""Helpers for check authors: plain-numpy comparisons and smallest failing inputs."""

from __future__ import annotations

import numpy as np
import pytest

from proctor.checks.asserts import (
    as_array,
    assert_close,
    assert_equal,
    describe,
    size_of,
    smallest_failure,
)


def test_describe_is_short_and_readable():
    assert describe(3) == "3"
    assert describe((np.zeros((2, 2)), 0.5)).startswith("(array(shape=(2, 2), dtype=float64)")
    long = describe(np.arange(10_000))
    assert len(long) <= 600 and "..." in long
    assert len(describe("x" * 5000, limit=50)) == 50


def test_size_of_counts_elements():
    assert size_of((np.zeros((3, 4)), 0.5, [1, 2])) == 12 + 1 + 2


def test_smallest_failure_names_the_smallest_failing_case():
    seen = []

    def run(args):
        seen.append(len(args[0]))
        assert len(args[0]) < 5, f"too big: {len(args[0])}"

    cases = [("big", (np.zeros(100),)), ("small", (np.zeros(1),)), ("medium", (np.zeros(7),))]
    with pytest.raises(AssertionError) as info:
        smallest_failure(cases, run)
    msg = str(info.value)
    assert seen == [1, 7]  # smallest first, stops at the first failure
    assert msg.startswith("smallest failing input (medium): (array(shape=(7,)")
    assert "too big: 7" in msg


def test_smallest_failure_passes_when_every_case_passes():
    smallest_failure([("a", (1,)), ("b", (2,))], lambda args: None)


def test_smallest_failure_does_not_swallow_other_exceptions():
    def run(args):
        raise KeyError("internal")

    with pytest.raises(KeyError):
        smallest_failure([("a", (1,))], run)


def test_as_array_validates_type_kind_and_shape():
    a = np.zeros((3, 4), dtype=np.int64)
    assert as_array(a, "x", "iu", (None, 4)) is a
    with pytest.raises(AssertionError, match="x must be a numpy array, got list"):
        as_array([1, 2], "x")
    with pytest.raises(AssertionError, match="dtype int64, expected kind 'f'"):
        as_array(a, "x", "f")
    with pytest.raises(AssertionError, match=r"shape \(3, 4\), expected \(3, 5\)"):
        as_array(a, "x", None, (3, 5))
    with pytest.raises(AssertionError, match="expected"):
        as_array(a, "x", None, (3, 4, 1))


def test_assert_close():
    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert_close(expected + 1e-9, expected, "m")
    assert_close(np.array([[1, 2], [3, 4]]), expected, "ints are fine")
    with pytest.raises(AssertionError) as info:
        assert_close(np.array([[1.0, 2.0], [3.5, 4.0]]), expected, "m")
    assert str(info.value) == "m: 1 of 4 values differ; first at (1, 0): got 3.5, expected 3.0"
    with pytest.raises(AssertionError, match="contains NaN"):
        assert_close(np.array([[np.nan, 2.0], [3.0, 4.0]]), expected, "m")
    assert_close(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), "nan where expected")
    with pytest.raises(AssertionError, match="shape"):
        assert_close(np.zeros(4), expected, "m")
    with pytest.raises(AssertionError, match="numpy array"):
        assert_close([[1.0, 2.0], [3.0, 4.0]], expected, "m")


def test_assert_equal():
    assert_equal(np.array([0, 2], dtype=np.int32), np.array([0, 2]), "idx")
    with pytest.raises(AssertionError, match="dtype float64, expected kind 'biu'"):
        assert_equal(np.array([0.0, 2.0]), np.array([0, 2]), "idx")
    with pytest.raises(AssertionError, match=r"idx: got array\(shape=\(3,\)"):
        assert_equal(np.array([0, 2, 3]), np.array([0, 2]), "idx")
    with pytest.raises(AssertionError, match="got"):
        assert_equal(np.array([2, 0]), np.array([0, 2]), "idx")
    assert_equal(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), "empty")
