"""MiniRocket's arithmetic, compiled (numba): what training computes on every file, and what the
compiled runtime serves (compiled.py). Kernels, dilations and biases are MiniRocket's
(training/minirocket.py fits them).

The exported graph (training/minirocket_graph.py) computes the same features with
TensorFlow ops; both add the same float32 terms in the same order, and the
Keras layer agrees with these loops to the bit (test_minirocket). The frozen
graph, as TensorFlow runs it, puts a rare output on the other side of a bias
(62 of 2.6 M features on 6,381-sample signals), a feature moved by one
position: well inside the export check's tolerance on probabilities.

The speed is MiniRocket's own: a kernel has two weights (-1 and 2), so its
output is -sum(taps) + 3 (three taps), and each dilation's nine tripled taps
and their sum are computed once for its 84 kernels. Only a signal's own
samples are computed (its length, not the buffer's). Signals run in parallel
over the machine's cores.

Several channels: MiniRocket's multivariate form (Dempster et al.'s
MiniRocketMultivariate). Each kernel/dilation pair reads a random subset of
the channels (``channel_mask`` [dilations, 84, channels]) and its output is
the sum of its channels' outputs, added in channel order; one channel is
the mask of ones, and the univariate arithmetic.
"""

from __future__ import annotations

import itertools
import threading

import numba
import numpy as np

__all__ = ["features", "kernel_output", "sees_padding", "valid_lengths", "KERNEL_INDICES", "KERNEL_LENGTH",
           "all_channels"]

KERNEL_LENGTH = 9
KERNEL_INDICES = np.ascontiguousarray(list(itertools.combinations(range(KERNEL_LENGTH), 3)), np.int64)  # 84 x 3: the 2s
_THREE = np.float32(3.0)
_ONE_AT_A_TIME = threading.Lock()


def valid_lengths(x: np.ndarray) -> np.ndarray:
    """Samples up to and including each signal's last non-zero value in any channel (at least 1), of signals
    [signals, samples] or [signals, channels, samples]."""
    nonzero = x != 0
    if nonzero.ndim == 3:
        nonzero = nonzero.any(axis=1)
    last = nonzero.shape[1] - np.argmax(nonzero[:, ::-1], axis=1)
    return np.where(nonzero.any(axis=1), last, 1)


def all_channels(dilations: int, channels: int = 1) -> np.ndarray:
    """The channel mask of a univariate model: every pair reads its one channel."""
    return np.ones((dilations, len(KERNEL_INDICES), channels), np.uint8)


def features(x: np.ndarray, dilations: np.ndarray, per_dilation: np.ndarray, biases: np.ndarray,
             channel_mask: np.ndarray | None = None) -> np.ndarray:
    """PPV features [signals, features] of zero-padded float32 signals [signals, samples] or [signals, channels,
    samples]; one call at a time in the process (numba's default thread pool takes one parallel call at once), the
    GIL released while it runs."""
    x = np.asarray(x, dtype=np.float32)
    x = np.ascontiguousarray(x[:, None] if x.ndim == 2 else x)
    mask = all_channels(len(dilations), x.shape[1]) if channel_mask is None else channel_mask
    if mask.shape != (len(dilations), len(KERNEL_INDICES), x.shape[1]):
        raise ValueError(f"signals of {x.shape[1]} channels for a channel mask of shape {list(mask.shape)}")
    with _ONE_AT_A_TIME:
        return ppv_features(x, valid_lengths(x), np.asarray(dilations, np.int64), np.asarray(per_dilation, np.int64),
                            np.ascontiguousarray(biases, np.float32), KERNEL_INDICES,
                            np.ascontiguousarray(mask, np.uint8))


@numba.njit(cache=True, nogil=True)
def sees_padding(dilation_index: int, kernel: int) -> bool:
    """Which pairs see the zero-padded ends: alternating, as MiniRocket does (the graph asks too)."""
    return (dilation_index + kernel) % 2 == 0


