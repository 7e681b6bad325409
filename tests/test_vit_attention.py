"""The vit_attention exercise: its reference against PyTorch, its public checks, and its
calibration set.

* the accepted reference agrees with ``torch.nn.functional.scaled_dot_product_attention``
  (same projections), with ``nn.MultiheadAttention``, and, for ``patchify``, with a
  ``Conv2d(kernel=stride=patch)`` patch embedding followed by ``flatten(2).transpose(1, 2)``;
* the public checks pass on the reference and fail on the starter;
* every hidden check is failed by at least one rejected solution, and the correctness
  checks (public and hidden, run in-process without the sandbox or the latency checks)
  give each solution exactly the verdicts its expect.toml declares;
* the graders do not need torch, and every solution (mutants applied) is standalone numpy code.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from conftest import (
    assert_correctness_as_declared,
    assert_rejects_name_real_checks,
    imports_of,
    solution_source,
)

from proctor.library.spec import Library

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]
EX_ID = "vit_attention"
EX = Library(ROOT).get(EX_ID)
SOLUTIONS = ROOT / "reference_solutions" / EX_ID
REJECTED = sorted(p.parent.name for p in (SOLUTIONS / "rejected").glob("*/expect.toml"))
FUNCS = ("patchify", "multi_head_attention")


@functools.cache
def _load(path: Path) -> ModuleType:
    name = "_vit_" + "_".join(path.relative_to(ROOT).with_suffix("").parts)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ref() -> ModuleType:
    return _load(SOLUTIONS / "accepted" / "reference.py")


def _source(solution: str) -> str:
    """A solution's code ("accepted/reference" or "rejected/<reason>"; mutants applied)."""
    return solution_source(EX_ID, f"{solution}.py" if solution.startswith("accepted")
                           else solution)



def _layer(rng, d):
    return (rng.normal(0, 1 / np.sqrt(d), (d, 3 * d)), rng.normal(0, 0.5, 3 * d),
            rng.normal(0, 1 / np.sqrt(d), (d, d)), rng.normal(0, 0.5, d))


def _padding(rng, b, n):
    mask = rng.random((b, n)) < 0.35
    mask[np.arange(b), rng.integers(0, n, b)] = False  # at least one real key each
    return mask


def _torch_sdpa(x, w_qkv, b_qkv, w_out, b_out, heads, pad=None):
    """The same layer in PyTorch: projections by hand, attention by SDPA."""
    b, n, d = x.shape
    t = torch.from_numpy
    qkv = t(x) @ t(w_qkv) + t(b_qkv)
    q, k, v = (a.reshape(b, n, heads, d // heads).transpose(1, 2) for a in qkv.split(d, -1))
    keep = None if pad is None else t(~pad)[:, None, None, :]  # True = takes part
    o = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=keep)
    return (o.transpose(1, 2).reshape(b, n, d) @ t(w_out) + t(b_out)).numpy()


def _torch_mha(x, w_qkv, b_qkv, w_out, b_out, heads, pad=None):
    """The same layer as nn.MultiheadAttention (weights are stored transposed there)."""
    d = x.shape[-1]
    mha = torch.nn.MultiheadAttention(d, heads, batch_first=True, dtype=torch.float64)
    mha.eval()
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.from_numpy(w_qkv.T))
        mha.in_proj_bias.copy_(torch.from_numpy(b_qkv))
        mha.out_proj.weight.copy_(torch.from_numpy(w_out.T))
        mha.out_proj.bias.copy_(torch.from_numpy(b_out))
        xt = torch.from_numpy(x)
        out, _ = mha(xt, xt, xt, need_weights=False,
                     key_padding_mask=None if pad is None else torch.from_numpy(pad))
    return out.numpy()


SHAPES = [(1, 1, 4, 1), (2, 3, 6, 3), (1, 5, 10, 5), (3, 7, 12, 4), (2, 17, 24, 6),
          (2, 50, 64, 8), (1, 197, 192, 3)]


# ------------------------------------------------------------------------ vs torch


