"""Hidden checks for conv2d: forward values and gradients against PyTorch on random layers
of many geometries (groups, dilation, odd sizes, strides larger than the kernel, batch 1,
no bias, float32 and float64), the precision bands, dtypes, and the two latency budgets.

The truth is ``torch.nn.functional.conv2d`` and its autograd, in float64, on the trusted
side only: the candidate's worker never imports torch (the exercise forbids it there).
tests/test_conv2d.py proves that the reference matches it.

One defect, one deduction: each check owns clauses of the prompt (reference_solutions/
conv2d/contract.toml lists them), and its cases keep the other clauses' usual mistakes out
of its way, so that a solution with one of them loses one check:

* only ``zero_padding_both_sides`` pads, except ``output_size_floor`` and
  ``hw_pair_arguments``, which also accept the layer that puts all its padding below and
  to the right; only ``grouped_channels`` has groups > 1; only ``output_size_floor``
  (forward) and ``grad_x_autograd`` / ``grad_w_autograd`` (backward) have sizes the stride
  does not divide; only ``hw_pair_arguments`` passes (h, w) pairs; only
  ``grad_w_autograd`` compares the weight gradient of dilated layers; only
  ``grad_b_autograd`` compares bias gradients; only the public ``forward_example`` calls
  the forward pass with b=None;
* every check but ``forward_cross_correlation`` (and the public ``backward_example``) also
  accepts the outputs of a true convolution (the kernel rotated by 180 degrees) and its
  gradients, each output on its own;
* values are compared in float64 whatever their dtype (``dtype_kept`` owns the dtype), and
  at the float32 band (1e-4) whatever the input dtype (``precision_bands`` owns the bands).

Cases run smallest first, and a failure names the smallest failing case.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from proctor.checks import check
from proctor.checks.asserts import as_array

TOL = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-4}  # the prompt's bands
BAND = 1e-4   # every check but precision_bands: wrong semantics are off by O(1), not by 1e-4
FLOOR = 1e-3  # a value's allowance is never below 1/1000 of its array's largest S
OUTPUTS = ("out", "grad_x", "grad_w", "grad_b")

# ------------------------------------------------------------------------ the torch truth


@functools.cache
def _torch() -> Any:
    import torch

    torch.set_num_threads(1)  # tiny layers; threads would only compete with the workers
    return torch


def _pair(v: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _layer_outputs(x, w, b, stride, padding, dilation, groups, grad_out,
                   defects: tuple[str, ...]) -> dict:
    """The layer's output and (given ``grad_out``) its gradients, by torch in float64.

    ``defects`` makes it another layer: "flip" rotates the kernel by 180 degrees (a true
    convolution; autograd still differentiates with respect to the unrotated ``w``),
    "one_sided" puts all 2 * padding zeros below and to the right."""
    torch = _torch()
    F = torch.nn.functional
    t = {k: None if v is None else torch.tensor(np.asarray(v, dtype=np.float64),
                                                  requires_grad=grad_out is not None)
         for k, v in (("x", x), ("w", w), ("b", b))}
    xin, win, pad = t["x"], t["w"], _pair(padding)
    if "flip" in defects:
        win = win.flip((2, 3))
    if "one_sided" in defects:
        xin, pad = F.pad(xin, (0, 2 * pad[1], 0, 2 * pad[0])), (0, 0)
    out = F.conv2d(xin, win, t["b"], _pair(stride), pad, _pair(dilation), groups)
    result = {"out": out.detach().numpy()}
    if grad_out is not None:
        out.backward(torch.tensor(np.asarray(grad_out, dtype=np.float64)))
        result["grad_x"] = t["x"].grad.numpy()
        result["grad_w"] = t["w"].grad.numpy()
        result["grad_b"] = None if b is None else t["b"].grad.numpy()
    return result


def _truth(x, w, b, stride, padding, dilation, groups, grad_out=None,
           defects: tuple[str, ...] = ()) -> dict:
    """``{name: (value, S)}``: each output and the sum of the absolute values of the terms
    of each of its values (the same layer on |x|, |w|, |b| and |grad_out|)."""
    args = (stride, padding, dilation, groups)
    value = _layer_outputs(x, w, b, *args, grad_out, defects)
    mag = _layer_outputs(np.abs(x), np.abs(w), None if b is None else np.abs(b), *args,
                         None if grad_out is None else np.abs(grad_out), defects)
    return {k: (value[k], mag[k]) for k in value if value[k] is not None}


# ------------------------------------------------------------------------ comparisons


def _close(got: Any, want: np.ndarray, scale: np.ndarray, tol: float, what: str) -> None:
    """``got`` has want's shape and every value is within tol * S of it, S being the sum of
    the absolute values of its terms, floored at FLOOR times the largest S of the array."""
    got = as_array(got, what, "f", want.shape)
    values = got.astype(np.float64)
    assert np.isfinite(values).all(), (
        f"{what} has {int((~np.isfinite(values)).sum())} non-finite values")
    bound = tol * np.maximum(scale, FLOOR * scale.max(initial=0.0))
    err = np.abs(values - want)
    bad = err > bound
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {bad.size} values are off by more than "
            f"{tol:g} x the sum of the absolute values of their terms; first at {idx}: got "
            f"{float(values[idx])!r}, expected {float(want[idx])!r} (allowed error "
            f"{bound[idx]:.3g})")


def _variants(tolerate: Iterable[str]) -> list[tuple[str, ...]]:
    """The spec first, then every combination of the tolerated defects."""
    names = sorted(tolerate)
    return [c for r in range(len(names) + 1) for c in itertools.combinations(names, r)]


def _judge(got: dict, truth_of: Callable[[tuple[str, ...]], dict], names: tuple[str, ...],
           tolerate: Iterable[str], tol: float, label: str) -> None:
    """Each ``got[name]`` must match the spec, or the layer with some of the tolerated
    defects; each output on its own (a backward pass may get grad_w right and send grad_x
    through the rotated kernel).  A mismatch reports the differences from the spec."""
    variants = _variants(tolerate)
    for name in names:
        first: AssertionError | None = None
        for defects in variants:
            try:
                _close(got[name], *truth_of(defects)[name], tol, f"{name} of {label}")
                break
            except AssertionError as exc:
                first = first or exc
        else:
            assert first is not None
            raise first


def _backward_parts(result: Any, label: str = "") -> dict:
    """The three gradients of a conv2d_backward result, by name."""
    assert isinstance(result, (list, tuple)) and len(result) == 3, (
        f"conv2d_backward{label} must return a tuple (grad_x, grad_w, grad_b), got "
        f"{type(result).__name__}"
        f"{f' of {len(result)}' if isinstance(result, (list, tuple)) else ''}")
    return dict(zip(("grad_x", "grad_w", "grad_b"), result, strict=True))


# ------------------------------------------------------------------------ cases


def _size(out: int, k: int, s: int, p: int, d: int, extra: int = 0) -> int:
    """The input size whose output size is ``out``, plus ``extra`` (< s) unused rows."""
    return (out - 1) * s + d * (k - 1) + 1 - 2 * p + extra


def _make(rng: np.random.Generator, n: int, c_in: int, c_out: int, k: tuple[int, int],
          out: tuple[int, int], stride=1, padding=0, dilation=1, groups: int = 1,
          extra: tuple[int, int] = (0, 0), bias: bool = True, dtype=np.float64,
          backward: bool = True) -> dict:
    """A random layer with output size ``out`` (``extra`` rows and columns past the last
    window): x, w, b, the arguments, grad_out, and whether to check its backward pass."""
    s, p, d = _pair(stride), _pair(padding), _pair(dilation)
    h, wd = (_size(out[i], k[i], s[i], p[i], d[i], extra[i]) for i in range(2))
    if h < 1 or wd < 1:
        raise ValueError(f"no input has output {out} with these arguments")  # a check bug
    return {
        "x": rng.normal(0, 1, (n, c_in, h, wd)).astype(dtype),
        "w": rng.normal(0, 1, (c_out, c_in // groups, *k)).astype(dtype),
        "b": rng.normal(0, 1, c_out).astype(dtype) if bias else None,
        "args": (stride, padding, dilation, groups),
        "grad_out": rng.normal(0, 1, (n, c_out, *out)).astype(dtype),
        "backward": backward,
    }


def _name(c: dict) -> str:
    s, p, d, g = c["args"]
    n, c_in, h, w = c["x"].shape
    c_out, c_g, kh, kw = c["w"].shape
    bias = "" if c["b"] is not None else ", b=None"
    return (f"{c['x'].dtype} x[{n},{c_in},{h},{w}] w[{c_out},{c_g},{kh},{kw}] stride={s} "
            f"padding={p} dilation={d} groups={g}{bias}")


def _each_case(cases: list[dict], run: Callable[[dict], None]) -> None:
    """Smallest case first; a failure names the case by its shapes and arguments (its
    arrays are random, so they are left out)."""
    for c in sorted(cases, key=lambda c: c["x"].size + c["w"].size):
        try:
            run(c)
        except AssertionError as exc:
            raise AssertionError(f"smallest failing case: {_name(c)}\n{exc}") from None


def _truth_of(c: dict, backward: bool) -> Callable[[tuple[str, ...]], dict]:
    grad_out = c["grad_out"] if backward else None
    return functools.cache(
        lambda defects: _truth(c["x"], c["w"], c["b"], *c["args"], grad_out, defects))


def _check_forward(ctx, c: dict, tolerate: Iterable[str], tol: float = BAND) -> None:
    got = {"out": ctx.candidate.conv2d_forward(c["x"], c["w"], c["b"], *c["args"])}
    _judge(got, _truth_of(c, False), ("out",), tolerate, tol, "conv2d_forward")


def _check_backward(ctx, c: dict, names: tuple[str, ...], tolerate: Iterable[str],
                    tol: float = BAND) -> dict:
    got = _backward_parts(ctx.candidate.conv2d_backward(c["grad_out"], c["x"], c["w"], c["b"],
                                                        *c["args"]))
    _judge(got, _truth_of(c, True), names, tolerate, tol, "conv2d_backward")
    return got


def _check_layer(ctx, c: dict, tolerate: Iterable[str], tol: float = BAND) -> None:
    """Forward values, then (unless the case is forward-only) grad_x and grad_w."""
    _check_forward(ctx, c, tolerate, tol)
    if c["backward"]:
        _check_backward(ctx, c, ("grad_x", "grad_w"), tolerate, tol)


# ------------------------------------------------------------------------ forward


@check(points=2)
def forward_cross_correlation(ctx):
    """Forward values against F.conv2d without padding or groups: cross-correlation (the
    kernel is not rotated), channels summed, non-square kernels and images, odd sizes,
    stride and dilation (strides larger than the kernel too), 1x1 kernels, a kernel as
    large as the image, batch 1."""
    rng = ctx.rng()
    cases = [
        _make(rng, 1, 1, 1, (2, 2), (3, 3)),
        _make(rng, 1, 1, 1, (2, 3), (2, 4)),
        _make(rng, 1, 2, 3, (3, 3), (1, 1)),
        _make(rng, 2, 3, 4, (3, 3), (4, 5), stride=2),
        _make(rng, 1, 2, 2, (2, 2), (3, 4), stride=3),
        _make(rng, 2, 3, 2, (3, 2), (5, 3), dilation=2),
        _make(rng, 3, 2, 5, (1, 1), (5, 7), stride=2),
        _make(rng, 1, 4, 3, (3, 3), (3, 3), stride=4, dilation=3),
        _make(rng, 2, 5, 7, (5, 3), (7, 9)),
        _make(rng, 4, 8, 16, (3, 3), (16, 16)),
    ]
    _each_case(cases, lambda c: _check_forward(ctx, c, ()))


@check(points=1)
def zero_padding_both_sides(ctx):
    """Zero padding on every side (padding rows above and below, columns left and right):
    forward values and the input and weight gradients (the padding's gradient dropped),
    padding from 1 to more than the kernel, with stride and dilation (dilated layers
    forward only)."""
    rng = ctx.rng()
    cases = [
        _make(rng, 1, 1, 1, (2, 2), (4, 4), padding=1),
        _make(rng, 1, 1, 2, (1, 1), (5, 5), padding=2),
        _make(rng, 2, 2, 3, (3, 3), (5, 6), padding=1),
        _make(rng, 2, 3, 2, (3, 2), (4, 5), stride=2, padding=1),
        _make(rng, 1, 2, 2, (2, 3), (3, 4), stride=3, padding=2),
        _make(rng, 2, 2, 3, (3, 3), (9, 8), padding=4),
        _make(rng, 2, 3, 4, (3, 3), (5, 5), padding=2, dilation=2, backward=False),
        _make(rng, 4, 8, 8, (3, 3), (16, 16), padding=1),
    ]
    _each_case(cases, lambda c: _check_layer(ctx, c, {"flip"}))


@check(points=2)
def grouped_channels(ctx):
    """groups > 1: the output channels of group g see only the input channels of group g;
    forward values and the input and weight gradients, from 2 groups to depthwise (groups
    = C_in, one or two output channels per input channel), with stride and dilation
    (dilated layers forward only)."""
    rng = ctx.rng()
    cases = [
        _make(rng, 1, 2, 2, (2, 2), (3, 3), groups=2),
        _make(rng, 2, 4, 6, (3, 3), (4, 5), groups=2),
        _make(rng, 1, 6, 3, (2, 3), (3, 4), groups=3),
        _make(rng, 2, 6, 12, (3, 3), (5, 4), stride=2, groups=3),
        _make(rng, 2, 5, 5, (3, 3), (6, 6), groups=5),
        _make(rng, 1, 4, 8, (3, 2), (4, 6), stride=3, groups=4),
        _make(rng, 2, 8, 4, (3, 3), (4, 4), dilation=2, groups=4, backward=False),
        _make(rng, 4, 16, 16, (3, 3), (14, 14), groups=16),
    ]
    _each_case(cases, lambda c: _check_layer(ctx, c, {"flip"}))


@check(points=1)
def output_size_floor(ctx):
    """Sizes the stride does not divide: H_out = (H + 2p - d(k - 1) - 1) // s + 1, the
    rows past the last full window unused; forward shape and values, with padding and
    dilation."""
    rng = ctx.rng()
    cases = [
        _make(rng, 1, 1, 1, (2, 2), (2, 2), stride=2, extra=(1, 1)),
        _make(rng, 1, 2, 2, (3, 3), (3, 2), stride=2, extra=(1, 0)),
        _make(rng, 2, 2, 3, (2, 3), (2, 3), stride=3, extra=(2, 1)),
        _make(rng, 1, 3, 2, (3, 3), (3, 3), stride=4, padding=1, extra=(3, 2)),
        _make(rng, 2, 2, 2, (3, 2), (3, 4), stride=2, dilation=2, extra=(0, 1)),
        _make(rng, 2, 4, 8, (3, 3), (8, 8), stride=2, padding=1, extra=(1, 1)),
    ]
    _each_case(cases, lambda c: _check_forward(ctx, c, {"flip", "one_sided"}))


@check(points=1)
def hw_pair_arguments(ctx):
    """stride, padding and dilation as (h, w) pairs, tuples and lists, with different
    values along H and W: forward values, and the input and weight gradients (undilated
    layers)."""
    rng = ctx.rng()
    cases = [
        _make(rng, 1, 1, 1, (2, 2), (3, 4), stride=(2, 1)),
        _make(rng, 1, 2, 2, (3, 2), (3, 5), padding=(0, 2)),
        _make(rng, 2, 2, 3, (2, 2), (4, 3), dilation=(1, 3), backward=False),
        _make(rng, 2, 3, 2, (3, 3), (4, 5), stride=(1, 3), padding=(2, 1), dilation=(1, 1)),
        _make(rng, 1, 2, 4, (2, 3), (3, 4), stride=[3, 2], padding=[1, 0], dilation=[2, 1],
              backward=False),
        _make(rng, 2, 4, 4, (3, 3), (6, 5), stride=[2, 1], padding=[1, 2]),
    ]
    _each_case(cases, lambda c: _check_layer(ctx, c, {"flip", "one_sided"}))


# ------------------------------------------------------------------------ backward


def _gradient_cases(rng: np.random.Generator) -> list[dict]:
    """No padding and groups=1 (their checks own them); strides larger than the kernel
    (pixels between windows), dilation, sizes the stride does not divide (rows past the
    last window), 1x1 kernels, batch 1, no bias."""
    return [
        _make(rng, 1, 1, 1, (2, 2), (3, 3)),
        _make(rng, 1, 1, 2, (2, 3), (2, 2), stride=3, extra=(2, 1)),
        _make(rng, 1, 2, 1, (1, 1), (4, 3), stride=2, extra=(1, 1), bias=False),
        _make(rng, 2, 2, 3, (3, 3), (3, 4), dilation=2),
        _make(rng, 2, 3, 2, (2, 2), (3, 3), stride=4, dilation=3, extra=(3, 0)),
        _make(rng, 1, 3, 4, (3, 2), (4, 5), stride=2, extra=(0, 1)),
        _make(rng, 3, 2, 3, (3, 3), (4, 4), stride=2, dilation=2, extra=(1, 1), bias=False),
        _make(rng, 2, 5, 7, (5, 3), (6, 7)),
        _make(rng, 4, 8, 16, (3, 3), (15, 15), stride=2, extra=(1, 1)),
    ]


@check(points=2)
def grad_x_autograd(ctx):
    """grad_x against autograd: shaped like x, 0 where no window reads (between windows,
    past the last window); strides larger than the kernel, dilation, sizes the stride does
    not divide, batch 1, no bias."""
    _each_case(_gradient_cases(ctx.rng()),
         lambda c: _check_backward(ctx, c, ("grad_x",), {"flip"}))


@check(points=2)
def grad_w_autograd(ctx):
    """grad_w against autograd (summed over the batch and the output pixels): strides
    larger than the kernel, dilation, sizes the stride does not divide, batch 1, no bias."""
    _each_case(_gradient_cases(ctx.rng()),
         lambda c: _check_backward(ctx, c, ("grad_w",), {"flip"}))


@check(points=1)
def grad_b_autograd(ctx):
    """grad_b against autograd (grad_out summed over the batch and the output pixels), at
    the precision band of its dtype: batch 1 to 5, float64 and float32."""
    rng = ctx.rng()
    cases = [
        _make(rng, 1, 1, 1, (2, 2), (2, 2)),
        _make(rng, 2, 2, 3, (3, 3), (3, 4)),
        _make(rng, 5, 2, 4, (2, 2), (4, 3), stride=2),
        _make(rng, 3, 3, 2, (3, 3), (5, 5), dtype=np.float32),
        _make(rng, 4, 8, 16, (3, 3), (8, 8), dtype=np.float32),
    ]
    _each_case(cases, lambda c: _check_backward(ctx, c, ("grad_b",), (), TOL[c["x"].dtype]))


@check(points=1)
def grad_b_none_without_bias(ctx):
    """conv2d_backward with b=None returns None for grad_b (and still the right grad_x and
    grad_w).  The forward pass without a bias is the public forward_example's."""
    rng = ctx.rng()
    cases = [
        _make(rng, 1, 1, 1, (2, 2), (2, 3), bias=False),
        _make(rng, 2, 3, 2, (3, 3), (4, 4), stride=2, bias=False),
        _make(rng, 2, 4, 8, (3, 3), (8, 8), bias=False),
    ]

    def run(c: dict) -> None:
        got = _check_backward(ctx, c, ("grad_x", "grad_w"), {"flip"})
        assert got["grad_b"] is None, (
            f"conv2d_backward with b=None must return None for grad_b, got "
            f"{type(got['grad_b']).__name__}")

    _each_case(cases, run)


# ------------------------------------------------------------------------ dtypes


@check(points=1)
def precision_bands(ctx):
    """The precision bands: out, grad_x and grad_w within 1e-4 x S for float32 inputs
    (float32 arithmetic is fine, half precision is not) and 1e-10 x S for float64 inputs
    (float64 arithmetic: a float32 computation is not), S being the sum of the absolute
    values of a value's terms."""
    rng = ctx.rng()
    cases = []
    for dt in (np.float32, np.float64):
        cases += [
            _make(rng, 1, 1, 1, (1, 1), (6, 6), dtype=dt),
            _make(rng, 2, 1, 8, (1, 1), (12, 12), dtype=dt),
            _make(rng, 2, 1, 2, (2, 2), (5, 6), dtype=dt),
            _make(rng, 2, 3, 4, (3, 3), (6, 5), stride=2, dtype=dt),
            _make(rng, 4, 8, 16, (3, 3), (12, 12), dtype=dt),
        ]
    _each_case(cases, lambda c: _check_layer(ctx, c, {"flip"}, TOL[c["x"].dtype]))


@check(points=1)
def dtype_kept(ctx):
    """Every returned array has the dtype of the inputs: float32 stays float32, float64
    stays float64 (out, grad_x, grad_w, grad_b)."""
    rng = ctx.rng()
    for dt in (np.float32, np.float64):
        c = _make(rng, 2, 3, 4, (3, 3), (4, 4), dtype=dt)
        got = {"out": ctx.candidate.conv2d_forward(c["x"], c["w"], c["b"], *c["args"]),
               **_backward_parts(ctx.candidate.conv2d_backward(
                   c["grad_out"], c["x"], c["w"], c["b"], *c["args"]))}
        for name in OUTPUTS:
            value = as_array(got[name], name, "f")
            assert value.dtype == np.dtype(dt), (
                f"{np.dtype(dt).name} inputs: {name} is {value.dtype}, expected "
                f"{np.dtype(dt).name} (the dtype of the inputs)")


# ------------------------------------------------------------------------ latency

TIMED = (2, 16, 16, 64, 3)  # images, C_in, C_out, image side, kernel side
TIMED_DTYPE = np.float32


def _timed_layer(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, w, b of the timed layer.  w is symmetric under a 180-degree rotation, so that
    the kernel's orientation (forward_cross_correlation's) does not decide a latency check."""
    n, c_in, c_out, side, k = TIMED
    w = rng.normal(0, 1, (c_out, c_in, k, k))
    return (rng.normal(0, 1, (n, c_in, side, side)).astype(TIMED_DTYPE),
            ((w + w[:, :, ::-1, ::-1]) / 2).astype(TIMED_DTYPE),
            rng.normal(0, 1, c_out).astype(TIMED_DTYPE))


def _forward_inputs(rng: np.random.Generator) -> tuple:
    return (*_timed_layer(rng), 1, 0, 1, 1)


def _backward_inputs(rng: np.random.Generator) -> tuple:
    n, _, c_out, side, k = TIMED
    grad_out = rng.normal(0, 1, (n, c_out, side - k + 1, side - k + 1)).astype(TIMED_DTYPE)
    return (grad_out, *_timed_layer(rng), 1, 0, 1, 1)


def _near(got: Any, want: Any, what: str) -> bool:
    """Same shape, values within 1e-3 of the largest |value| of the reference's.  Loose on
    purpose: the dtype and the precision bands are other checks' (dtype_kept,
    precision_bands); a fast wrong answer (a skipped tap, zeros, another input's result)
    is off by far more."""
    want = np.asarray(want, dtype=np.float64)
    got = as_array(got, what, "f", want.shape).astype(np.float64)
    return bool(np.abs(got - want).max(initial=0.0) <= 1e-3 * np.abs(want).max(initial=0.0))


def _same_forward(got: Any, want: Any) -> None:
    assert _near(got, want, "timed conv2d_forward output"), (
        "timed conv2d_forward output: values differ from the reference's")


def _same_backward(got: Any, want: Any) -> None:
    """grad_x and grad_w match the reference's (grad_w also when rotated by 180 degrees:
    the gradient of a true convolution is forward_cross_correlation's to judge); grad_b's
    values are grad_b_autograd's to judge, so only its shape counts here."""
    g, r = _backward_parts(got, " (timed)"), _backward_parts(want, " (reference)")
    assert _near(g["grad_x"], r["grad_x"], "timed grad_x"), (
        "timed grad_x: values differ from the reference's")
    grad_w = as_array(g["grad_w"], "timed grad_w", "f", np.shape(r["grad_w"]))
    assert (_near(grad_w, r["grad_w"], "timed grad_w")
            or _near(grad_w[..., ::-1, ::-1], r["grad_w"], "timed grad_w")), (
        "timed grad_w: values differ from the reference's")
    as_array(g["grad_b"], "timed grad_b", "f", np.shape(r["grad_b"]))


@check(points=1, kind="latency", budget="forward_latency")
def forward_latency(ctx):
    """The forward pass of the TIMED layer against the reference's, side by side, each
    call on fresh inputs."""
    return ctx.latency("conv2d_forward", _forward_inputs, budget="forward_latency",
                       compare=_same_forward)


@check(points=1, kind="latency", budget="backward_latency")
def backward_latency(ctx):
    """The backward pass of the TIMED layer against the reference's, side by side, each
    call on fresh inputs."""
    return ctx.latency("conv2d_backward", _backward_inputs, budget="backward_latency",
                       compare=_same_backward)
