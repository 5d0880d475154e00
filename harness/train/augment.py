"""DiffAugment (Zhao et al. 2020): differentiable augmentation of every image D sees.

Colour (brightness, saturation, contrast), translation by up to 1/8 of the
image with zero padding, and cutout of a square half the image's side, applied
identically in kind to real and generated batches, in both the D and the G
update, so D cannot tell them apart by the augmentation. Randomness is
stateless, drawn from (seed, step, call), so runs stay reproducible and
resumable.
"""

from __future__ import annotations

import tensorflow as tf


def _uniform(shape, seed, lo=0.0, hi=1.0):
    return tf.random.stateless_uniform(shape, seed=seed, minval=lo, maxval=hi)


def diff_augment(x, seed):
    """x: float [B, H, W, C] in [-1, 1]; seed: int64 [2] tensor."""
    b = tf.shape(x)[0]
    h, w = x.shape[1], x.shape[2]
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 6)
    # Colour.
    x = x + (_uniform([b, 1, 1, 1], seeds[0]) - 0.5)
    mean = tf.reduce_mean(x, axis=3, keepdims=True)
    x = (x - mean) * _uniform([b, 1, 1, 1], seeds[1], 0.0, 2.0) + mean
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    x = (x - mean) * _uniform([b, 1, 1, 1], seeds[2], 0.5, 1.5) + mean
    # Translation: shift by up to h/8, w/8 pixels, filling with zeros.
    sy, sx = h // 8, w // 8
    ty = tf.random.stateless_uniform([b, 1, 1], seeds[3], -sy, sy + 1, dtype=tf.int32)
    tx = tf.random.stateless_uniform([b, 1, 1], seeds[4], -sx, sx + 1, dtype=tf.int32)
    gy = tf.range(h)[None, :, None] - ty  # source row per target row
    gx = tf.range(w)[None, None, :] - tx
    valid = (gy >= 0) & (gy < h) & (gx >= 0) & (gx < w)
    gy, gx = tf.clip_by_value(gy, 0, h - 1), tf.clip_by_value(gx, 0, w - 1)
    gy = tf.broadcast_to(gy, [b, h, w])
    gx = tf.broadcast_to(gx, [b, h, w])
    idx = tf.stack([tf.broadcast_to(tf.range(b)[:, None, None], [b, h, w]), gy, gx], axis=-1)
    x = tf.gather_nd(x, idx) * tf.cast(valid, x.dtype)[..., None]
    # Cutout: a zeroed square of half the side; its top-left corner is offset - side/2 as in the paper's code.
    ch, cw = h // 2, w // 2
    oy = tf.random.stateless_uniform([b, 1, 1], seeds[5], 0, h + (1 - ch % 2), dtype=tf.int32) - ch // 2
    ox = tf.random.stateless_uniform([b, 1, 1], tf.reverse(seeds[5], [0]), 0, w + (1 - cw % 2),
                                     dtype=tf.int32) - cw // 2
    rows = tf.range(h)[None, :, None]
    cols = tf.range(w)[None, None, :]
    inside = (rows >= oy) & (rows < oy + ch) & (cols >= ox) & (cols < ox + cw)
    return x * (1.0 - tf.cast(inside, x.dtype))[..., None]