@pytest.mark.parametrize(("b", "n", "d", "heads"), SHAPES)
@pytest.mark.parametrize("masked", [False, True])
def test_attention_matches_torch_sdpa(b, n, d, heads, masked):
    rng = np.random.default_rng(b * 1000 + n * 10 + d + masked)
    x = rng.normal(0, 1.5, (b, n, d))
    layer = _layer(rng, d)
    pad = _padding(rng, b, n) if masked else None
    got = ref().multi_head_attention(x, *layer, heads, key_padding_mask=pad)
    assert got.dtype == np.float64 and got.shape == (b, n, d)
    np.testing.assert_allclose(got, _torch_sdpa(x, *layer, heads, pad), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(("b", "n", "d", "heads"), SHAPES)
def test_attention_matches_nn_multihead_attention(b, n, d, heads):
    rng = np.random.default_rng(7 + b + n + d)
    x = rng.normal(0, 1.5, (b, n, d))
    layer = _layer(rng, d)
    pad = _padding(rng, b, n)
    for mask in (None, pad):
        got = ref().multi_head_attention(x, *layer, heads, key_padding_mask=mask)
        np.testing.assert_allclose(got, _torch_mha(x, *layer, heads, mask), rtol=1e-10,
                                   atol=1e-10)


def test_large_logits_match_torch_and_stay_finite():
    rng = np.random.default_rng(3)
    b, n, d, heads = 2, 9, 12, 3
    x = rng.normal(0, 1.5, (b, n, d))
    w_qkv, b_qkv, w_out, b_out = _layer(rng, d)
    shifted = b_qkv.copy()
    shifted[d:2 * d] += rng.choice([-1.0, 1.0], d) * 2e4  # same shift for all keys of a query
    for args in [(x * 1e3, w_qkv, b_qkv, w_out, b_out), (x, w_qkv, shifted, w_out, b_out)]:
        with np.errstate(over="raise", divide="raise", invalid="raise"):  # no inf, no NaN
            got = ref().multi_head_attention(*args, heads)
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, _torch_sdpa(*args, heads), rtol=1e-9, atol=1e-9)
    # the key-bias shift leaves the softmax unchanged: same as without the shift
    np.testing.assert_allclose(ref().multi_head_attention(x, w_qkv, shifted, w_out, b_out, heads),
                               ref().multi_head_attention(x, w_qkv, b_qkv, w_out, b_out, heads),
                               rtol=1e-8, atol=1e-8)


def test_fully_padded_sequences_give_b_out_and_others_match_torch():
    rng = np.random.default_rng(11)
    b, n, d, heads = 4, 6, 12, 3
    x = rng.normal(0, 1.5, (b, n, d))
    layer = _layer(rng, d)
    pad = _padding(rng, b, n)
    pad[[1, 3]] = True
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        got = ref().multi_head_attention(x, *layer, heads, key_padding_mask=pad)
    np.testing.assert_array_equal(got[[1, 3]], np.broadcast_to(layer[3], (2, n, d)))
    want = _torch_sdpa(x, *layer, heads, pad)
    np.testing.assert_allclose(got[[0, 2]], want[[0, 2]], rtol=1e-10, atol=1e-10)


def test_float32_inputs_are_computed_in_float64():
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1.5, (2, 17, 24)).astype(np.float32)
    layer = [a.astype(np.float32) for a in _layer(rng, 24)]
    got = ref().multi_head_attention(x, *layer, 6)
    assert got.dtype == np.float64
    want = _torch_sdpa(x.astype(np.float64), *(a.astype(np.float64) for a in layer), 6)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(("b", "h", "w", "c", "p"),
                         [(1, 1, 1, 1, 1), (2, 3, 5, 4, 1), (1, 2, 2, 3, 2), (2, 4, 6, 3, 2),
                          (2, 12, 20, 5, 4), (1, 15, 9, 1, 3), (2, 32, 48, 3, 16),
                          (1, 224, 224, 3, 16)])
