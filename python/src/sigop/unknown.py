"""The unknown score: how unlike a model's training data an input is (higher: less like it), and its threshold.

Every classifier sigop exports computes it in its graph from its logits:
``logit_mahalanobis`` is the distance, in the logit space, from the nearest
class's mean under one covariance shared by the classes (fitted on the
training files' logits, shrunk 10 % towards its mean variance so that a few
files per class still give an invertible matrix). It was chosen by measurement
(docs/unknown.md): with a quarter of the classes held out, it separated unseen
classes better than the max-softmax baseline on PLAID's training split and on
ACSF1, where feature-space Mahalanobis and nearest-neighbour distances on
MiniRocket's 10,000 features did worse than the baseline. A one-class model
(``residual``) has one logit, its features' distance from the training files'
principal subspace, which is its score.

Scores are divided by their 95th percentile on calibration files (known files
the model did not fit: the validation split, ridge's leave-one-out
predictions, or cross-validation folds), so that ~1 is the edge of what
training looked like for every model. The threshold is the calibration
scores' conformal (1 - rate) quantile: at most ``rate`` of new known files
are called unknown, however few the calibration files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["UnknownScore", "fit_logit_mahalanobis", "fit_logit_mahalanobis_folds", "fit_max_softmax", "neg_log_max_softmax", "residual_score", "conformal_quantile", "DEFAULT_RATE", "SHRINK", "METHODS"]

DEFAULT_RATE = 0.05  # known files called unknown at the calibrated threshold
SHRINK = 0.1  # covariance shrinkage towards its mean variance
NORMALISE_AT = 0.95  # calibration quantile that scores are divided by
METHODS = ("logit_mahalanobis", "max_softmax", "residual")


@dataclass
class UnknownScore:
    method: str
    scale: float  # raw scores are divided by it
    threshold: float  # in divided units: above it, an input is unknown
    rate: float  # the false-rejection rate the threshold was set for
    calibration: str  # what the threshold was calibrated on
    calibration_files: int
    means: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))  # [classes, classes]
    precision: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))  # [classes, classes]

    def raw(self, logits: np.ndarray) -> np.ndarray:
        logits = np.asarray(logits, np.float64)
        if self.method == "residual":
            return logits[:, 0]
        if self.method == "max_softmax":
            return neg_log_max_softmax(logits)
        d = logits[:, None, :] - self.means.astype(np.float64)[None]  # [n, classes, classes]
        q = np.einsum("nki,ij,nkj->nk", d, self.precision.astype(np.float64), d)
        return np.sqrt(np.maximum(q.min(axis=1), 0.0))

    def score(self, logits: np.ndarray) -> np.ndarray:
        """Unknown scores [n] of logits [n, classes], in the units of the threshold."""
        return (self.raw(logits) / self.scale).astype(np.float32)

    def to_json(self) -> dict:
        return {"method": self.method, "threshold": round(float(self.threshold), 6), "rate": self.rate,
                "scale": float(self.scale), "calibration": self.calibration,
                "calibration_files": self.calibration_files}

    def arrays(self) -> dict[str, np.ndarray]:
        """What a runtime outside the graph needs (the compiled MiniRocket's npz)."""
        return {"unknown_means": self.means, "unknown_precision": self.precision} \
            if self.method == "logit_mahalanobis" else {}

    @classmethod
    def from_json(cls, d: dict, arrays: dict | None = None) -> "UnknownScore":
        arrays = arrays or {}
        return cls(d["method"], float(d["scale"]), float(d["threshold"]), float(d["rate"]), d.get("calibration", ""),
                   int(d.get("calibration_files", 0)), arrays.get("unknown_means", np.zeros((0, 0), np.float32)),
                   arrays.get("unknown_precision", np.zeros((0, 0), np.float32)))


def _calibrated(score: UnknownScore, raw: np.ndarray) -> UnknownScore:
    """``score`` with its scale and threshold set from the raw scores of calibration files."""
    if not 0 < score.rate < 1:
        raise ValueError(f"--unknown-rate is {score.rate:g}; expected a fraction between 0 and 1 (0.05: 5 % of known "
                         f"inputs called unknown)")
    raw = np.asarray(raw, np.float64)
    raw = raw[np.isfinite(raw)]
    if not raw.size:
        raise ValueError("no calibration files: the unknown score's threshold needs known files the model did "
                         "not fit")
    score.scale = float(np.quantile(raw, NORMALISE_AT)) or 1.0
    score.threshold = conformal_quantile(raw, score.rate) / score.scale
    score.calibration_files = int(raw.size)
    return score


def conformal_quantile(raw: np.ndarray, rate: float) -> float:
    """The threshold that calls at most ``rate`` of new known inputs unknown, for n calibration scores taken as
    exchangeable with them: the ceil((n + 1)(1 - rate))-th smallest score (split conformal). The plain (1 - rate)
    quantile of n scores calls more than ``rate`` of new inputs unknown, by about 1/n: on small calibration sets,
    most of the gap between the rate asked and the rate measured. Fewer than 1/rate - 1 files cannot set a
    threshold that strict: the largest score is taken (and the caller warns)."""
    raw = np.sort(np.asarray(raw, np.float64))
    rank = int(np.ceil((raw.size + 1) * (1 - rate)))
    return float(raw[min(rank, raw.size) - 1])


def _class_statistics(z: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Class means [k, k] and the shared, shrunk precision [k, k] of logits z [n, k]."""
    k = z.shape[1]
    means = np.stack([z[labels == c].mean(axis=0) if np.any(labels == c) else np.full(k, np.inf) for c in range(k)])
    centred = z - means[labels]
    cov = centred.T @ centred / len(z)
    cov = (1 - SHRINK) * cov + SHRINK * np.trace(cov) / k * np.eye(k) + 1e-9 * np.eye(k)
    return means, np.linalg.inv(cov)


def fit_logit_mahalanobis(train_logits: np.ndarray, train_labels: np.ndarray, calibration_logits: np.ndarray,
                          rate: float, calibration: str) -> UnknownScore:
    """Class means and the shared, shrunk precision of the training logits; the threshold on calibration logits."""
    score = _logit_mahalanobis(train_logits, train_labels, rate, calibration)
    return _calibrated(score, score.raw(calibration_logits))


def fit_logit_mahalanobis_folds(train_logits: np.ndarray, train_labels: np.ndarray, folds, rate: float,
                                calibration: str) -> UnknownScore:
    """The score of the final model's training logits, its threshold from cross-validation: ``folds`` are
    (fold's training logits, their labels, held-out files' logits) of models fitted without the held-out files.
    Each held-out file is scored under its own fold's statistics: distances whitened by each model's own
    covariance are comparable across models whose logits differ in scale, where one model's means are not."""
    raw = []
    for fit_logits, fit_labels, held_out in folds:
        raw.append(_logit_mahalanobis(fit_logits, fit_labels, rate, calibration).raw(held_out))
    return _calibrated(_logit_mahalanobis(train_logits, train_labels, rate, calibration), np.concatenate(raw))


def _logit_mahalanobis(train_logits, train_labels, rate: float, calibration: str) -> UnknownScore:
    z = np.asarray(train_logits, np.float64)
    means, precision = _class_statistics(z, np.asarray(train_labels))
    return UnknownScore("logit_mahalanobis", 1.0, 0.0, rate, calibration, 0, means.astype(np.float32),
                        precision.astype(np.float32))


def neg_log_max_softmax(logits: np.ndarray) -> np.ndarray:
    """-log(max softmax) [n] of logits [n, classes]: max-softmax's ranking, as log(1 + the other classes' exp(l - max)),
    which keeps the confident inputs apart where 1 - max softmax rounds to 0."""
    logits = np.asarray(logits, np.float64)
    best = logits.argmax(axis=1)
    others = np.exp(logits - logits[np.arange(len(logits)), best][:, None])
    others[np.arange(len(logits)), best] = 0.0  # the top class alone (a tie's other class counts)
    return np.log1p(others.sum(axis=1))


def fit_max_softmax(calibration_logits: np.ndarray, rate: float, calibration: str) -> UnknownScore:
    """The max-softmax score (-log of the top probability), its threshold on calibration logits: for networks,
    where it ranked unseen classes better than the logit-space distance (docs/unknown.md)."""
    score = UnknownScore("max_softmax", 1.0, 0.0, rate, calibration, 0)
    return _calibrated(score, score.raw(calibration_logits))


def residual_score(calibration_raw: np.ndarray, rate: float, calibration: str) -> UnknownScore:
    """A one-class model's score (its single logit) with the threshold from cross-validated raw scores."""
    return _calibrated(UnknownScore("residual", 1.0, 0.0, rate, calibration, 0), calibration_raw)
