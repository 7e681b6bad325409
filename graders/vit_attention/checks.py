"""Hidden checks for vit_attention: random and adversarial cases against the reference (and,
for patchify, against an independent emulation of a Conv2d patch embedding), numerical
stability, key padding, float32 inputs, and the two latency budgets.

Cases run smallest first, so a failure names the smallest failing input.  None of this
needs torch: tests/test_vit_attention.py cross-checks the reference with torch instead.
"""

import numpy as np

from proctor.checks import check
from proctor.checks.asserts import as_array, assert_close, smallest_failure

# ------------------------------------------------------------------------ inputs


def _vit_layer(rng, d, bias_scale=0.5):
    """Random attention weights (w_qkv, b_qkv, w_out, b_out), roughly unit-gain."""
    return (rng.normal(0, 1 / np.sqrt(d), (d, 3 * d)), rng.normal(0, bias_scale, 3 * d),
            rng.normal(0, 1 / np.sqrt(d), (d, d)), rng.normal(0, bias_scale, d))


def _mha_case(rng, b, n, d, heads, scale=1.5):
    """Positional arguments of one multi_head_attention call (logits of order 1 to 10)."""
    return (rng.normal(0, scale, (b, n, d)), *_vit_layer(rng, d), heads)


def _padding(rng, b, n, rate=0.35):
    """A random key padding mask with at least one real (False) key per sequence."""
    mask = rng.random((b, n)) < rate
    mask[np.arange(b), rng.integers(0, n, b)] = False
    return mask


def _vit_images(rng, b, h, w, c, dtype=np.float64):
    return rng.normal(0, 1, (b, h, w, c)).astype(dtype)


# ------------------------------------------------------------------------ comparisons


def _same_attention(got, want, what, tol=1e-6):
    """A finite float array of want's shape, within tol * (1 + |want|) of it everywhere."""
    got = as_array(got, what, "f", want.shape)
    assert np.isfinite(got).all(), (
        f"{what} has {int((~np.isfinite(got)).sum())} non-finite values (NaN or inf)")
    err = np.abs(got.astype(np.float64) - want)
    bad = err > tol * (1 + np.abs(want))
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise AssertionError(f"{what}: {int(bad.sum())} of {bad.size} values differ by more "
                             f"than {tol:g} (relative); first at {idx}: got {got[idx]!r}, "
                             f"expected {want[idx]!r}; max abs error {err.max():.3g}")


def _attention_vs_reference(ctx, cases, tol=1e-6):
    """Cases are (x, w_qkv, b_qkv, w_out, b_out, heads, mask or None); None is not passed."""
    def run(args):
        *pos, mask = args
        kw = {} if mask is None else {"key_padding_mask": mask}
        want = as_array(ctx.reference.multi_head_attention(*pos, **kw), "reference", "f")
        got = ctx.candidate.multi_head_attention(*pos, **kw)
        _same_attention(got, want.astype(np.float64), "multi_head_attention", tol)

    smallest_failure(cases, run)


def _conv_patch_embed(images, weight, bias):
    """What Conv2d(C, D, kernel_size=p, stride=p) computes on channels-last images,
    followed by flatten(2).transpose(1, 2): one dot product per grid cell, written out
    with explicit windows so it shares nothing with a reshape-based patchify."""
    b, h, w, _ = images.shape
    dm, _, p, _ = weight.shape
    gh, gw = h // p, w // p
    out = np.empty((b, dm, gh, gw))
    for i in range(gh):
        for j in range(gw):
            window = images[:, i * p:(i + 1) * p, j * p:(j + 1) * p, :]  # [B, p, p, C]
            out[:, :, i, j] = np.einsum("buvc,dcuv->bd", window, weight) + bias
    return out.reshape(b, dm, gh * gw).transpose(0, 2, 1)


# ------------------------------------------------------------------------ patchify


@check(points=2)
def patchify_random(ctx):
    """patchify on random images of many shapes (patch 1, patch = image size, non-square,
    one to five channels, float32), against the reference."""
    rng = ctx.rng()
    shapes = [(1, 1, 1, 1, 1), (1, 2, 2, 1, 2), (2, 3, 5, 4, 1), (2, 4, 6, 3, 2),
              (1, 6, 4, 2, 2), (1, 15, 9, 1, 3), (3, 8, 8, 3, 4), (2, 12, 20, 5, 4),
              (2, 32, 32, 3, 16), (1, 8, 24, 3, 8), (2, 48, 32, 3, 16)]
    cases = [(f"B={b},H={h},W={w},C={c},patch={p}", (_vit_images(rng, b, h, w, c), p))
             for b, h, w, c, p in shapes]
    cases.append(("float32 B=2,H=8,W=12,C=3,patch=4",
                  (_vit_images(rng, 2, 8, 12, 3, np.float32), 4)))

    def run(args):
        want = as_array(ctx.reference.patchify(*args), "reference", "f")
        assert_close(ctx.candidate.patchify(*args), want.astype(np.float64), "patchify")

    smallest_failure(cases, run)


