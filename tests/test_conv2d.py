"""The conv2d exercise: its reference against PyTorch, the graders' torch truth, the contract
ledger, and the calibration set.

* the accepted reference agrees with ``torch.nn.functional.conv2d`` and autograd (forward,
  grad_x, grad_w, grad_b) on random layers of every geometry, keeps float32 as float32, and
  gives the prompt's worked examples;
* the graders' truth is what it says: its scale S is the sum of the absolute values of the
  terms (checked by brute force), and its tolerated "flip" variant is the layer the
  flipped-kernel mistake computes;
* reference_solutions/conv2d/contract.toml names real checks and rejected solutions, every
  check owns a clause, and every rejected solution breaks exactly its clause's check
  (correctness checks run in-process here; ``proctor calibrate --strict conv2d`` is the
  sandboxed, timed truth);
* torch stays on the trusted side: the worker refuses it, the public checks and every
  solution are numpy only.
"""

from __future__ import annotations

import functools
import itertools
import tomllib
import types
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    assert_correctness_as_declared,
    assert_rejects_name_real_checks,
    check_defs,
    imports_of,
    load_solution,
    solution_source,
)

from proctor.library.spec import Library

torch = pytest.importorskip("torch")
F = torch.nn.functional

ROOT = Path(__file__).resolve().parents[1]
EX_ID = "conv2d"
EX = Library(ROOT).get(EX_ID)
SOLUTIONS = ROOT / "reference_solutions" / EX_ID
REJECTED = sorted(p.parent.name for p in (SOLUTIONS / "rejected").glob("*/expect.toml"))
CONTRACT = tomllib.loads((SOLUTIONS / "contract.toml").read_text())["clause"]
FUNCS = ("conv2d_forward", "conv2d_backward")


@functools.cache
def ref() -> types.ModuleType:
    return load_solution(EX_ID, "accepted/reference.py")


def _grader() -> dict:
    """The hidden checks' module namespace (its helpers: _truth, _make, ...)."""
    hidden = [d for d in check_defs(EX) if d.hidden]
    return hidden[0].fn.__globals__


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _torch_layer(x, w, b, grad_out, stride, padding, dilation, groups):
    """Forward output and the three gradients, by torch in float64."""
    t = {k: None if v is None else torch.tensor(v, dtype=torch.float64, requires_grad=True)
         for k, v in (("x", x), ("w", w), ("b", b))}
    out = F.conv2d(t["x"], t["w"], t["b"], _pair(stride), _pair(padding), _pair(dilation),
                   groups)
    out.backward(torch.tensor(grad_out, dtype=torch.float64))
    grads = [t["x"].grad.numpy(), t["w"].grad.numpy(),
             None if b is None else t["b"].grad.numpy()]
    return out.detach().numpy(), grads


