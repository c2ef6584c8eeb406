"""Fitting a classifier's unknown score (sigop/unknown.py) while it trains: logits, calibration files, threshold."""

from __future__ import annotations

import logging

import numpy as np

from ..export import linear_head
from ..unknown import UnknownScore, fit_logit_mahalanobis, fit_logit_mahalanobis_folds, fit_max_softmax
from .dataset import Dataset

__all__ = ["predict_logits", "fit_unknown", "measured_rate"]

log = logging.getLogger(__name__)


def predict_logits(model, x: np.ndarray, batch: int = 64) -> np.ndarray:
    """The model's logits (its final softmax lifted) for inputs x, ``batch`` at a time."""
    with linear_head(model):
        return np.concatenate([np.asarray(model(x[i:i + batch], training=False), np.float32)
                               for i in range(0, len(x), batch)]) if len(x) else np.zeros((0, 0), np.float32)


def fit_unknown(ds: Dataset, logits: np.ndarray, rate: float, left_out: np.ndarray | None = None,
                folds: list | None = None, method: str = "logit_mahalanobis") -> UnknownScore:
    """The score's class statistics from the training files' logits (one row per ds.items); its threshold from
    ``left_out`` (logits of the training files, each predicted by a fit without it: ridge's leave-one-out), from
    ``folds`` (cross-validated models: fit_logit_mahalanobis_folds) or else the validation split's. ``method``
    "max_softmax" (networks trained end to end) needs no class statistics, only the calibration logits."""
    split = np.array([i.split for i in ds.items])
    labels = np.array([i.label for i in ds.items])
    train = split == "train"
    if folds:
        what = f"{len(folds)}-fold cross-validation of the training and validation files"
        score = fit_logit_mahalanobis_folds(logits[train], labels[train], folds, rate, what)
    else:
        calibration, what = _calibration(split, logits, left_out)
        score = fit_max_softmax(calibration, rate, what) if method == "max_softmax" else \
            fit_logit_mahalanobis(logits[train], labels[train], calibration, rate, what)
    if score.calibration_files < 1 / rate - 1:
        log.warning("unknown score: %d calibration files cannot set a threshold for %.3g %% (at least %d needed): "
                    "it is their largest score, and more known inputs will be called unknown than asked",
                    score.calibration_files, 100 * rate, int(np.ceil(1 / rate - 1)))
    log.info("unknown score: %s, threshold %.4g for %.1f %% of known files called unknown (calibrated on %d files: "
             "%s)", score.method, score.threshold, 100 * rate, score.calibration_files, what)
    return score


def _calibration(split: np.ndarray, logits: np.ndarray, left_out: np.ndarray | None) -> tuple[np.ndarray, str]:
    """Logits of files the model did not fit, and what they are."""
    if left_out is not None:
        return left_out, "leave-one-out predictions of the training files"
    if (split == "validation").any():
        return logits[split == "validation"], "the validation split"
    # no file the model did not fit: the threshold is too low, and says so
    log.warning("unknown score: no validation files, so its threshold is calibrated on training files and will "
                "call more known inputs unknown than --unknown-rate asks")
    return logits[split == "train"], "the training files (no validation split: the threshold is optimistic)"


def measured_rate(ds: Dataset, logits: np.ndarray, score: UnknownScore) -> dict | None:
    """The share of the test split's (known) files over the threshold, beside the rate asked; None without one."""
    test = np.array([i.split == "test" for i in ds.items])
    if not test.any():
        return None
    over = score.score(logits[test]) > score.threshold
    return {"test_rate": round(float(over.mean()), 4), "test_files": int(test.sum())}