@check(points=2)
def patchify_conv_embed(ctx):
    """patchify followed by the permuted Conv2d weight equals a Conv2d patch embedding
    (kernel = stride = patch) flattened to [B, N, D]: token order and in-patch order."""
    rng = ctx.rng()
    cases = []
    for b, h, w, c, p, dm in [(1, 2, 2, 1, 1, 3), (1, 4, 4, 2, 2, 5), (2, 6, 10, 3, 2, 4),
                              (2, 16, 8, 3, 4, 6), (2, 32, 48, 3, 16, 8)]:
        cases.append((f"B={b},H={h},W={w},C={c},patch={p}",
                      (_vit_images(rng, b, h, w, c), rng.normal(0, 1, (dm, c, p, p)),
                       rng.normal(0, 1, dm))))

    def run(args):
        images, weight, bias = args
        p = weight.shape[-1]
        patches = as_array(ctx.candidate.patchify(images, p), "patchify", "f",
                           (images.shape[0], None, p * p * images.shape[-1]))
        flat = weight.transpose(0, 2, 3, 1).reshape(weight.shape[0], -1)
        want = _conv_patch_embed(images, weight, bias)
        assert_close(patches.astype(np.float64) @ flat.T + bias, want,
                     "patchify(images, p) @ w.transpose(0, 2, 3, 1).reshape(D, -1).T + bias")

    smallest_failure(cases, run)


def _patchify_inputs(rng):
    # uniform float32 drawn directly: patchify's cost does not depend on the values, and
    # the grader draws one image batch per timed call (normals cost 5x as much, and made
    # the grader, not the workers, the pace of the measurement)
    return rng.random((32, 32, 32, 3), dtype=np.float32), 2


def _same_patches(got, want):
    want = np.asarray(want)
    got = as_array(got, "timed patchify output", "f", want.shape)
    if got.dtype != want.dtype:      # float32 -> float64 is exact: equal values stay equal
        got, want = got.astype(np.float64), want.astype(np.float64)
    assert np.array_equal(got, want), "timed patchify output: values differ from the reference"


@check(points=1, kind="latency", budget="patchify_latency")
def patchify_latency(ctx):
    """patchify of 32 float32 32x32x3 images into 2x2 patches (8,192 patches), relative to
    the reference, on fresh images each call."""
    return ctx.latency("patchify", _patchify_inputs, budget="patchify_latency",
                       compare=_same_patches)


# ------------------------------------------------------------------------ attention


@check(points=3)
def mha_random(ctx):
    """multi_head_attention on random inputs: B=1, N=1, D not a power of two, 1 to 8 heads,
    against the reference."""
    rng = ctx.rng()
    shapes = [(1, 1, 4, 1), (1, 1, 6, 2), (2, 3, 6, 3), (1, 5, 10, 5), (3, 7, 12, 4),
              (2, 9, 30, 5), (2, 17, 24, 6), (1, 4, 8, 8), (4, 50, 64, 8), (2, 65, 96, 3),
              (1, 197, 192, 3)]
    cases = [(f"B={b},N={n},D={d},heads={h}", (*_mha_case(rng, b, n, d, h), None))
             for b, n, d, h in shapes]
    _attention_vs_reference(ctx, cases)


@check(points=2)
def mha_stability(ctx):
    """Huge logits: inputs scaled by 1e3, and a large key bias that shifts every logit of a
    query by the same 1e4-1e5 (the softmax is unchanged; naive exp overflows).  The output
    must be finite and equal the reference."""
    rng = ctx.rng()
    cases = []
    for b, n, d, h in [(1, 2, 4, 1), (2, 9, 12, 3), (2, 50, 64, 8)]:
        x, w_qkv, b_qkv, w_out, b_out, _ = _mha_case(rng, b, n, d, h)
        cases.append((f"x*1e3 B={b},N={n},D={d},heads={h}",
                      (x * 1e3, w_qkv, b_qkv, w_out, b_out, h, None)))
        shifted = b_qkv.copy()
        shifted[d:2 * d] += rng.choice([-1.0, 1.0], d) * rng.uniform(1e4, 3e4, d)
        cases.append((f"key bias ~1e4 B={b},N={n},D={d},heads={h}",
                      (x, w_qkv, shifted, w_out, b_out, h, None)))
    _attention_vs_reference(ctx, cases)


