"""Conv2d layer: implement conv2d_forward and conv2d_backward (numpy only, NCHW)."""

from __future__ import annotations

import numpy as np


def conv2d_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> np.ndarray:
    """2-D cross-correlation, as torch.nn.functional.conv2d computes it.

    Args:
        x: [N, C_in, H, W], float32 or float64.
        w: [C_out, C_in // groups, kH, kW], same dtype as x.
        b: [C_out] (same dtype) or None for no bias.
        stride, padding, dilation: an int, or an (h, w) pair (tuple or list).
            ``padding`` adds that many zero rows at the top and at the bottom
            (columns at the left and at the right).
        groups: C_in and C_out are multiples of it; output channels of group g
            see only the input channels of group g.

    Returns:
        [N, C_out, H_out, W_out] in the dtype of x, with
        H_out = (H + 2 * pad_h - dil_h * (kH - 1) - 1) // stride_h + 1 (W_out alike).
    """
    raise NotImplementedError


def conv2d_backward(
    grad_out: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of L = sum(grad_out * conv2d_forward(x, w, b, ...)).

    Args:
        grad_out: dL/d(output), [N, C_out, H_out, W_out], same dtype as x.
        x, w, b, stride, padding, dilation, groups: as in conv2d_forward.

    Returns:
        (grad_x, grad_w, grad_b): arrays shaped like x, w and b, in the dtype of
        x; grad_b is None when b is None.
    """
    raise NotImplementedError
