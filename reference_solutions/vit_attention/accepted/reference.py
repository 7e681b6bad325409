"""Reference solution for vit_attention: ViT patch extraction and multi-head self-attention.

Budgets are measured against this file: vectorised (reshape / transpose / batched matmul),
float64, with a max-subtracted softmax and no Python loop over images, heads or tokens.
"""

from __future__ import annotations

import numpy as np


def patchify(images: np.ndarray, patch: int) -> np.ndarray:
    """``[B, H, W, C]`` images -> ``[B, N, patch*patch*C]`` patches (dtype kept).

    Patches in row-major order over the grid; each flattened as (row, col, channel).
    """
    x = np.asarray(images)
    if x.ndim != 4:
        raise ValueError(f"images must be [B, H, W, C], got shape {x.shape}")
    p = int(patch)
    b, h, w, c = x.shape
    if p < 1 or h % p or w % p:
        raise ValueError(f"H={h} and W={w} must be multiples of patch={p}")
    gh, gw = h // p, w // p
    # [B, gh, p, gw, p, C] -> [B, gh, gw, p, p, C]: grid cells first, then the pixels
    # inside a cell in (row, col, channel) order; reshape copies into that order.
    cells = x.reshape(b, gh, p, gw, p, c).transpose(0, 1, 3, 2, 4, 5)
    return cells.reshape(b, gh * gw, p * p * c)


def multi_head_attention(
    x: np.ndarray,
    w_qkv: np.ndarray,
    b_qkv: np.ndarray,
    w_out: np.ndarray,
    b_out: np.ndarray,
    num_heads: int,
    key_padding_mask: np.ndarray | None = None,
) -> np.ndarray:
    """Multi-head scaled dot-product self-attention -> float64 ``[B, N, D]``."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"x must be [B, N, D], got shape {x.shape}")
    b, n, d = x.shape
    heads = int(num_heads)
    if heads < 1 or d % heads:
        raise ValueError(f"D={d} is not divisible by num_heads={heads}")
    hd = d // heads

    qkv = x @ np.asarray(w_qkv, dtype=np.float64) + np.asarray(b_qkv, dtype=np.float64)
    # [B, N, 3D] -> [3, B, heads, N, hd]: q/k/v, then contiguous chunks of D per head
    q, k, v = qkv.reshape(b, n, 3, heads, hd).transpose(2, 0, 3, 1, 4)
    scores = (q * (1.0 / np.sqrt(hd))) @ k.swapaxes(-1, -2)  # [B, heads, Nq, Nk]

    if key_padding_mask is not None:
        pad = np.asarray(key_padding_mask, dtype=bool)
        if pad.shape != (b, n):
            raise ValueError(f"key_padding_mask must be [B, N] = {(b, n)}, got {pad.shape}")
        scores = np.where(pad[:, None, None, :], -np.inf, scores)  # padded keys: weight 0

    # Stable softmax over the keys, in place: subtracting the row maximum keeps exp <= 1.
    row_max = scores.max(axis=-1, keepdims=True)
    if key_padding_mask is not None:
        row_max[np.isneginf(row_max)] = 0.0  # every key padded: all weights become 0
    scores -= row_max
    weights = np.exp(scores, out=scores)
    total = weights.sum(axis=-1, keepdims=True)
    if key_padding_mask is not None:
        total[total == 0.0] = 1.0  # 0 / 1: a fully padded query attends to nothing
    weights /= total

    out = (weights @ v).transpose(0, 2, 1, 3).reshape(b, n, d)  # heads back in order
    return out @ np.asarray(w_out, dtype=np.float64) + np.asarray(b_out, dtype=np.float64)
