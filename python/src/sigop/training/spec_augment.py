"""SpecAugment masks: bands of frequency and time of a front end's features set to the floor (0).

A training-only step (a layer in networks.py, eager calls in the transfer
path); what to mask and how wide comes from AudioAugment.
"""

from __future__ import annotations

from ..tfenv import tf
from .audio_augment import AudioAugment

__all__ = ["spec_mask"]


def spec_mask(features: tf.Tensor, aug: AudioAugment, seed: int | None = None) -> tf.Tensor:
    """SpecAugment masks on features [batch, bins, 1] (1-D) or [batch, frames, bands, 1] (2-D)."""
    x = tf.convert_to_tensor(features)
    gen = tf.random.Generator.from_seed(seed) if seed is not None else tf.random.get_global_generator()
    freq_axis = 1 if x.shape.rank == 3 else 2
    x = _masks(x, freq_axis, aug.freq_masks, aug.freq_mask_width, gen)
    if x.shape.rank == 4:
        x = _masks(x, 1, aug.time_masks, aug.time_mask_width, gen)
    return x


def _masks(x: tf.Tensor, axis: int, count: int, max_width: int, gen: tf.random.Generator) -> tf.Tensor:
    length, batch = tf.shape(x)[axis], tf.shape(x)[0]
    position = tf.range(length)[None, :]
    for _ in range(count):
        width = gen.uniform([batch], 0, max_width + 1, dtype=tf.int32)
        start = tf.cast(gen.uniform([batch]) * tf.cast(length - width + 1, tf.float32), tf.int32)
        inside = (position >= start[:, None]) & (position < (start + width)[:, None])  # [batch, length]
        x = tf.where(_view(inside, axis, x.shape.rank), tf.zeros_like(x), x)
    return x


def _view(mask: tf.Tensor, axis: int, rank: int) -> tf.Tensor:
    """[batch, length] -> broadcastable against a rank-``rank`` tensor along ``axis``."""
    for d in range(1, rank):
        if d != axis:
            mask = tf.expand_dims(mask, d)
    return mask