@check(points=2)
def mha_key_padding(ctx):
    """Random key padding masks (at least one real key per sequence; padded positions still
    get outputs), an all-False mask, and masks leaving a single key, against the reference."""
    rng = ctx.rng()
    cases = []
    for b, n, d, h in [(1, 1, 4, 2), (2, 4, 6, 3), (3, 9, 12, 4), (4, 33, 30, 5),
                       (8, 50, 64, 8)]:
        cases.append((f"random mask B={b},N={n},D={d},heads={h}",
                      (*_mha_case(rng, b, n, d, h), _padding(rng, b, n))))
    cases.append(("all-False mask B=2,N=5,D=8,heads=2",
                  (*_mha_case(rng, 2, 5, 8, 2), np.zeros((2, 5), dtype=bool))))
    single = np.ones((3, 7), dtype=bool)
    single[0, 0] = single[1, 6] = single[2, 3] = False
    cases.append(("one real key per sequence B=3,N=7,D=12,heads=3",
                  (*_mha_case(rng, 3, 7, 12, 3), single)))
    _attention_vs_reference(ctx, cases)


@check(points=1)
def mha_all_padded(ctx):
    """Sequences whose keys are all padding output exactly b_out in every row (zero
    attention), never NaN; the other sequences of the batch are unaffected."""
    rng = ctx.rng()
    cases = []
    for b, n, d, h, full in [(1, 1, 4, 1, [0]), (1, 5, 6, 2, [0]), (3, 6, 12, 3, [1]),
                             (4, 20, 24, 4, [0, 3])]:
        mask = _padding(rng, b, n)
        mask[full] = True
        cases.append((f"B={b},N={n},D={d},heads={h}, sequences {full} fully padded",
                      (*_mha_case(rng, b, n, d, h), mask)))

    def run(args):
        x, w_qkv, b_qkv, w_out, b_out, heads, mask = args
        got = as_array(ctx.candidate.multi_head_attention(
            x, w_qkv, b_qkv, w_out, b_out, heads, key_padding_mask=mask),
            "multi_head_attention", "f", x.shape)
        full = mask.all(axis=1)
        rows = np.broadcast_to(b_out, got[full].shape)
        _same_attention(got[full], rows, "rows of fully padded sequences (expected b_out)")
        want = ctx.reference.multi_head_attention(x, w_qkv, b_qkv, w_out, b_out, heads,
                                                  key_padding_mask=mask)
        _same_attention(got, np.asarray(want, dtype=np.float64), "multi_head_attention")

    smallest_failure(cases, run)


@check(points=1)
def mha_float32(ctx):
    """float32 inputs (x and weights) are computed in float64: the result is float64 and
    matches a float64 computation on the same values to 1e-9."""
    rng = ctx.rng()
    cases = []
    for b, n, d, h in [(1, 3, 8, 2), (2, 17, 24, 6), (4, 50, 64, 8)]:
        args = _mha_case(rng, b, n, d, h)
        cases.append((f"float32 B={b},N={n},D={d},heads={h}",
                      tuple(a.astype(np.float32) for a in args[:5]) + (h,)))

    def run(args):
        got = ctx.candidate.multi_head_attention(*args)
        got = as_array(got, "multi_head_attention(float32 inputs)", "f")
        assert got.dtype == np.float64, (
            f"multi_head_attention must return float64 (compute in float64), got {got.dtype}")
        want = np.asarray(ctx.reference.multi_head_attention(*args), dtype=np.float64)
        _same_attention(got, want, "multi_head_attention(float32 inputs)", tol=1e-9)

    smallest_failure(cases, run)


def _mha_inputs(rng):
    return _mha_case(rng, 32, 50, 64, 8)


@check(points=3, kind="latency", budget="mha_latency")
def mha_latency(ctx):
    """multi_head_attention with B=32, N=50, D=64, 8 heads, relative to the reference, on
    fresh inputs each call."""
    return ctx.latency("multi_head_attention", _mha_inputs, budget="mha_latency")
