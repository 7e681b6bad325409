"""Public checks for conv2d: small layers with hand-computed answers.

The forward kernels here read the same rotated by 180 degrees or not: the forward pass's
orientation is the prompt's worked example (and a hidden check's).  The backward example's
kernel is not symmetric: the gradients must be those of the cross-correlation.
"""

import numpy as np

from proctor.checks import check
from proctor.checks.asserts import assert_close


@check(points=1)
def forward_example(ctx):
    """conv2d_forward on a 3x3 two-channel image with two 2x2 filters and a bias, and on a
    4x4 image with stride 1 and 2, with a bias and with b=None (no bias)."""
    x = np.stack([np.arange(9.0).reshape(3, 3), np.ones((3, 3))])[None]  # [1, 2, 3, 3]
    w = np.array([[[[1.0, 0], [0, 1]], [[1, 1], [1, 1]]],    # filter 0
                  [[[0.0, 1], [1, 0]], [[0, 0], [0, 0]]]])   # filter 1: [2, 2, 2, 2]
    b = np.array([0.0, -1.0])
    expected = np.array([[[[8.0, 10], [14, 16]], [[3, 5], [9, 11]]]])
    assert_close(ctx.candidate.conv2d_forward(x, w, b), expected,
                 "conv2d_forward(x[1,2,3,3], w[2,2,2,2], b)")

    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.array([[[[1.0, 2], [2, 1]]]])
    b = np.array([0.5])
    expected = 24 * np.arange(3.0)[:, None] + 6 * np.arange(3.0) + 15.5
    assert_close(ctx.candidate.conv2d_forward(x, w, b), expected[None, None],
                 "conv2d_forward(4x4 image, 2x2 kernel)")
    assert_close(ctx.candidate.conv2d_forward(x, w, b, 2), expected[None, None, ::2, ::2],
                 "conv2d_forward(4x4 image, 2x2 kernel, stride=2)")
    assert_close(ctx.candidate.conv2d_forward(x, w, None), expected[None, None] - 0.5,
                 "conv2d_forward(4x4 image, 2x2 kernel, b=None)")


@check(points=1)
def backward_example(ctx):
    """conv2d_backward of a one-channel layer with the kernel [[1, 2], [3, 4]]: grad_out of
    ones on a 3x3 image, then stride 2 on a 4x4 image (windows that do not overlap)."""
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w = np.array([[[[1.0, 2], [3, 4]]]])
    b = np.array([0.0])
    grads = _three(ctx.candidate.conv2d_backward(np.ones((1, 1, 2, 2)), x, w, b))
    assert_close(grads[0], np.array([[[[1.0, 3, 2], [4, 10, 6], [3, 7, 4]]]]),
                 "grad_x (grad_out of ones, 3x3 image)")
    assert_close(grads[1], np.array([[[[8.0, 12], [20, 24]]]]),
                 "grad_w (grad_out of ones, 3x3 image)")
    assert_close(grads[2], np.array([4.0]), "grad_b (grad_out of ones)")

    x = np.arange(16.0).reshape(1, 1, 4, 4)
    grad_out = np.array([[[[1.0, 2], [3, 4]]]])
    grads = _three(ctx.candidate.conv2d_backward(grad_out, x, w, b, 2))
    expected_x = np.array([[1.0, 2, 2, 4], [3, 4, 6, 8], [3, 6, 4, 8], [9, 12, 12, 16]])
    assert_close(grads[0], expected_x[None, None], "grad_x (stride 2, 4x4 image)")
    assert_close(grads[1], np.array([[[[68.0, 78], [108, 118]]]]), "grad_w (stride 2)")
    assert_close(grads[2], np.array([10.0]), "grad_b (stride 2)")


@check(points=1)
def inputs_unchanged(ctx):
    """conv2d_forward and conv2d_backward leave x, w, b and grad_out as they were (values,
    dtype): checked with the arrays as each call left them, with padding and with groups."""
    rng = ctx.rng()
    for dtype in (np.float64, np.float32):
        x, w, b, grad_out = (rng.normal(size=shape).astype(dtype) for shape in
                             [(2, 4, 7, 6), (6, 2, 3, 2), (6,), (2, 6, 4, 4)])
        kw = {"stride": 2, "padding": 1, "groups": 2}  # ints: pairs are another check's
        _, after = ctx.candidate.conv2d_forward.returning_args(x, w, b, **kw)
        _unchanged("conv2d_forward", ("x", "w", "b"), (x, w, b), after, dtype)
        _, after = ctx.candidate.conv2d_backward.returning_args(grad_out, x, w, b, **kw)
        _unchanged("conv2d_backward", ("grad_out", "x", "w", "b"), (grad_out, x, w, b), after,
                   dtype)


def _unchanged(fn, names, before, after, dtype):
    for name, want, got in zip(names, before, after, strict=True):
        assert (isinstance(got, np.ndarray) and got.dtype == want.dtype
                and got.shape == want.shape and np.array_equal(got, want)), (
            f"{fn} ({np.dtype(dtype).name} inputs) changed its argument {name} (first values "
            f"before {want.ravel()[:4].tolist()}, after {np.asarray(got).ravel()[:4].tolist()}): "
            "do not modify the inputs; write into your own arrays")


def _three(grads):
    assert isinstance(grads, (list, tuple)) and len(grads) == 3, (
        f"conv2d_backward must return a tuple (grad_x, grad_w, grad_b), got {grads!r:.200}")
    return grads