def test_patchify_matches_conv2d_patch_embedding(b, h, w, c, p):
    rng = np.random.default_rng(b + h + w + c + p)
    images = rng.normal(0, 1, (b, h, w, c))
    dm = 7
    weight, bias = rng.normal(0, 1, (dm, c, p, p)), rng.normal(0, 1, dm)
    conv = torch.nn.functional.conv2d(torch.from_numpy(images).permute(0, 3, 1, 2),
                                      torch.from_numpy(weight), torch.from_numpy(bias), stride=p)
    want = conv.flatten(2).transpose(1, 2).numpy()  # [B, N, D]
    patches = ref().patchify(images, p)
    assert patches.shape == (b, (h // p) * (w // p), p * p * c)
    got = patches @ weight.transpose(0, 2, 3, 1).reshape(dm, -1).T + bias
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    assert ref().patchify(images.astype(np.float32), p).dtype == np.float32


def test_prompt_examples():
    img = np.arange(16.0).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(ref().patchify(img, 2)[0], [[0, 1, 4, 5], [2, 3, 6, 7],
                                                             [8, 9, 12, 13], [10, 11, 14, 15]])
    r, c, ch = np.meshgrid(np.arange(2), np.arange(4), np.arange(2), indexing="ij")
    img = (100 * r + 10 * c + ch)[None].astype(float)
    np.testing.assert_array_equal(ref().patchify(img, 2)[0],
                                  [[0, 1, 10, 11, 100, 101, 110, 111],
                                   [20, 21, 30, 31, 120, 121, 130, 131]])
    d = 4
    x = np.array([[[1.0, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]])
    w_qkv = np.hstack([np.eye(d), np.zeros((d, d)), np.eye(d)])
    args = (x, w_qkv, np.zeros(3 * d), np.eye(d), np.zeros(d), 2)
    np.testing.assert_allclose(ref().multi_head_attention(*args),
                               np.tile([5.0, 6, 7, 8], (1, 3, 1)))
    got = ref().multi_head_attention(*args, key_padding_mask=np.array([[False, False, True]]))
    np.testing.assert_allclose(got, np.tile([3.0, 4, 5, 6], (1, 3, 1)))


# ------------------------------------------------------------------------ public checks


# ------------------------------------------------------------------------ calibration set


def test_the_named_mistakes_are_rejected_for_checks_that_exist():
    assert_rejects_name_real_checks(EX, {"naive_softmax", "scale_by_d", "patch_order_colmajor",
                                         "python_loops", "mask_ignored"})


@pytest.mark.parametrize("solution", ["accepted/reference", *(f"rejected/{r}" for r in REJECTED)])
def test_correctness_verdicts_match_expect_toml(solution):
    assert_correctness_as_declared(EX, solution)


def test_solutions_are_standalone_numpy():
    for solution in ["accepted/reference", *(f"rejected/{r}" for r in REJECTED)]:
        source = _source(solution)
        assert imports_of(source) <= {"__future__", "math", "numpy"}, solution
        namespace: dict = {}
        exec(compile(source, solution, "exec"), namespace)
        assert all(callable(namespace.get(f)) for f in FUNCS), solution


def test_graders_do_not_need_torch():
    assert "torch" not in imports_of((EX.grader_dir / "checks.py").read_text())
    assert "torch" not in imports_of((EX.public_dir / "checks.py").read_text())


def test_python_loops_is_correct():
    """The slow rejected solution is slow, not wrong: identical results on random inputs."""
    slow = _load(SOLUTIONS / "rejected" / "python_loops" / "solution.py")
    rng = np.random.default_rng(1)
    for b, n, d, heads in SHAPES[:5]:
        x = rng.normal(0, 1.5, (b, n, d))
        layer = _layer(rng, d)
        pad = _padding(rng, b, n)
        pad[0] = True
        for mask in (None, pad):
            np.testing.assert_allclose(slow.multi_head_attention(x, *layer, heads, mask),
                                       ref().multi_head_attention(x, *layer, heads, mask),
                                       rtol=1e-10, atol=1e-10)
    images = rng.normal(0, 1, (2, 12, 20, 3))
    np.testing.assert_array_equal(slow.patchify(images, 4), ref().patchify(images, 4))


def test_timed_patchify_outputs_compare_by_value_in_any_float_dtype():
    """The latency check compares each timed output with the reference's: a float64 copy of
    the right patches is the same answer; one changed value, or ints, is not."""
    grader = _load(EX.grader_dir / "checks.py")
    images, p = grader._patchify_inputs(np.random.default_rng(0))
    assert images.dtype == np.float32 and p == 2
    want = ref().patchify(images, p)
    grader._same_patches(want.copy(), want)
    grader._same_patches(want.astype(np.float64), want)
    off = want.copy()
    off[3, 7, 1] += 1e-3
    for bad in (off, off.astype(np.float64), np.zeros(want.shape, np.int64)):
        with pytest.raises(AssertionError):
            grader._same_patches(bad, want)
