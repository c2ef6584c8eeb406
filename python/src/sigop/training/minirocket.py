"""MiniRocket-style features as TensorFlow ops: fixed kernels, fitted biases, PPV pooling.

Dempster, Schmidt & Webb (2021), "MiniRocket": 84 fixed kernels of length 9
(weights -1, with 2 at three of the nine positions) at exponentially spaced
dilations; each kernel/dilation pair gets biases drawn from quantiles of its
output on a random training example; a feature is the proportion of
positions where the output exceeds a bias (PPV). Half the pairs see the
zero-padded ends of the signal, half only the inside, alternating.

Here the transform is a Keras layer of plain TensorFlow ops, so it is frozen
into the exported graph like any front end. Signals reach the graph
zero-padded to the model's length; PPV counts only the positions before each
signal's last non-zero sample, so a short signal's padding does not dilute its
features (as MiniRocket's variable-length form does). PPV is counted one
bias at a time, never as a [positions x biases] comparison, so memory grows
with the signal length alone.

``fit`` draws the dilations and biases from training signals; the classifier
on top (ridge, cross-validated) is in linear.py.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..tfenv import tf

__all__ = ["MiniRocketParams", "MiniRocketLayer", "fit", "valid_lengths"]

keras = tf.keras

KERNEL_LENGTH = 9
KERNEL_INDICES = np.array(list(itertools.combinations(range(KERNEL_LENGTH), 3)))  # 84 x 3: where the 2s go
KERNELS = len(KERNEL_INDICES)
_GOLDEN = (np.sqrt(5) + 1) / 2


@dataclass(frozen=True)
class MiniRocketParams:
    dilations: tuple[int, ...]
    features_per_dilation: tuple[int, ...]  # per kernel
    biases: np.ndarray  # float32 [features], dilation-major, then kernel, then quantile

    @property
    def features(self) -> int:
        return len(self.biases)

    def to_json(self) -> dict:
        return {"kernels": KERNELS, "dilations": list(self.dilations),
                "features_per_dilation": list(self.features_per_dilation), "features": self.features}


def valid_lengths(x: np.ndarray) -> np.ndarray:
    """Samples up to and including each row's last non-zero value (at least 1)."""
    nonzero = x != 0
    last = x.shape[1] - np.argmax(nonzero[:, ::-1], axis=1)
    return np.where(nonzero.any(axis=1), last, 1)


def _dilations(length: int, features: int, max_dilations: int = 32) -> tuple[list[int], list[int]]:
    """MiniRocket's exponentially spaced dilations and each one's count of features per kernel."""
    per_kernel = max(1, features // KERNELS)
    true_max = min(per_kernel, max_dilations)
    multiplier = per_kernel / true_max
    max_exponent = np.log2(max(1.0, (length - 1) / (KERNEL_LENGTH - 1)))
    dilations, counts = np.unique(np.floor(np.logspace(0, max_exponent, true_max, base=2)).astype(int),
                                  return_counts=True)
    per_dilation = (counts * multiplier).astype(int)
    remainder, i = per_kernel - per_dilation.sum(), 0
    while remainder > 0:
        per_dilation[i] += 1
        remainder -= 1
        i = (i + 1) % len(per_dilation)
    return [int(d) for d in dilations], [int(f) for f in per_dilation]


def _padded(dilation_index: int, kernel: int) -> bool:
    """Which pairs see the zero-padded ends: alternating, as MiniRocket does."""
    return (dilation_index + kernel) % 2 == 0


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


def fit(x: np.ndarray, features: int = 10_000, seed: int = 0) -> MiniRocketParams:
    """Dilations from the model's length; biases from quantiles of each pair's output on a random training signal."""
    x = np.asarray(x, dtype=np.float32)
    length = x.shape[1]
    lengths = valid_lengths(x)
    dilations, per_dilation = _dilations(length, features)
    rng = np.random.default_rng(seed)
    quantiles = (np.arange(1, KERNELS * sum(per_dilation) + 1) * _GOLDEN) % 1
    biases, q = [], 0
    for d, f in zip(dilations, per_dilation):
        pick = rng.integers(0, len(x), KERNELS)  # one training signal per kernel
        out = _convolve(tf.constant(x[pick]), d).numpy()  # [84, samples, 84]
        for k in range(KERNELS):
            c = out[k, :lengths[pick[k]], k]
            biases.append(np.quantile(c, quantiles[q:q + f]).astype(np.float32))
            q += f
    return MiniRocketParams(tuple(dilations), tuple(per_dilation), np.concatenate(biases))


class MiniRocketLayer(keras.layers.Layer):
    """float32 waveforms [batch, samples], zero-padded at the end -> PPV features [batch, features]."""

    def __init__(self, params: MiniRocketParams, **kwargs):
        super().__init__(trainable=False, **kwargs)
        self.params = params

    def call(self, x):
        x = tf.convert_to_tensor(x, tf.float32)
        positions = tf.range(tf.shape(x)[1])[None, :]  # [1, samples]
        nonzero = tf.cast(tf.not_equal(x, 0.0), tf.int32)
        length = tf.maximum(tf.reduce_max(nonzero * (positions + 1), axis=1, keepdims=True), 1)  # [batch, 1]
        whole = positions < length  # [batch, samples]
        out, start = [], 0
        for i, (d, f) in enumerate(zip(self.params.dilations, self.params.features_per_dilation)):
            edge = (KERNEL_LENGTH // 2) * d
            inner = (positions >= edge) & (positions < length - edge)
            inner = tf.where(tf.reduce_any(inner, axis=1, keepdims=True), inner, whole)  # too short: use it all
            padded = tf.constant([_padded(i, k) for k in range(KERNELS)])[None, None, :]  # [1, 1, 84]
            mask = tf.where(padded, whole[:, :, None], inner[:, :, None])  # [batch, samples, 84]
            c = tf.where(mask, _convolve(x, d), -np.inf)  # positions outside the mask are never above a bias
            counted = tf.reduce_sum(tf.cast(mask, tf.float32), axis=1)  # [batch, 84]
            b = self.params.biases[start:start + KERNELS * f].reshape(KERNELS, f)
            # One bias at a time: [batch, samples, 84] per step, never [.., biases] at once (4x faster here).
            above = [tf.reduce_sum(tf.cast(c > b[:, j], tf.float32), axis=1) / counted for j in range(f)]
            out.append(tf.reshape(tf.stack(above, axis=2), [-1, KERNELS * f]))
            start += KERNELS * f
        return tf.concat(out, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.params.features)
