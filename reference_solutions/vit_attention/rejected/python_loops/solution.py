"""Correct on every input, but loops in Python over patches (patchify) and over sequences,
heads and queries (attention): far over both latency budgets."""

from __future__ import annotations

import math

import numpy as np


def patchify(images: np.ndarray, patch: int) -> np.ndarray:
    images = np.asarray(images)
    b, h, w, c = images.shape
    gh, gw = h // patch, w // patch
    out = np.empty((b, gh * gw, patch * patch * c), dtype=images.dtype)
    for n in range(b):
        for i in range(gh):
            for j in range(gw):
                cell = images[n, i * patch:(i + 1) * patch, j * patch:(j + 1) * patch, :]
                out[n, i * gw + j] = cell.reshape(-1)
    return out


def multi_head_attention(x, w_qkv, b_qkv, w_out, b_out, num_heads, key_padding_mask=None):
    x = np.asarray(x, dtype=np.float64)
    w_qkv, b_qkv = np.asarray(w_qkv, np.float64), np.asarray(b_qkv, np.float64)
    w_out, b_out = np.asarray(w_out, np.float64), np.asarray(b_out, np.float64)
    b, n, d = x.shape
    hd = d // num_heads
    out = np.empty((b, n, d))
    for s in range(b):
        qkv = x[s] @ w_qkv + b_qkv
        q, k, v = qkv[:, :d], qkv[:, d:2 * d], qkv[:, 2 * d:]
        if key_padding_mask is None:
            real = np.ones(n, dtype=bool)
        else:
            real = ~np.asarray(key_padding_mask[s], dtype=bool)
        heads_out = np.zeros((n, d))
        for h in range(num_heads):
            cols = slice(h * hd, (h + 1) * hd)
            k_h, v_h = k[real, cols], v[real, cols]
            if len(k_h) == 0:
                continue  # every key is padding: attention output 0
            for i in range(n):
                logits = k_h @ q[i, cols] / math.sqrt(hd)
                e = np.exp(logits - logits.max())
                heads_out[i, cols] = (e / e.sum()) @ v_h
        out[s] = heads_out @ w_out + b_out
    return out