def _random_layers(seed: int, count: int) -> list[tuple]:
    """Random valid layers (x, w, b, args, rng): groups, dilation, strides up to past the
    kernel, padding, ints or (h, w) pairs, sizes the stride may or may not divide, b or
    None."""
    rng = np.random.default_rng(seed)
    layers: list[tuple] = []
    while len(layers) < count:
        g = int(rng.choice([1, 1, 2, 3, 4]))
        c_in, c_out = g * int(rng.integers(1, 4)), g * int(rng.integers(1, 4))
        k = tuple(int(v) for v in rng.integers(1, 6, 2))
        pairs = bool(rng.random() < 0.5)
        s, d, p = (tuple(int(v) for v in rng.integers(lo, hi, 2 if pairs else 1).repeat(
            1 if pairs else 2)) for lo, hi in ((1, 6), (1, 4), (0, 4)))
        h, wd = (d[i] * (k[i] - 1) + 1 - 2 * p[i] + int(rng.integers(0, 13)) for i in range(2))
        if h < 1 or wd < 1:
            continue
        args = ((s, p, d) if pairs else (s[0], p[0], d[0])) + (g,)
        n = int(rng.integers(1, 4))
        b = rng.normal(size=c_out) if rng.random() < 0.7 else None
        layers.append((rng.normal(size=(n, c_in, h, wd)), rng.normal(size=(c_out, c_in // g, *k)),
                       b, args, rng))
    return layers


# ------------------------------------------------------------------------ vs torch


@pytest.mark.parametrize("seed", range(4))
def test_reference_matches_torch_float64(seed):
    for x, w, b, args, rng in _random_layers(seed, 40):
        out = ref().conv2d_forward(x, w, b, *args)
        grad_out = rng.normal(size=out.shape)
        want_out, want_grads = _torch_layer(x, w, b, grad_out, *args)
        assert out.dtype == np.float64
        np.testing.assert_allclose(out, want_out, rtol=1e-10, atol=1e-10)
        grads = ref().conv2d_backward(grad_out, x, w, b, *args)
        assert len(grads) == 3
        for got, want in zip(grads, want_grads, strict=True):
            if want is None:
                assert got is None
            else:
                assert got.dtype == np.float64 and got.shape == want.shape
                np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_reference_keeps_float32_within_the_band():
    for x, w, b, args, rng in _random_layers(11, 30):
        x32, w32 = x.astype(np.float32), w.astype(np.float32)
        b32 = None if b is None else b.astype(np.float32)
        out = ref().conv2d_forward(x32, w32, b32, *args)
        grad_out = rng.normal(size=out.shape).astype(np.float32)
        want_out, want_grads = _torch_layer(x32, w32, b32, grad_out, *args)
        grads = ref().conv2d_backward(grad_out, x32, w32, b32, *args)
        for got, want in zip([out, *grads], [want_out, *want_grads], strict=True):
            if want is None:
                assert got is None
                continue
            assert got.dtype == np.float32
            np.testing.assert_allclose(got, want, rtol=1e-4,
                                       atol=1e-4 * max(np.abs(want).max(), 1.0))


def test_prompt_examples():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w = np.array([[[[1.0, 2], [3, 4]]]])
    np.testing.assert_array_equal(ref().conv2d_forward(x, w, np.array([0.5]))[0, 0],
                                  [[27.5, 37.5], [57.5, 67.5]])
    np.testing.assert_array_equal(ref().conv2d_forward(x, w)[0, 0], [[27, 37], [57, 67]])
    flipped = ref().conv2d_forward(x, w[:, :, ::-1, ::-1].copy())[0, 0]
    np.testing.assert_array_equal(flipped, [[13, 23], [43, 53]])
    grad_x, grad_w, grad_b = ref().conv2d_backward(np.ones((1, 1, 2, 2)), x, w,
                                                   np.array([0.5]))
    np.testing.assert_array_equal(grad_x[0, 0], [[1, 3, 2], [4, 10, 6], [3, 7, 4]])
    np.testing.assert_array_equal(grad_w[0, 0], [[8, 12], [20, 24]])
    np.testing.assert_array_equal(grad_b, [4])


# ------------------------------------------------------------------------ the graders' truth


def _brute_force_scale(x, w, b, grad_out, stride, padding, dilation, groups):
    """Σ|terms| of every out, grad_x and grad_w value, by explicit loops."""
    s, p, d = _pair(stride), _pair(padding), _pair(dilation)
    xp = np.pad(np.abs(x), ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    aw, ag = np.abs(w), np.abs(grad_out)
    n, c_out, ho, wo = grad_out.shape
    cg, og = w.shape[1], c_out // groups
    out = np.zeros(grad_out.shape) + (0 if b is None else np.abs(b)[None, :, None, None])
    gxp, gw = np.zeros(xp.shape), np.zeros(w.shape)
    for i0, o, i, j, c, u, v in itertools.product(range(n), range(c_out), range(ho),
                                                  range(wo), range(cg), range(w.shape[2]),
                                                  range(w.shape[3])):
        r, q, ch = i * s[0] + u * d[0], j * s[1] + v * d[1], (o // og) * cg + c
        out[i0, o, i, j] += xp[i0, ch, r, q] * aw[o, c, u, v]
        gxp[i0, ch, r, q] += ag[i0, o, i, j] * aw[o, c, u, v]
        gw[o, c, u, v] += ag[i0, o, i, j] * xp[i0, ch, r, q]
    return out, gxp[:, :, p[0]:p[0] + x.shape[2], p[1]:p[1] + x.shape[3]], gw


def test_truth_scale_is_the_sum_of_absolute_terms():
    g = _grader()
    rng = np.random.default_rng(3)
    for kw in [dict(), dict(stride=2, padding=1), dict(dilation=2, groups=2),
               dict(stride=(3, 1), padding=(0, 2), dilation=(1, 2))]:
        c = g["_make"](rng, 2, 4, 4, (2, 3), (3, 3), **kw)
        truth = g["_truth"](c["x"], c["w"], c["b"], *c["args"], c["grad_out"])
        want = _brute_force_scale(c["x"], c["w"], c["b"], c["grad_out"], *c["args"])
        for name, scale in zip(("out", "grad_x", "grad_w"), want, strict=True):
            np.testing.assert_allclose(truth[name][1], scale, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(truth["grad_b"][1], np.abs(c["grad_out"]).sum((0, 2, 3)))


def test_flip_variant_is_the_flipped_kernel():
    """The defect variant the gradient checks accept ("flip") is what a true convolution
    computes: the flipped_kernel mutant's forward pass."""
    g = _grader()
    wrong = load_solution(EX_ID, "flipped_kernel")
    rng = np.random.default_rng(5)
    for kw in [dict(padding=1), dict(stride=2, padding=(2, 1)), dict(dilation=2, padding=2)]:
        c = g["_make"](rng, 2, 3, 2, (3, 2), (4, 3), **kw)
        truth = g["_truth"](c["x"], c["w"], c["b"], *c["args"], c["grad_out"], ("flip",))
        np.testing.assert_allclose(wrong.conv2d_forward(c["x"], c["w"], c["b"], *c["args"]),
                                   truth["out"][0], rtol=1e-10, atol=1e-10)


def test_rotated_kernel_gradients_are_the_flip_variants():
    """grad_input_rotated sends grad_x through the rotated kernel: the flip variant's
    grad_x, which the hidden checks accept, while the public example rejects it."""
    g = _grader()
    wrong = load_solution(EX_ID, "grad_input_rotated")
    rng = np.random.default_rng(6)
    c = g["_make"](rng, 2, 3, 4, (3, 2), (4, 5), stride=2, dilation=2)
    truth = g["_truth"](c["x"], c["w"], c["b"], *c["args"], c["grad_out"], ("flip",))
    grad_x, grad_w, _ = wrong.conv2d_backward(c["grad_out"], c["x"], c["w"], c["b"], *c["args"])
    np.testing.assert_allclose(grad_x, truth["grad_x"][0], rtol=1e-10, atol=1e-10)
    right = ref().conv2d_backward(c["grad_out"], c["x"], c["w"], c["b"], *c["args"])
    np.testing.assert_allclose(grad_w, right[1], rtol=1e-12)


# ------------------------------------------------------------------------ contract ledger


def test_contract_ledger_names_real_checks_and_solutions():
    checks = {d.id for d in check_defs(EX)}
    owned = {c["check"] for c in CONTRACT}
    assert owned <= checks, owned - checks
    assert owned == checks, f"checks that own no clause: {checks - owned}"
    named = [r for c in CONTRACT for r in c["rejected"]]
    assert sorted(named) == REJECTED, "every rejected solution breaks exactly one clause"
    assert len({c["id"] for c in CONTRACT}) == len(CONTRACT)
    for clause in CONTRACT:
        assert clause["rejected"] or clause.get("foundational"), clause["id"]
        for reason in clause["rejected"]:
            expect = tomllib.loads((SOLUTIONS / "rejected" / reason / "expect.toml").read_text())
            assert expect["fail"] == [clause["check"]], (reason, expect["fail"])


def test_the_named_mistakes_are_rejected_for_checks_that_exist():
    assert_rejects_name_real_checks(EX, {
        "forward_pixel_loop", "backward_pixel_loop", "padding_one_side", "bias_grad_batch_mean",
        "groups_ignored", "flipped_kernel", "float32_as_float64"})


@pytest.mark.parametrize("solution", ["accepted/reference", *(f"rejected/{r}" for r in REJECTED)])
def test_correctness_verdicts_match_expect_toml(solution):
    assert_correctness_as_declared(EX, solution)


def test_pixel_loops_are_slow_not_wrong():
    """The latency-only rejected solutions give the reference's values on random layers."""
    loops = {name: load_solution(EX_ID, name)
             for name in ("forward_pixel_loop", "backward_pixel_loop")}
    for x, w, b, args, rng in _random_layers(21, 25):
        out = ref().conv2d_forward(x, w, b, *args)
        np.testing.assert_allclose(loops["forward_pixel_loop"].conv2d_forward(x, w, b, *args),
                                   out, rtol=1e-12, atol=1e-12)
        grad_out = rng.normal(size=out.shape)
        want = ref().conv2d_backward(grad_out, x, w, b, *args)
        got = loops["backward_pixel_loop"].conv2d_backward(grad_out, x, w, b, *args)
        for a, e in zip(got, want, strict=True):
            if e is None:
                assert a is None
            else:
                np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------ trust boundary


def test_torch_stays_on_the_trusted_side():
    assert "torch" in EX.spec.forbidden_imports  # the candidate's worker refuses it
    assert "torch" not in imports_of((EX.public_dir / "checks.py").read_text())
    assert "torch" not in imports_of(EX.starter)


def test_solutions_are_standalone_numpy():
    for solution in ["accepted/reference.py", *(f"rejected/{r}" for r in REJECTED)]:
        source = solution_source(EX_ID, solution)
        assert imports_of(source) <= {"__future__", "numpy"}, solution
        namespace: dict = {}
        exec(compile(source, solution, "exec"), namespace)
        assert all(callable(namespace.get(f)) for f in FUNCS), solution
