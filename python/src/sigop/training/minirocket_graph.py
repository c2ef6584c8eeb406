"""MiniRocket's features as TensorFlow ops: the layer frozen into an exported graph.

Training computes the features with compiled loops (minirocket_kernels.py);
this layer computes the same ones (to the bit when run eagerly; frozen, a
rare output lands on the other side of a bias) inside graph.pb and
model.tflite. Each kernel output is -sum(taps) + 3 (three taps) with
elementwise ops in a fixed order (a convolution's summation order is its
own, and TensorFlow's and LiteRT's differ), masked to the signal's own
positions; PPV is counted one bias at a time, never as a
[positions x biases] comparison, so memory grows with the signal length alone.
Several channels: every channel is convolved alike, and each pair's output is
the sum, in channel order, of its channels' outputs times its 0/1 mask
(adding a masked channel's +0 changes no value, so the sum is the compiled
loops' sum over the chosen channels).
"""

from __future__ import annotations

import numpy as np

from ..tfenv import tf
from .minirocket import KERNEL_INDICES, KERNEL_LENGTH, KERNELS, MiniRocketParams, sees_padding

__all__ = ["MiniRocketLayer"]

keras = tf.keras


def _convolve(x: "tf.Tensor", dilation: int) -> "tf.Tensor":
    """[batch, samples] -> [batch, samples, 84]: every kernel at one dilation, zero-padded ends.

    Computed as MiniRocket does, -sum(x) + 3 (x_i + x_j + x_k) over the nine
    dilated taps, with elementwise ops in a fixed order: TensorFlow and LiteRT
    then round every output alike, so no output falls on the other side of a
    bias in one runtime only (a convolution's summation order is its kernel's
    own, and the two runtimes' differ).
    """
    samples, reach = int(x.shape[1]), (KERNEL_LENGTH // 2) * dilation
    padded = tf.pad(x, [[0, 0], [reach, reach]])
    taps = [padded[:, m * dilation:m * dilation + samples] for m in range(KERNEL_LENGTH)]
    total = taps[0]
    for tap in taps[1:]:
        total = total + tap
    tripled = tf.stack([3.0 * tap for tap in taps], axis=2)  # [batch, samples, 9]
    out = -total[:, :, None]
    for column in range(3):
        out = out + tf.gather(tripled, KERNEL_INDICES[:, column], axis=2)
    return out



def _summed(x: "tf.Tensor", dilation: int, mask: np.ndarray) -> "tf.Tensor":
    """[batch, channels, samples] -> [batch, samples, 84]: each kernel's output summed over its ``mask``'s channels
    ([84, channels] of 0/1), in channel order."""
    channels, samples = int(x.shape[1]), int(x.shape[2])
    each = tf.reshape(_convolve(tf.reshape(x, [-1, samples]), dilation), [-1, channels, samples, KERNELS])
    out = None
    for ch in range(channels):
        term = each[:, ch] * tf.constant(mask[:, ch].astype(np.float32))[None, None, :]
        out = term if out is None else out + term
    return out


class MiniRocketLayer(keras.layers.Layer):
    """float32 waveforms [batch, samples] (or [batch, channels, samples]), zero-padded at the end -> PPV features
    [batch, features]."""

    def __init__(self, params: MiniRocketParams, **kwargs):
        super().__init__(trainable=False, **kwargs)
        self.params = params

    def call(self, x):
        x = tf.convert_to_tensor(x, tf.float32)
        several = self.params.channels > 1
        positions = tf.range(tf.shape(x)[-1])[None, :]  # [1, samples]
        nonzero = tf.cast(tf.not_equal(x, 0.0), tf.int32)
        if several:
            nonzero = tf.reduce_max(nonzero, axis=1)  # a position holds a sample if any channel does
        length = tf.maximum(tf.reduce_max(nonzero * (positions + 1), axis=1, keepdims=True), 1)  # [batch, 1]
        whole = positions < length  # [batch, samples]
        out, start = [], 0
        for i, (d, f) in enumerate(zip(self.params.dilations, self.params.features_per_dilation)):
            edge = (KERNEL_LENGTH // 2) * d
            inner = (positions >= edge) & (positions < length - edge)
            inner = tf.where(tf.reduce_any(inner, axis=1, keepdims=True), inner, whole)  # too short: use it all
            padded = tf.constant([sees_padding(i, k) for k in range(KERNELS)])[None, None, :]  # [1, 1, 84]
            mask = tf.where(padded, whole[:, :, None], inner[:, :, None])  # [batch, samples, 84]
            conv = _summed(x, d, self.params.mask[i]) if several else _convolve(x, d)
            c = tf.where(mask, conv, -np.inf)  # positions outside the mask are never above a bias
            counted = tf.reduce_sum(tf.cast(mask, tf.float32), axis=1)  # [batch, 84]
            b = self.params.biases[start:start + KERNELS * f].reshape(KERNELS, f)
            # One bias at a time: [batch, samples, 84] per step, never [.., biases] at once (4x faster here).
            above = [tf.reduce_sum(tf.cast(c > b[:, j], tf.float32), axis=1) / counted for j in range(f)]
            out.append(tf.reshape(tf.stack(above, axis=2), [-1, KERNELS * f]))
            start += KERNELS * f
        return tf.concat(out, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.params.features)
