"""Timing for the benchmarks: the median of repeated calls, after warm-up calls."""

from __future__ import annotations

import statistics
import time

__all__ = ["median_seconds"]


def median_seconds(fn, repeats: int, warmup: int = 3) -> float:
    """The median seconds of ``repeats`` calls of ``fn``, after ``warmup`` calls that are not timed."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
