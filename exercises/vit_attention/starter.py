"""Vision Transformer core: implement patchify and multi_head_attention (numpy only)."""

from __future__ import annotations

import numpy as np


def patchify(images: np.ndarray, patch: int) -> np.ndarray:
    """Split images into non-overlapping square patches and flatten each patch.

    Args:
        images: float array of shape [B, H, W, C] (channels last); H and W are
            multiples of ``patch``.
        patch: the patch side P, in pixels (P >= 1).

    Returns:
        array of shape [B, N, P*P*C] with N = (H // P) * (W // P), holding the
        values of ``images`` (same dtype). Patches are in row-major order over the
        patch grid (top-left first, then along the row); each patch is flattened
        in (row, col, channel) order.
    """
    raise NotImplementedError


def multi_head_attention(
    x: np.ndarray,
    w_qkv: np.ndarray,
    b_qkv: np.ndarray,
    w_out: np.ndarray,
    b_out: np.ndarray,
    num_heads: int,
    key_padding_mask: np.ndarray | None = None,
) -> np.ndarray:
    """Multi-head scaled dot-product self-attention, computed in float64.

    Args:
        x: float array [B, N, D] (float32 or float64).
        w_qkv: [D, 3D] and b_qkv: [3D]; ``x @ w_qkv + b_qkv`` holds q, k, v in
            that order along the last axis.
        w_out: [D, D] and b_out: [D], the output projection.
        num_heads: the number of heads, dividing D; with hd = D // num_heads, head h uses
            the contiguous columns h*hd : (h+1)*hd of q, k and v.
        key_padding_mask: None, or bool [B, N]; True marks a padding key that
            gets no attention. A query whose keys are all padding attends to
            nothing (its attention output is 0, so its result is b_out).

    Returns:
        float64 array [B, N, D]. Never NaN or inf for finite inputs, however
        large the attention logits.
    """
    raise NotImplementedError
