"""Reproducible test signals, identical bit for bit to Go's signal.Noise."""

from __future__ import annotations

import numpy as np

__all__ = ["noise"]

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def noise(n: int, seed: int) -> np.ndarray:
    """n values uniform in [-1, 1) from SplitMix64 seeded with ``seed``.

    Value k is 2*u - 1 with u = (z_k >> 11) * 2**-53, z_k the k-th SplitMix64
    output; uint64 arithmetic wraps in numpy as in Go, so both agree exactly.
    """
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + _GAMMA * np.arange(1, n + 1, dtype=np.uint64)
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        z ^= z >> np.uint64(31)
    return 2.0 * ((z >> np.uint64(11)).astype(np.float64) * 2.0**-53) - 1.0
