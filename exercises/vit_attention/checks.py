"""Public checks for vit_attention: small cases with hand-computed answers."""

import numpy as np

from proctor.checks import check
from proctor.testing import assert_close


@check(points=1)
def patchify_basic(ctx):
    """patchify: a 4x4 one-channel image in 2x2 patches, and a 2x4 two-channel image."""
    img = np.arange(16.0).reshape(1, 4, 4, 1)
    expected = np.array([[[0.0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]])
    assert_close(ctx.candidate.patchify(img, 2), expected, "patchify(4x4x1 image, 2)")

    # value = 100*row + 10*col + channel: patches in (row, col, channel) order
    r, c, ch = np.meshgrid(np.arange(2), np.arange(4), np.arange(2), indexing="ij")
    img = (100 * r + 10 * c + ch)[None].astype(float)
    expected = np.array([[[0.0, 1, 10, 11, 100, 101, 110, 111],
                          [20, 21, 30, 31, 120, 121, 130, 131]]])
    assert_close(ctx.candidate.patchify(img, 2), expected, "patchify(2x4x2 image, 2)")


def _identity_qkv(d, key_bias):
    """q = x, k = key_bias for every token (identical keys), v = x."""
    w_qkv = np.hstack([np.eye(d), np.zeros((d, d)), np.eye(d)])
    b_qkv = np.concatenate([np.zeros(d), key_bias, np.zeros(d)])
    return w_qkv, b_qkv


@check(points=1)
def attention_uniform(ctx):
    """Identical keys give uniform weights: the output is the mean of the (non-padding)
    values, through the output projection; padding keys get no weight."""
    d = 4
    x = np.array([[[1.0, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]])
    w_qkv, b_qkv = _identity_qkv(d, np.array([1.0, -2.0, 0.5, 3.0]))
    mean_all = np.array([5.0, 6, 7, 8])
    got = ctx.candidate.multi_head_attention(x, w_qkv, b_qkv, np.eye(d), np.zeros(d), 2)
    assert_close(got, np.tile(mean_all, (1, 3, 1)), "identical keys, 2 heads, no mask")

    # two sequences; output projection y = 2 * o + 1
    x2 = np.concatenate([x, x])
    mask = np.array([[False, False, False], [False, False, True]])
    mean_first_two = np.array([3.0, 4, 5, 6])
    expected = np.stack([np.tile(2 * mean_all + 1, (3, 1)),
                         np.tile(2 * mean_first_two + 1, (3, 1))])
    got = ctx.candidate.multi_head_attention(x2, w_qkv, b_qkv, 2 * np.eye(d), np.ones(d), 1,
                                             key_padding_mask=mask)
    assert_close(got, expected, "identical keys, 1 head, last key of sequence 1 padded")


@check(points=1)
def attention_scaled(ctx):
    """Logits are divided by sqrt(head size): two keys whose scaled logits are (ln 3, 0)
    get weights (3/4, 1/4); a zero query gives (1/2, 1/2)."""
    d, hd = 8, 4  # 2 heads of 4
    x = np.zeros((1, 2, d))
    x[0, 0, 0], x[0, 0, 4] = 1.0, 4.0  # token 0 = (1, 0, 0, 0 | 4, 0, 0, 0); token 1 = 0
    w_qkv = np.hstack([np.zeros((d, d)), np.eye(d), np.eye(d)])  # q = b_q, k = x, v = x
    b_q = np.zeros(d)
    b_q[0] = 2 * np.log(3.0)  # head 0: logits (2 ln 3, 0) / sqrt(4) = (ln 3, 0); head 1: (0, 0)
    b_qkv = np.concatenate([b_q, np.zeros(2 * d)])
    row = np.array([0.75, 0, 0, 0, 2.0, 0, 0, 0])  # head 0: 3/4 * 1; head 1: 1/2 * 4
    got = ctx.candidate.multi_head_attention(x, w_qkv, b_qkv, np.eye(d), np.zeros(d), d // hd)
    assert_close(got, np.tile(row, (1, 2, 1)), "two keys, 2 heads of size 4")