@numba.njit(cache=True, nogil=True)
def _taps(x: np.ndarray, length: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """(-sum of the nine dilated taps, 3 x each tap) at positions [0, length), zero beyond the signal."""
    reach = 4 * d
    padded = np.zeros(length + 2 * reach, np.float32)
    padded[reach:reach + length] = x[:length]
    total = padded[:length].copy()
    tripled = np.empty((9, length), np.float32)
    tripled[0] = _THREE * padded[:length]
    for m in range(1, 9):
        tap = padded[m * d:m * d + length]
        for t in range(length):
            total[t] = total[t] + tap[t]
        for t in range(length):
            tripled[m, t] = _THREE * tap[t]
    for t in range(length):
        total[t] = -total[t]
    return total, tripled


@numba.njit(cache=True, nogil=True)
def _output(total: np.ndarray, tripled: np.ndarray, where: np.ndarray, out: np.ndarray) -> None:
    """One kernel's output: ((-sum + 3 tap_i) + 3 tap_j) + 3 tap_k, in that order."""
    a, b, c = tripled[where[0]], tripled[where[1]], tripled[where[2]]
    for t in range(total.shape[0]):
        out[t] = ((total[t] + a[t]) + b[t]) + c[t]


@numba.njit(cache=True, nogil=True)
def _above(values: np.ndarray, bias: np.float32) -> int:
    """How many values exceed the bias (indices from 0, so the loop vectorises)."""
    n = 0
    for t in range(values.shape[0]):
        n += np.int32(values[t] > bias)
    return n


@numba.njit(cache=True, nogil=True)
def kernel_output(x: np.ndarray, length: int, d: int, where: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """One kernel's output over a signal's [channels, samples] own ``length`` samples, summed over the channels
    ``mask`` selects (for fitting biases)."""
    out = np.zeros(length, np.float32)
    one = np.empty(length, np.float32)
    for ch in range(x.shape[0]):
        if mask[ch]:
            total, tripled = _taps(x[ch], length, d)
            _output(total, tripled, where, one)
            for t in range(length):
                out[t] = out[t] + one[t]
    return out


@numba.njit(cache=True, nogil=True)
def _summed(totals: np.ndarray, tripleds: np.ndarray, where: np.ndarray, mask: np.ndarray, c: np.ndarray,
            one: np.ndarray) -> None:
    """A kernel's output summed over the channels ``mask`` selects, in channel order (the graph's order)."""
    first = True
    for ch in range(totals.shape[0]):
        if mask[ch]:
            if first:
                _output(totals[ch], tripleds[ch], where, c)
                first = False
            else:
                _output(totals[ch], tripleds[ch], where, one)
                for t in range(c.shape[0]):
                    c[t] = c[t] + one[t]


@numba.njit(cache=True, nogil=True)
def _one(x: np.ndarray, length: int, dilations: np.ndarray, per_dilation: np.ndarray, biases: np.ndarray,
         indices: np.ndarray, mask: np.ndarray, out: np.ndarray) -> None:
    kernels, channels = indices.shape[0], x.shape[0]
    c = np.empty(length, np.float32)
    one = np.empty(length, np.float32)
    totals = np.empty((channels, length), np.float32)
    tripleds = np.empty((channels, 9, length), np.float32)
    feature = 0
    for i in range(dilations.shape[0]):
        d, f = dilations[i], per_dilation[i]
        for ch in range(channels):
            totals[ch], tripleds[ch] = _taps(x[ch], length, d)
        edge = 4 * d
        inner_lo, inner_hi = edge, length - edge
        if inner_hi <= inner_lo:  # too short for an inside: use it all
            inner_lo, inner_hi = 0, length
        for k in range(kernels):
            _summed(totals, tripleds, indices[k], mask[i, k], c, one)
            seen = c if sees_padding(i, k) else c[inner_lo:inner_hi]
            counted = np.float32(seen.shape[0])
            for j in range(f):
                out[feature] = np.float32(_above(seen, biases[feature])) / counted
                feature += 1


@numba.njit(cache=True, parallel=True, nogil=True)
def ppv_features(x: np.ndarray, lengths: np.ndarray, dilations: np.ndarray, per_dilation: np.ndarray,
                 biases: np.ndarray, indices: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """float32 [signals, channels, samples] with each signal's length -> PPV features [signals, features]."""
    out = np.empty((x.shape[0], biases.shape[0]), np.float32)
    for s in numba.prange(x.shape[0]):
        _one(x[s], lengths[s], dilations, per_dilation, biases, indices, mask, out[s])
    return out
