"""Helpers for check authors: compare results as plain numpy and report the
smallest failing input.

Everything here runs on the trusted side on data that already crossed the
boundary, so ``np.asarray`` of a result can never call candidate code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np


def describe(value: Any, limit: int = 600) -> str:
    """A short, readable rendering of an input for a failure message."""
    with np.printoptions(threshold=40, edgeitems=3, precision=4, suppress=True):
        if isinstance(value, np.ndarray):
            text = f"array(shape={value.shape}, dtype={value.dtype}) {np.array2string(value)}"
        elif isinstance(value, (tuple, list)):
            text = "(" + ", ".join(describe(v, limit) for v in value) + ")"
        else:
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def size_of(args: Sequence[Any]) -> int:
    return sum(int(np.size(a)) for a in args)


def smallest_failure(cases: Iterable[tuple[str, tuple]], run: Callable[[tuple], None]) -> None:
    """Run cases smallest first; on the first failure name that case and its input."""
    for name, args in sorted(cases, key=lambda c: size_of(c[1])):
        try:
            run(args)
        except AssertionError as exc:
            raise AssertionError(
                f"smallest failing input ({name}): {describe(args)}\n{exc}"
            ) from None


def as_array(value: Any, what: str, dtype_kind: str | None = None,
             shape: tuple[int | None, ...] | None = None) -> np.ndarray:
    """Validate a returned value as an array of the expected kind and shape."""
    assert isinstance(value, np.ndarray), \
        f"{what} must be a numpy array, got {type(value).__name__}"
    if dtype_kind is not None:
        assert value.dtype.kind in dtype_kind, \
            f"{what} has dtype {value.dtype}, expected kind {dtype_kind!r}"
    if shape is not None:
        ok = value.ndim == len(shape) and all(
            s is None or s == d for s, d in zip(shape, value.shape, strict=False))
        assert ok, f"{what} has shape {value.shape}, expected {shape}"
    return value


def assert_close(got: Any, expected: np.ndarray, what: str, atol: float = 1e-6) -> None:
    got = as_array(got, what, "biuf", tuple(expected.shape))
    assert not np.isnan(got).any() or np.isnan(expected).any(), f"{what} contains NaN"
    bad = ~np.isclose(got, expected, atol=atol, rtol=1e-6, equal_nan=True)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise AssertionError(f"{what}: {int(bad.sum())} of {bad.size} values differ; "
                             f"first at {idx}: got {got[idx].item()!r}, "
                             f"expected {expected[idx].item()!r}")


def assert_equal(got: Any, expected: np.ndarray, what: str) -> None:
    got = as_array(got, what, "biu" if expected.dtype.kind in "biu" else None)
    if got.shape != expected.shape or not np.array_equal(got, expected):
        raise AssertionError(f"{what}: got {describe(got)}, expected {describe(expected)}")
