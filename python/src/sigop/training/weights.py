"""Class weights: imbalanced folders train as if every class had as many files."""

from __future__ import annotations

import numpy as np

from .config import TrainConfig

__all__ = ["class_weights"]


def class_weights(labels: np.ndarray, cfg: TrainConfig) -> dict[int, float] | None:
    """Keras class weights: each class's examples weigh n / (classes * count), so every class counts the same."""
    if cfg.class_weight != "balanced":
        return None
    counts = np.bincount(labels)
    return {int(c): float(len(labels) / (np.count_nonzero(counts) * n)) for c, n in enumerate(counts) if n}
