"""MiniRocket-style features: fixed kernels, fitted biases, PPV pooling.

Dempster, Schmidt & Webb (2021), "MiniRocket": 84 fixed kernels of length 9
(weights -1, with 2 at three of the nine positions) at exponentially spaced
dilations; each kernel/dilation pair gets biases drawn from quantiles of its
output on a random training example; a feature is the proportion of
positions where the output exceeds a bias (PPV). Half the pairs see the
zero-padded ends of the signal, half only the inside, alternating.

Several channels (MiniRocketMultivariate, the authors' own form): each
kernel/dilation pair reads a random subset of 1 to 9 channels, sized
2^U(0, log2(min(channels, 9) + 1)), and sums their outputs.

Signals are zero-padded to the model's length; PPV counts only the positions
before each signal's last non-zero sample, so a short signal's padding does
not dilute its features (as MiniRocket's variable-length form does).

``fit`` draws the dilations and biases from training signals; ``transform``
computes the features in training (compiled, minirocket_kernels.py); the
exported graph computes the same ones with TensorFlow ops
(minirocket_graph.py). The classifier on top (ridge) is in linear.py.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ..progress import bar as progress_bar

from ..runtime.minirocket_kernels import (KERNEL_INDICES, KERNEL_LENGTH, all_channels, features, kernel_output,
                                          sees_padding, valid_lengths)
from .digest import content_key

__all__ = ["MiniRocketParams", "fit", "transform", "valid_lengths", "sees_padding", "KERNEL_INDICES", "KERNELS"]

log = logging.getLogger(__name__)

KERNELS = len(KERNEL_INDICES)
_GOLDEN = (np.sqrt(5) + 1) / 2


@dataclass(frozen=True)
class MiniRocketParams:
    dilations: tuple[int, ...]
    features_per_dilation: tuple[int, ...]  # per kernel
    biases: np.ndarray  # float32 [features], dilation-major, then kernel, then quantile
    channel_mask: np.ndarray | None = None  # uint8 [dilations, kernels, channels]: the channels each pair reads

    @property
    def features(self) -> int:
        return len(self.biases)

    @property
    def channels(self) -> int:
        return 1 if self.channel_mask is None else self.channel_mask.shape[2]

    @property
    def mask(self) -> np.ndarray:
        return all_channels(len(self.dilations)) if self.channel_mask is None else self.channel_mask

    def to_json(self) -> dict:
        out = {"kernels": KERNELS, "dilations": list(self.dilations),
               "features_per_dilation": list(self.features_per_dilation), "features": self.features}
        if self.channels > 1:
            out |= {"channels": self.channels, "channels_per_kernel": round(float(self.mask.sum(axis=2).mean()), 2)}
        return out


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


def fit(x: np.ndarray, features: int = 10_000, seed: int = 0) -> MiniRocketParams:
    """Dilations from the model's length; biases from quantiles of each pair's output on a random training signal.
    ``x``: [signals, samples], or [signals, channels, samples] (each pair then reads a random subset of channels)."""
    x = np.asarray(x, dtype=np.float32)
    x = x[:, None] if x.ndim == 2 else x
    channels, length = x.shape[1], x.shape[2]
    lengths = valid_lengths(x)
    dilations, per_dilation = _dilations(length, features)
    rng = np.random.default_rng(seed)
    mask = _channel_subsets(len(dilations), channels, rng) if channels > 1 else all_channels(len(dilations))
    quantiles = (np.arange(1, KERNELS * sum(per_dilation) + 1) * _GOLDEN) % 1
    biases, q = [], 0
    for i, (d, f) in enumerate(zip(dilations, per_dilation)):
        pick = rng.integers(0, len(x), KERNELS)  # one training signal per kernel
        for k in range(KERNELS):
            c = kernel_output(x[pick[k]], int(lengths[pick[k]]), d, KERNEL_INDICES[k], mask[i, k])
            biases.append(np.quantile(c, quantiles[q:q + f]).astype(np.float32))
            q += f
    return MiniRocketParams(tuple(dilations), tuple(per_dilation), np.concatenate(biases),
                            mask if channels > 1 else None)


def _channel_subsets(dilations: int, channels: int, rng: np.random.Generator) -> np.ndarray:
    """MiniRocketMultivariate's channel subsets: 2^U(0, log2(min(channels, 9) + 1)) channels per pair, at random."""
    mask = np.zeros((dilations, KERNELS, channels), np.uint8)
    top = np.log2(min(channels, KERNEL_LENGTH) + 1)
    sizes = (2 ** rng.uniform(0, top, (dilations, KERNELS))).astype(int)
    for i in range(dilations):
        for k in range(KERNELS):
            mask[i, k, rng.choice(channels, sizes[i, k], replace=False)] = 1
    return mask


def transform(params: MiniRocketParams, x: np.ndarray, progress: bool = False, chunk: int = 256) -> np.ndarray:
    """PPV features [signals, features] of zero-padded float32 signals [signals, (channels,) samples], the exported
    graph's own.

    A signal already transformed with the same parameters in this process (``--model auto`` scored MiniRocket on
    the training files, then the trainer asks again) is taken from memory, not computed twice."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    which = content_key(*(np.ascontiguousarray(a).tobytes() for a in (params.dilations, params.features_per_dilation,
                                                                      params.biases, params.mask)))
    keys = [content_key(which, row.tobytes()) for row in x]
    out = np.empty((len(x), params.features), np.float32)
    todo = []
    for i, key in enumerate(keys):
        known = _MEMO.get(key)
        if known is None:
            todo.append(i)
        else:
            out[i] = known
    if len(todo) < len(x):
        log.info("minirocket: %d of %d signals' features computed earlier in this run, reused", len(x) - len(todo),
                 len(x))
    with progress_bar(total=len(todo), desc="minirocket", unit="signal", disable=not progress or not todo) as bar:
        for start in range(0, len(todo), chunk):
            rows = todo[start:start + chunk]
            out[rows] = features(x[rows], params.dilations, params.features_per_dilation, params.biases, params.mask)
            for i in rows:
                _MEMO.put(keys[i], out[i])
            bar.update(len(rows))
    return out


class _Memo:
    """Features by (parameters, signal bytes), oldest dropped past ``limit`` bytes."""

    def __init__(self, limit: int):
        self.limit, self.held = limit, 0
        self._rows: OrderedDict[str, np.ndarray] = OrderedDict()

    def get(self, key: str) -> np.ndarray | None:
        return self._rows.get(key)

    def put(self, key: str, row: np.ndarray) -> None:
        if key not in self._rows:
            self._rows[key] = row.copy()
            self.held += row.nbytes
        while self.held > self.limit and self._rows:
            self.held -= self._rows.popitem(last=False)[1].nbytes


_MEMO = _Memo(1 << 30)
