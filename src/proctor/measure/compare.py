"""What timed calls must satisfy for their time to count: fresh inputs, finished results.

A fast answer only counts if it is the reference's answer, computed before it was
returned (not a lazy handle whose work happens later, outside the clock), for an
input never seen before (memoisation must never pay).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from proctor.worker import codec


def has_handle(value: Any) -> bool:
    """Whether a decoded result holds a remote object (i.e. is not plain data)."""
    if isinstance(value, dict):
        return codec.HANDLE_KEY in value or any(has_handle(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(has_handle(v) for v in value)
    return False


def same_result(got: Any, want: Any, rtol: float = 1e-6, atol: float = 1e-9,
                where: str = "result") -> None:
    """Default comparison of a timed output with the reference's (plain data only).

    Values, not types: an int32 array equal to the reference's int64 one, a numpy scalar
    equal to a Python number, a tuple equal to a list all pass here, because a type or
    dtype defect is judged by the check that owns that clause of the prompt, not again
    by every latency check (one defect, one deduction)."""
    if isinstance(want, np.ndarray) or isinstance(got, np.ndarray):
        assert isinstance(got, np.ndarray) and isinstance(want, np.ndarray), (
            f"{where}: got {type(got).__name__}, expected {type(want).__name__}")
        assert got.shape == want.shape, f"{where}: shape {got.shape}, expected {want.shape}"
        if want.dtype.kind == "f" or got.dtype.kind == "f":
            ok = np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
        else:
            ok = np.array_equal(got, want)
        assert ok, f"{where}: values differ from the reference"
    elif isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), (
            f"{where}: keys {sorted(got) if isinstance(got, dict) else type(got).__name__}, "
            f"expected {sorted(want)}")
        for k in want:
            same_result(got[k], want[k], rtol, atol, f"{where}[{k!r}]")
    elif isinstance(want, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(want), (
            f"{where}: expected a sequence of {len(want)}")
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            same_result(g, w, rtol, atol, f"{where}[{i}]")
    elif _is_number(want) and _is_number(got):
        g, w = float(got), float(want)
        if _is_float(want) or _is_float(got):
            ok = math.isclose(g, w, rel_tol=rtol, abs_tol=atol) or (math.isnan(g)
                                                                   and math.isnan(w))
        else:
            ok = int(got) == int(want)
        assert ok, f"{where}: {got!r}, expected {want!r}"
    else:
        assert type(got) is type(want) and got == want, f"{where}: {got!r}, expected {want!r}"


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating, np.bool_))


def _is_float(v: Any) -> bool:
    return isinstance(v, (float, np.floating))


def check_outputs(function: str, block: int, got: list, want: list,
                  compare: Callable[[Any, Any], None]) -> None:
    """Fail the check unless every candidate output of a block matches the reference's."""
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        if has_handle(g) and not has_handle(w):
            raise AssertionError(
                f"{function} returned an object that is not plain data during timing "
                f"(call {i + 1} of block {block}); timed results must be computed "
                "before they are returned")
        try:
            compare(g, w)
        except AssertionError as exc:
            raise AssertionError(
                f"{function} returned a wrong result during timing (call {i + 1} of "
                f"block {block}); a fast wrong answer is not fast: {exc}"
            ) from None


def fingerprint(value: Any) -> bytes:
    """A digest of plain input data, to refuse make_args that repeat an input.

    CRC-32, not a cryptographic hash: the data are the grader's own, and a collision only
    makes the grader draw one more input (a repeat always gives the same digest), while
    hashing is on every timed call's path (blake2b took 0.56 ms for patchify's 393 KB
    input, CRC-32 0.14 ms)."""
    crc = 0

    def feed(v: Any) -> None:
        nonlocal crc
        if isinstance(v, np.ndarray):
            crc = zlib.crc32(f"a{v.dtype.str}{v.shape}".encode(), crc)
            crc = zlib.crc32(np.ascontiguousarray(v).view(np.uint8).reshape(-1).data, crc)
        elif isinstance(v, (list, tuple)):
            crc = zlib.crc32(f"l{len(v)}".encode(), crc)
            for x in v:
                feed(x)
        elif isinstance(v, dict):
            crc = zlib.crc32(f"d{len(v)}".encode(), crc)
            for k in sorted(v, key=str):
                feed(str(k))
                feed(v[k])
        else:
            crc = zlib.crc32(f"{type(v).__name__}:{v!r};".encode(), crc)

    feed(value)
    return crc.to_bytes(4, "big")
