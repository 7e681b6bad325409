"""Hidden checks for conv2d: one check per clause of the prompt (reference_solutions/conv2d/
contract.toml is the ledger), and the two latency budgets.

One defect, one deduction: a solution that breaks one clause fails that clause's check and
no other.  So each check judges only the quantity its clause decides, in one of two ways:

* **against the truth** -- ``torch.nn.functional.conv2d`` and its autograd, in float64, on
  the trusted side only (the candidate's worker never imports torch) -- on layers where no
  other clause can change that quantity: ``forward_cross_correlation`` passes a zero bias
  (the bias is the public ``forward_example``'s), no padding, groups 1, sizes the stride
  divides; ``grad_x_autograd`` has windows that do not overlap (how overlapping windows add
  up is the public ``backward_example``'s); ``grad_w_autograd`` and ``grad_b_autograd``
  compare one gradient each.  Values are compared in float64 whatever their dtype
  (``dtype_kept`` owns the dtype), within LOOSE x S (``precision_bands`` owns the bands: a
  half-precision layer is off by about 1e-3 x S, a wrong one by far more), and the gradient
  checks also accept the gradients of the kernel rotated by 180 degrees (the orientation is
  ``forward_cross_correlation``'s and ``backward_example``'s);
* **against the candidate itself**, on a twin input on which only the clause under test can
  make a difference: padding=p against padding=0 on the input padded beforehand
  (``zero_padding_both_sides``), groups=g against each group on its own
  (``grouped_channels``), an (h, w) pair against the int along the one axis where it
  matters (``hw_pair_arguments``), x cropped to the rows and columns the windows reach
  (``output_size_floor``), the same values in float64, and a sum of inputs against the sum
  of outputs (``precision_bands``: rounding is not linear, a layer is).  Any other defect is
  on both sides of the comparison and cancels.

Only ``output_size_floor`` has sizes the stride does not divide: it owns the rows and
columns past the last window, forward and backward; every other check's windows reach the
whole input.  No hidden check calls the forward pass with b=None (``forward_example`` owns
it), and only ``grad_b_none_without_bias`` looks at grad_b when b is None.  The timed
results of the latency checks need only be plausible (PLAUSIBLE).

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
LOOSE = 1e-2  # against the truth: half precision is within ~1e-3 x S, wrong semantics are not
TWIN = 1e-4   # twin comparisons: x the largest S of the quantity (float32 rounding passes)
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

    ``defects=("flip",)`` makes it a true convolution: the kernel rotated by 180 degrees
    (autograd still differentiates with respect to the unrotated ``w``)."""
    torch = _torch()
    F = torch.nn.functional
    t = {k: None if v is None else torch.tensor(np.asarray(v, dtype=np.float64),
                                                  requires_grad=grad_out is not None)
         for k, v in (("x", x), ("w", w), ("b", b))}
    win = t["w"].flip((2, 3)) if "flip" in defects else t["w"]
    out = F.conv2d(t["x"], win, t["b"], _pair(stride), _pair(padding), _pair(dilation), groups)
    result = {"out": out.detach().numpy()}
    if grad_out is not None:
        out.backward(torch.tensor(np.asarray(grad_out, dtype=np.float64)))
        result["grad_x"] = t["x"].grad.numpy()
        result["grad_w"] = t["w"].grad.numpy()
        result["grad_b"] = None if b is None else t["b"].grad.numpy()
    return result


def _magnitudes(x, w, b, stride, padding, dilation, groups, grad_out=None) -> dict:
    """``{name: S}``: for each value of each output, the sum of the absolute values of its
    terms (the same layer on |x|, |w|, |b| and |grad_out|)."""
    mag = _layer_outputs(np.abs(x), np.abs(w), None if b is None else np.abs(b), stride,
                         padding, dilation, groups,
                         None if grad_out is None else np.abs(grad_out), ())
    return {k: v for k, v in mag.items() if v is not None}


def _truth(x, w, b, stride, padding, dilation, groups, grad_out=None,
           defects: tuple[str, ...] = ()) -> dict:
    """``{name: (value, S)}``: each output and its magnitudes S."""
    args = (stride, padding, dilation, groups)
    value = _layer_outputs(x, w, b, *args, grad_out, defects)
    mag = _magnitudes(x, w, b, *args, grad_out)
    return {k: (value[k], mag[k]) for k in value if value[k] is not None}


# ------------------------------------------------------------------------ comparisons


def _values(got: Any, what: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """A returned array as finite float64 values (its dtype is dtype_kept's business)."""
    values = as_array(got, what, "f", shape).astype(np.float64)
    assert np.isfinite(values).all(), (
        f"{what} has {int((~np.isfinite(values)).sum())} non-finite values")
    return values


def _first_bad(bad: np.ndarray, got: np.ndarray, want: np.ndarray, bound: np.ndarray,
               head: str) -> None:
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise AssertionError(
            f"{head}; first at {idx}: got {float(got[idx])!r}, expected {float(want[idx])!r} "
            f"(allowed error {float(bound[idx]):.3g})")


def _close(got: Any, want: np.ndarray, scale: np.ndarray, tol: float, what: str,
           against: str = "") -> None:
    """``got`` has want's shape and every value is within tol * S of it, S being the sum of
    the absolute values of its terms, floored at FLOOR times the largest S of the array."""
    values = _values(got, what, want.shape)
    bound = tol * np.maximum(scale, FLOOR * scale.max(initial=0.0))
    bad = np.abs(values - want) > bound
    _first_bad(bad, values, want, bound,
               f"{what}: {int(bad.sum())} of {bad.size} values are off by more than {tol:g} x "
               f"the sum of the absolute values of their terms{against}")


def _same(got: Any, twin: Any, scale: np.ndarray, what: str, twin_what: str) -> None:
    """The candidate's ``got`` must equal its own ``twin`` result: the same shape, and
    values within TWIN x the largest S of the quantity (rounding passes, a defect that only
    one side has does not)."""
    values = _values(got, what)
    want = _values(twin, twin_what)
    assert values.shape == want.shape, (
        f"{what} has shape {values.shape}, but {twin_what} has shape {want.shape}")
    bound = np.full(values.shape, TWIN * float(np.max(scale, initial=0.0)))
    bad = np.abs(values - want) > bound
    _first_bad(bad, values, want, bound,
               f"{what}: {int(bad.sum())} of {bad.size} values differ from {twin_what}, "
               "which must be the same")


def _judge(got: dict, truth_of: Callable[[tuple[str, ...]], dict], names: tuple[str, ...],
           tolerate: Iterable[str], tol: float, label: str) -> None:
    """Each ``got[name]`` must match the truth, or the truth with some of the tolerated
    defects; each output on its own.  A mismatch reports the differences from the truth."""
    names_tolerated = sorted(tolerate)
    variants = [c for r in range(len(names_tolerated) + 1)
                for c in itertools.combinations(names_tolerated, r)]
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
          extra: tuple[int, int] = (0, 0), bias: str = "random", dtype=np.float64,
          backward: bool = True) -> dict:
    """A random layer with output size ``out`` (``extra`` rows and columns past the last
    window): x, w, b (``bias``: "random", "zero" or "none"), the arguments, grad_out, and
    whether to check its backward pass."""
    s, p, d = _pair(stride), _pair(padding), _pair(dilation)
    h, wd = (_size(out[i], k[i], s[i], p[i], d[i], extra[i]) for i in range(2))
    if h < 1 or wd < 1:
        raise ValueError(f"no input has output {out} with these arguments")  # a check bug
    b = {"random": rng.normal(0, 1, c_out), "zero": np.zeros(c_out), "none": None}[bias]
    return {
        "x": rng.normal(0, 1, (n, c_in, h, wd)).astype(dtype),
        "w": rng.normal(0, 1, (c_out, c_in // groups, *k)).astype(dtype),
        "b": None if b is None else b.astype(dtype),
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


def _forward(ctx, x, w, b, args) -> Any:
    return ctx.candidate.conv2d_forward(x, w, b, *args)


def _backward(ctx, grad_out, x, w, b, args) -> dict:
    return _backward_parts(ctx.candidate.conv2d_backward(grad_out, x, w, b, *args))


def _scales(c: dict) -> dict:
    """The magnitudes S of the case's outputs (of its true layer): the twin comparisons'
    scale."""
    return _magnitudes(c["x"], c["w"], c["b"], *c["args"],
                       c["grad_out"] if c["backward"] else None)


def _truth_of(c: dict, backward: bool) -> Callable[[tuple[str, ...]], dict]:
    grad_out = c["grad_out"] if backward else None
    return functools.cache(
        lambda defects: _truth(c["x"], c["w"], c["b"], *c["args"], grad_out, defects))


def _check_forward(ctx, c: dict, tolerate: Iterable[str], tol: float) -> None:
    got = {"out": _forward(ctx, c["x"], c["w"], c["b"], c["args"])}
    _judge(got, _truth_of(c, False), ("out",), tolerate, tol, "conv2d_forward")


def _check_backward(ctx, c: dict, names: tuple[str, ...], tolerate: Iterable[str],
                    tol: float) -> None:
    got = _backward(ctx, c["grad_out"], c["x"], c["w"], c["b"], c["args"])
    _judge(got, _truth_of(c, True), names, tolerate, tol, "conv2d_backward")


# ------------------------------------------------------------------------ forward


@check(points=2)
def forward_cross_correlation(ctx):
    """Forward values against F.conv2d: cross-correlation (the kernel is not rotated), taps
    dilation apart, channels summed; non-square kernels and images, odd sizes, stride and
    dilation (strides larger than the kernel too), 1x1 kernels, a kernel as large as the
    image, batch 1.  Only what the formula decides: a zero bias (the bias is the public
    forward_example's), no padding, groups 1, sizes the stride divides, float64 within LOOSE
    x S (the bands are precision_bands')."""
    rng = ctx.rng()
    cases = [
        _make(rng, 1, 1, 1, (2, 2), (3, 3), bias="zero"),
        _make(rng, 1, 1, 1, (2, 3), (2, 4), bias="zero"),
        _make(rng, 1, 2, 3, (3, 3), (1, 1), bias="zero"),
        _make(rng, 2, 3, 4, (3, 3), (4, 5), stride=2, bias="zero"),
        _make(rng, 1, 2, 2, (2, 2), (3, 4), stride=3, bias="zero"),
        _make(rng, 2, 3, 2, (3, 2), (5, 3), dilation=2, bias="zero"),
        _make(rng, 3, 2, 5, (1, 1), (5, 7), stride=2, bias="zero"),
        _make(rng, 1, 4, 3, (3, 3), (3, 3), stride=4, dilation=3, bias="zero"),
        _make(rng, 2, 3, 4, (2, 3), (4, 4), dilation=3, bias="zero"),
        _make(rng, 2, 5, 7, (5, 3), (7, 9), bias="zero"),
        _make(rng, 4, 8, 16, (3, 3), (16, 16), bias="zero"),
    ]
    _each_case(cases, lambda c: _check_forward(ctx, c, (), LOOSE))


def _zero_padded(x: np.ndarray, padding) -> np.ndarray:
    p = _pair(padding)
    return np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))


@check(points=1)
def zero_padding_both_sides(ctx):
    """Zero padding on every side, against the candidate itself: conv2d_forward(x,
    padding=p) must be its own output for x padded beforehand with p zero rows above and
    below and p zero columns left and right, with padding=0; and conv2d_backward's grad_x
    must be the crop [p:p + H, p:p + W] of its grad_x on that padded input (the padding's
    gradient dropped), grad_w the same.  Padding from 1 to more than the kernel, with stride
    and dilation; every other clause acts the same on both sides."""
    rng = ctx.rng()
    cases = [
        _make(rng, 1, 1, 1, (2, 2), (4, 4), padding=1),
        _make(rng, 1, 1, 2, (1, 1), (5, 5), padding=2),
        _make(rng, 2, 2, 3, (3, 3), (5, 6), padding=1),
        _make(rng, 2, 3, 2, (3, 2), (4, 5), stride=2, padding=1),
        _make(rng, 1, 2, 2, (2, 3), (3, 4), stride=3, padding=2),
        _make(rng, 2, 2, 3, (3, 3), (9, 8), padding=4),
        _make(rng, 2, 3, 4, (3, 3), (5, 5), padding=2, dilation=2),
        _make(rng, 4, 8, 8, (3, 3), (16, 16), padding=1),
    ]

    def run(c: dict) -> None:
        s, p, d, g = c["args"]
        x, w, b, go = c["x"], c["w"], c["b"], c["grad_out"]
        pre, unpadded = _zero_padded(x, p), (s, 0, d, g)
        scale = _scales(c)
        twin = "its output on x padded with zeros beforehand (padding=0)"
        _same(_forward(ctx, x, w, b, c["args"]), _forward(ctx, pre, w, b, unpadded),
              scale["out"], f"conv2d_forward(padding={p})", twin)
        got, on_pre = _backward(ctx, go, x, w, b, c["args"]), _backward(ctx, go, pre, w, b,
                                                                         unpadded)
        (ph, pw), (h, wd) = _pair(p), x.shape[2:]
        crop = _values(on_pre["grad_x"], "grad_x on the padded input", pre.shape)
        _same(got["grad_x"], crop[:, :, ph:ph + h, pw:pw + wd], scale["grad_x"],
              f"grad_x (padding={p})", "the crop of its grad_x on x padded beforehand")
        _same(got["grad_w"], on_pre["grad_w"], scale["grad_w"], f"grad_w (padding={p})",
              "its grad_w on x padded beforehand (padding=0)")

    _each_case(cases, run)


def _stack(parts: list, axis: int, what: str) -> np.ndarray:
    arrays = [_values(v, f"{what} of group {i}") for i, v in enumerate(parts)]
    shapes = {a.shape[:axis] + a.shape[axis + 1:] for a in arrays}
    assert len(shapes) == 1, f"{what}: the groups' results have shapes that do not fit together"
    return np.concatenate(arrays, axis=axis)


@check(points=2)
def grouped_channels(ctx):
    """groups > 1, against the candidate itself: the result with groups=g must be the
    concatenation of its results with groups=1 on each group alone (input channels
    g·Cg … g·Cg + Cg − 1, output channels and bias of group g): forward values, grad_x
    (concatenated over input channels) and grad_w (over output channels); from 2 groups to
    depthwise (groups = C_in, one or two output channels per input channel), with stride
    and dilation.  Every other clause acts the same on both sides."""
    rng = ctx.rng()
    cases = [
        _make(rng, 1, 2, 2, (2, 2), (3, 3), groups=2),
        _make(rng, 2, 4, 6, (3, 3), (4, 5), groups=2),
        _make(rng, 1, 6, 3, (2, 3), (3, 4), groups=3),
        _make(rng, 2, 6, 12, (3, 3), (5, 4), stride=2, groups=3),
        _make(rng, 2, 5, 5, (3, 3), (6, 6), groups=5),
        _make(rng, 1, 4, 8, (3, 2), (4, 6), stride=3, groups=4),
        _make(rng, 2, 8, 4, (3, 3), (4, 4), dilation=2, groups=4),
        _make(rng, 4, 16, 16, (3, 3), (14, 14), groups=16),
    ]

    def run(c: dict) -> None:
        s, p, d, g = c["args"]
        x, w, b, go = c["x"], c["w"], c["b"], c["grad_out"]
        cg, og = x.shape[1] // g, w.shape[0] // g
        ins = [np.ascontiguousarray(x[:, i * cg:(i + 1) * cg]) for i in range(g)]
        outs = [slice(i * og, (i + 1) * og) for i in range(g)]
        single, scale = (s, p, d, 1), _scales(c)
        twin = "its results with groups=1 on each group alone, concatenated"
        alone = [_forward(ctx, ins[i], w[outs[i]], b[outs[i]], single) for i in range(g)]
        _same(_forward(ctx, x, w, b, c["args"]), _stack(alone, 1, "conv2d_forward"),
              scale["out"], f"conv2d_forward(groups={g})", twin)
        got = _backward(ctx, go, x, w, b, c["args"])
        alone = [_backward(ctx, np.ascontiguousarray(go[:, outs[i]]), ins[i], w[outs[i]],
                           b[outs[i]], single) for i in range(g)]
        _same(got["grad_x"], _stack([a["grad_x"] for a in alone], 1, "grad_x"),
              scale["grad_x"], f"grad_x (groups={g})", twin)
        _same(got["grad_w"], _stack([a["grad_w"] for a in alone], 0, "grad_w"),
              scale["grad_w"], f"grad_w (groups={g})", twin)

    _each_case(cases, run)


@check(points=1)
def output_size_floor(ctx):
    """Sizes the stride does not divide: H_out = (H + 2p - d(k - 1) - 1) // s + 1 (W_out
    alike), the rows and columns past the last full window unused.  The forward output's
    shape, with padding and dilation; and, on layers without padding, against the candidate
    itself on x cropped to the rows and columns the windows reach: the same output, the same
    grad_w, the same grad_x on the cropped part and exactly 0 past it.  Every other check
    has sizes the stride divides, so this check owns the rows past the last window."""
    rng = ctx.rng()
    cases = [
        _make(rng, 1, 1, 1, (2, 2), (2, 2), stride=2, extra=(1, 1)),
        _make(rng, 1, 2, 2, (3, 3), (3, 2), stride=2, extra=(1, 0)),
        _make(rng, 2, 2, 3, (2, 3), (2, 3), stride=3, extra=(2, 1)),
        _make(rng, 1, 3, 2, (3, 3), (3, 3), stride=4, padding=1, extra=(3, 2)),
        _make(rng, 2, 2, 2, (3, 2), (3, 4), stride=2, dilation=2, extra=(0, 1)),
        _make(rng, 2, 3, 2, (2, 2), (3, 3), stride=3, padding=1, extra=(1, 2)),
        _make(rng, 1, 2, 3, (1, 1), (4, 3), stride=2, extra=(1, 1)),
        _make(rng, 2, 3, 2, (2, 2), (3, 3), stride=4, dilation=3, extra=(3, 1)),
        _make(rng, 2, 4, 8, (3, 3), (8, 8), stride=2, padding=1, extra=(1, 1)),
        _make(rng, 2, 4, 8, (3, 3), (7, 7), stride=3, extra=(2, 2)),
    ]

    def run(c: dict) -> None:
        s, p, d = (_pair(v) for v in c["args"][:3])
        x, w, b, go = c["x"], c["w"], c["b"], c["grad_out"]
        size = tuple((x.shape[2 + i] + 2 * p[i] - d[i] * (w.shape[2 + i] - 1) - 1) // s[i] + 1
                     for i in range(2))
        want = (x.shape[0], w.shape[0], *size)
        got = _values(_forward(ctx, x, w, b, c["args"]), "conv2d_forward output")
        assert got.shape == want, (
            f"conv2d_forward output has shape {got.shape}, expected {want}: H_out = (H + "
            "2·padding_h − dilation_h·(kH − 1) − 1) // stride_h + 1, W_out alike")
        if p != (0, 0):
            return  # where the windows reach in x depends on the padding (another clause)
        rh, rw = (s[i] * (size[i] - 1) + d[i] * (w.shape[2 + i] - 1) + 1 for i in range(2))
        crop, scale = np.ascontiguousarray(x[:, :, :rh, :rw]), _scales(c)
        twin = "its result on x cropped to the rows and columns the windows reach"
        _same(got, _forward(ctx, crop, w, b, c["args"]), scale["out"], "conv2d_forward", twin)
        full, small = _backward(ctx, go, x, w, b, c["args"]), _backward(ctx, go, crop, w, b,
                                                                        c["args"])
        grad_x = _values(full["grad_x"], "grad_x", x.shape)
        _same(grad_x[:, :, :rh, :rw], small["grad_x"], scale["grad_x"],
              "grad_x on the rows and columns the windows reach", twin)
        past = grad_x.copy()
        past[:, :, :rh, :rw] = 0
        assert not past.any(), (
            f"grad_x has {int(np.count_nonzero(past))} non-zero values past the last full "
            f"window (rows from {rh}, columns from {rw}): no window reads those pixels, so "
            "their gradient is exactly 0")
        _same(full["grad_w"], small["grad_w"], scale["grad_w"], "grad_w", twin)

    _each_case(cases, run)


def _axis_case(rng: np.random.Generator, axis: int, n: int, c_in: int, c_out: int, k: int,
               out: int, stride, padding, dilation) -> dict:
    """A layer that is one pixel wide (axis 0) or one pixel high (axis 1), with a kernel of
    the same: only the pair values along ``axis`` matter, except padding, whose other value
    is 0 here (the int call pads the other axis too: see hw_pair_arguments)."""
    s, p, d = _pair(stride), _pair(padding), _pair(dilation)
    assert p[1 - axis] == 0 and p[axis] % s[axis] == 0, "a check bug: see hw_pair_arguments"
    size = _size(out, k, s[axis], p[axis], d[axis])
    shape, kernel, out_shape = [1, 1], [1, 1], [1, 1]
    shape[axis], kernel[axis], out_shape[axis] = size, k, out
    return {"x": rng.normal(0, 1, (n, c_in, *shape)), "w": rng.normal(0, 1, (c_out, c_in, *kernel)),
            "b": rng.normal(0, 1, c_out), "args": (stride, padding, dilation, 1),
            "grad_out": rng.normal(0, 1, (n, c_out, *out_shape)), "backward": True,
            "axis": axis}


@check(points=1)
def hw_pair_arguments(ctx):
    """stride, padding and dilation as (h, w) pairs, tuples and lists, against the
    candidate's own int arguments: on an image one pixel wide with a kernel one pixel wide,
    the pairs (s_h, s_w), (p_h, 0), (d_h, d_w) must give what the ints s_h, p_h, d_h give
    (and the mirror image along W).  The int call also pads the one-pixel axis: the twin is
    the slice of its result where the image is, and conv2d_backward gets grad_out there and
    zeros elsewhere: index p // s, or 0 (a layer that pads on one side only, or crops the
    padding's gradient at the wrong place: zero_padding_both_sides' business), for each of
    out, grad_x and grad_w on its own."""
    rng = ctx.rng()
    cases = [
        _axis_case(rng, 0, 1, 1, 1, 2, 3, (2, 1), 0, 1),
        _axis_case(rng, 1, 1, 2, 2, 2, 4, (1, 3), 0, 1),
        _axis_case(rng, 0, 2, 2, 3, 3, 3, 1, 0, [2, 1]),
        _axis_case(rng, 1, 1, 2, 2, 2, 3, 1, 0, [1, 3]),
        _axis_case(rng, 0, 2, 3, 2, 3, 4, (1, 2), (2, 0), 1),
        _axis_case(rng, 1, 1, 2, 4, 3, 4, [2, 1], [0, 1], 1),
        _axis_case(rng, 0, 2, 2, 2, 3, 3, [2, 3], [2, 0], [2, 1]),
        _axis_case(rng, 1, 2, 4, 4, 3, 4, (3, 2), (0, 2), (1, 2)),
        _axis_case(rng, 0, 4, 8, 8, 3, 16, (2, 1), (2, 0), (1, 2)),
    ]

    def run(c: dict) -> None:
        axis, other = c["axis"], 3 - c["axis"]  # the array axis of the one-pixel side
        x, w, b, go = c["x"], c["w"], c["b"], c["grad_out"]
        s, p, d = (_pair(v)[axis] for v in c["args"][:3])
        ints, scale = (s, p, d, 1), _scales(c)
        got = _values(_forward(ctx, x, w, b, c["args"]), f"conv2d_forward{c['args'][:3]}")
        full = _values(_forward(ctx, x, w, b, ints), f"conv2d_forward{ints[:3]}")
        indices = [i for i in dict.fromkeys((p // s, 0)) if i < full.shape[other]]

        def matches(name: str, got: Any, twin_at: Callable[[int], Any]) -> int:
            """The first index whose twin ``got`` equals; the first mismatch otherwise."""
            first: AssertionError | None = None
            for i in indices:
                try:
                    _same(got, twin_at(i), scale[name],
                          f"{name} with stride, padding, dilation = {c['args'][:3]}",
                          f"its {name} with the ints {ints[:3]} (the image at index {i} of "
                          "the one-pixel axis)")
                    return i
                except AssertionError as exc:
                    first = first or exc
            raise first or AssertionError(f"conv2d_forward{ints[:3]} has shape {full.shape}")

        matches("out", got, lambda i: np.take(full, [i], axis=other))
        assert got.shape == go.shape, (
            f"conv2d_forward{c['args'][:3]} has shape {got.shape}, expected {go.shape}")
        pairs = _backward(ctx, go, x, w, b, c["args"])
        twins: dict[int, dict] = {}

        def backward_at(i: int) -> dict:  # grad_out where the image is, zeros elsewhere
            if i not in twins:
                spread = np.zeros(full.shape)
                np.put_along_axis(spread, np.full(go.shape, i), go, axis=other)
                twins[i] = _backward(ctx, spread, x, w, b, ints)
            return twins[i]

        for name in ("grad_x", "grad_w"):
            matches(name, pairs[name], lambda i, name=name: backward_at(i)[name])

    _each_case(cases, run)


# ------------------------------------------------------------------------ backward


def _gradient_cases(rng: np.random.Generator) -> list[dict]:
    """No padding and groups=1 (their checks own them), sizes the stride divides
    (output_size_floor's); overlapping windows, strides larger than the kernel (pixels
    between windows), dilation, 1x1 kernels, batch 1 to 4, no bias."""
    return [
        _make(rng, 1, 1, 1, (2, 2), (3, 3)),
        _make(rng, 1, 1, 2, (2, 3), (2, 2), stride=3),
        _make(rng, 1, 2, 1, (1, 1), (4, 3), stride=2, bias="none"),
        _make(rng, 2, 2, 3, (3, 3), (3, 4), dilation=2),
        _make(rng, 2, 3, 2, (2, 2), (3, 3), stride=4, dilation=3),
        _make(rng, 1, 3, 4, (3, 2), (4, 5), stride=2),
        _make(rng, 3, 2, 3, (3, 3), (4, 4), stride=2, dilation=2, bias="none"),
        _make(rng, 2, 5, 7, (5, 3), (6, 7)),
        _make(rng, 4, 8, 16, (3, 3), (15, 15), stride=2),
    ]


@check(points=2)
def grad_x_autograd(ctx):
    """grad_x against autograd, on layers whose windows do not overlap (the stride at least
    the dilated kernel's extent; how overlapping windows add up is the public
    backward_example's): shaped like x, exactly 0 where no window reads (between windows,
    between dilated taps), grad_out · w at the tap that read each other pixel; batch 1 to 4,
    1x1 kernels, no padding, groups 1, sizes the stride divides (the rows past the last
    window are output_size_floor's), within LOOSE x S."""
    rng = ctx.rng()
    cases = [
        _make(rng, 1, 1, 1, (2, 2), (3, 3), stride=2, bias="none"),
        _make(rng, 1, 1, 2, (2, 3), (2, 2), stride=3, bias="none"),
        _make(rng, 1, 2, 1, (1, 1), (4, 3), stride=2, bias="none"),
        _make(rng, 2, 2, 3, (3, 3), (3, 4), stride=5, dilation=2, bias="none"),
        _make(rng, 2, 3, 2, (2, 2), (3, 3), stride=4, dilation=3, bias="none"),
        _make(rng, 1, 3, 4, (3, 2), (4, 5), stride=3, bias="none"),
        _make(rng, 3, 2, 3, (3, 3), (4, 4), stride=6, dilation=2, bias="none"),
        _make(rng, 2, 5, 7, (5, 3), (4, 5), stride=5, bias="none"),
        _make(rng, 4, 8, 16, (3, 3), (10, 10), stride=3, bias="none"),
    ]
    _each_case(cases, lambda c: _check_backward(ctx, c, ("grad_x",), {"flip"}, LOOSE))


@check(points=2)
def grad_w_autograd(ctx):
    """grad_w against autograd (summed over the batch and the output pixels): overlapping
    windows, strides larger than the kernel, dilation, batch 1 to 4, within LOOSE x S."""
    _each_case(_gradient_cases(ctx.rng()),
               lambda c: _check_backward(ctx, c, ("grad_w",), {"flip"}, LOOSE))


@check(points=1)
def grad_b_autograd(ctx):
    """grad_b against autograd (grad_out summed over the batch and the output pixels):
    batch 1 to 5, float64 and float32, within LOOSE x S."""
    rng = ctx.rng()
    cases = [
        _make(rng, 1, 1, 1, (2, 2), (2, 2)),
        _make(rng, 2, 2, 3, (3, 3), (3, 4)),
        _make(rng, 5, 2, 4, (2, 2), (4, 3), stride=2),
        _make(rng, 3, 3, 2, (3, 3), (5, 5), dtype=np.float32),
        _make(rng, 4, 8, 16, (3, 3), (8, 8), dtype=np.float32),
    ]
    _each_case(cases, lambda c: _check_backward(ctx, c, ("grad_b",), (), LOOSE))


@check(points=1)
def grad_b_none_without_bias(ctx):
    """conv2d_backward with b=None returns None for grad_b (its grad_x and grad_w are the
    gradient checks').  The forward pass without a bias is the public forward_example's."""
    rng = ctx.rng()
    cases = [
        _make(rng, 1, 1, 1, (2, 2), (2, 3), bias="none"),
        _make(rng, 2, 3, 2, (3, 3), (4, 4), stride=2, bias="none"),
        _make(rng, 2, 4, 8, (3, 3), (8, 8), bias="none"),
    ]

    def run(c: dict) -> None:
        got = _backward(ctx, c["grad_out"], c["x"], c["w"], None, c["args"])
        assert got["grad_b"] is None, (
            f"conv2d_backward with b=None must return None for grad_b, got "
            f"{type(got['grad_b']).__name__}")

    _each_case(cases, run)


# ------------------------------------------------------------------------ dtypes


def _outputs(ctx, c: dict) -> dict:
    return {"out": _forward(ctx, c["x"], c["w"], c["b"], c["args"]),
            **_backward(ctx, c["grad_out"], c["x"], c["w"], c["b"], c["args"])}


def _as64(c: dict) -> dict:
    return {**c, **{k: c[k].astype(np.float64) for k in ("x", "w", "b", "grad_out")}}


def _float32_band(ctx, c: dict) -> None:
    """Float32 inputs: each value within 1e-4 x S of the candidate's own float64 result on
    the same values (float32 arithmetic passes; rounding the float32 inputs to half
    precision does not)."""
    got, own, mag = _outputs(ctx, c), _outputs(ctx, _as64(c)), _scales(c)
    for name in OUTPUTS:
        want = _values(own[name], f"{name} for the same values in float64")
        _close(got[name], want, mag[name], TOL[c["x"].dtype], f"{name} for float32 inputs",
               ", from its own float64 result on the same values")


def _split(rng: np.random.Generator, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    part = rng.normal(0, 1, v.shape)
    return part, v - part


def _float64_band(ctx, c: dict, rng: np.random.Generator) -> None:
    """Float64 inputs: the layer is linear in x, in w (the bias aside) and in grad_out, and
    exact arithmetic would keep it so; rounding does not.  So for a random split x = x1 + x2
    the output must be out(x1) + out(x2) (the bias in one of them) within 1e-10 x (S + S1 +
    S2): float64 arithmetic passes, float32 or half-precision arithmetic (whose errors do
    not add up) does not.  The same for w, and for the gradients: grad_out split (all
    three), x split (grad_w), w split (grad_x)."""
    x, w, b, go, args = c["x"], c["w"], c["b"], c["grad_out"], c["args"]
    tol, zero = TOL[x.dtype], np.zeros_like(b)

    def compare(name: str, whole: Any, halves: tuple[Any, Any], inputs: list[tuple],
                split: str) -> None:
        mags = [_magnitudes(*i[:3], *args, *i[3:])[name] for i in inputs]
        shape = mags[0].shape
        total = _values(halves[0], f"{name} of the first part", shape) + _values(
            halves[1], f"{name} of the second part", shape)
        _close(whole, total, sum(mags), tol, f"{name} for float64 inputs",
               f", from the sum of its {name} for a random split of {split} (the layer is "
               "linear in it; float64 rounding keeps that within the band)")

    x1, x2 = _split(rng, x)
    compare("out", _forward(ctx, x, w, b, args),
            (_forward(ctx, x1, w, b, args), _forward(ctx, x2, w, zero, args)),
            [(x, w, b), (x1, w, b), (x2, w, zero)], "x")
    w1, w2 = _split(rng, w)
    compare("out", _forward(ctx, x, w, b, args),
            (_forward(ctx, x, w1, b, args), _forward(ctx, x, w2, zero, args)),
            [(x, w, b), (x, w1, b), (x, w2, zero)], "w")
    whole = _backward(ctx, go, x, w, b, args)
    g1, g2 = _split(rng, go)
    halves = (_backward(ctx, g1, x, w, b, args), _backward(ctx, g2, x, w, b, args))
    for name in ("grad_x", "grad_w", "grad_b"):
        compare(name, whole[name], (halves[0][name], halves[1][name]),
                [(x, w, b, go), (x, w, b, g1), (x, w, b, g2)], "grad_out")
    halves = (_backward(ctx, go, x1, w, b, args), _backward(ctx, go, x2, w, b, args))
    compare("grad_w", whole["grad_w"], (halves[0]["grad_w"], halves[1]["grad_w"]),
            [(x, w, b, go), (x1, w, b, go), (x2, w, b, go)], "x")
    halves = (_backward(ctx, go, x, w1, b, args), _backward(ctx, go, x, w2, b, args))
    compare("grad_x", whole["grad_x"], (halves[0]["grad_x"], halves[1]["grad_x"]),
            [(x, w, b, go), (x, w1, b, go), (x, w2, b, go)], "w")


@check(points=1)
def precision_bands(ctx):
    """The precision bands, each value within tol x S of the exact value (S: the sum of
    the absolute values of its terms), judged on the candidate's own results so that no
    other clause can matter: float32 inputs (tol 1e-4) against its own float64 result on
    the same values; float64 inputs (tol 1e-10) through linearity, which float64 rounding
    keeps and coarser rounding breaks (see _float64_band).  out, grad_x, grad_w and
    grad_b; 1x1 single-channel layers, where one term's rounding is the whole error, and
    larger ones."""
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
    split_rng = ctx.rng("split")
    _each_case(cases, lambda c: _float32_band(ctx, c) if c["x"].dtype == np.float32
               else _float64_band(ctx, c, split_rng))


@check(points=1)
def dtype_kept(ctx):
    """Every returned array has the dtype of the inputs: float32 stays float32, float64
    stays float64 (out, grad_x, grad_w, grad_b)."""
    rng = ctx.rng()
    for dt in (np.float32, np.float64):
        got = _outputs(ctx, _make(rng, 2, 3, 4, (3, 3), (4, 4), dtype=dt))
        for name in OUTPUTS:
            value = as_array(got[name], name, "f")
            assert value.dtype == np.dtype(dt), (
                f"{np.dtype(dt).name} inputs: {name} is {value.dtype}, expected "
                f"{np.dtype(dt).name} (the dtype of the inputs)")


# ------------------------------------------------------------------------ latency

TIMED = (2, 16, 16, 64, 3)  # images, C_in, C_out, image side, kernel side
TIMED_DTYPE = np.float32
# Timed results (stated in the prompt): out, grad_x and grad_w must have the reference's
# shape, finite values, and a cosine similarity with the reference's of at least PLAUSIBLE.
# Loose on purpose: one wrong clause costs its own check, not this one too -- the bias
# added twice (0.995), half precision (1.0), grad_x overwritten instead of summed over the
# 9 taps (0.34), grad_w of one image of two (0.70); zeros (0), garbage (about 0.003) and
# another input's result (about 0) are far outside.
PLAUSIBLE = 0.2


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


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel(), b.ravel()
    return float(a @ b / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-300))


def _plausible(got: Any, want: Any, what: str, rotations: bool = False) -> None:
    """``got`` has want's shape, finite values and points the reference's way (cosine
    similarity at least PLAUSIBLE; ``rotations``: or when rotated by 180 degrees)."""
    want = np.asarray(want, dtype=np.float64)
    values = _values(got, what, want.shape)
    best = max(_cosine(v, want) for v in
               ([values, values[..., ::-1, ::-1]] if rotations else [values]))
    assert best >= PLAUSIBLE, (
        f"{what}: cosine similarity {best:.3f} with the reference's result, under "
        f"{PLAUSIBLE} (a fast answer must still be an answer)")


def _same_forward(got: Any, want: Any) -> None:
    _plausible(got, want, "timed conv2d_forward output")


def _same_backward(got: Any, want: Any) -> None:
    """grad_x and grad_w plausible (grad_w also when rotated by 180 degrees: the gradient of
    a true convolution is forward_cross_correlation's to judge); grad_b's values are
    grad_b_autograd's to judge, so only its shape counts here."""
    g, r = _backward_parts(got, " (timed)"), _backward_parts(want, " (reference)")
    _plausible(g["grad_x"], r["grad_x"], "timed grad_x")
    _plausible(g["grad_w"], r["grad_w"], "timed grad_w", rotations=True)
    _values(g["grad_b"], "timed grad_b", np.shape(r["grad_b"]))


@check(points=1, kind="latency", budget="forward_latency")
def forward_latency(ctx):
    """The forward pass of the TIMED layer against the reference's, side by side, each
    call on fresh inputs; timed results must be plausible (PLAUSIBLE)."""
    return ctx.latency("conv2d_forward", _forward_inputs, budget="forward_latency",
                       compare=_same_forward)


@check(points=1, kind="latency", budget="backward_latency")
def backward_latency(ctx):
    """The backward pass of the TIMED layer against the reference's, side by side, each
    call on fresh inputs; timed results must be plausible (PLAUSIBLE)."""
    return ctx.latency("conv2d_backward", _backward_inputs, budget="backward_latency",
                       compare=_same_backward)
