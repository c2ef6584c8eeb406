"""A cross-validated ridge classifier on fixed features, exported as one dense softmax layer.

MiniRocket's authors pair its features with a ridge classifier whose penalty
is chosen by leave-one-out cross-validation (scikit-learn's
RidgeClassifierCV, which computes every left-out prediction in closed form).
Ridge gives scores, not probabilities, so a softmax temperature is fitted
to the left-out scores (minimum log loss): the exported probabilities are
calibrated on predictions the classifier did not train on. The graph
standardises the features elementwise, then one Dense layer holds ridge and
temperature. Folded into the Dense layer too, the standardisation would give
features of small spread weights ~1/std, and the matmul's sum would cancel
large terms, which TensorFlow and LiteRT round differently (1.6e-5 apart).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

__all__ = ["LinearFit", "fit_ridge", "cross_validated_accuracy", "ALPHAS"]

ALPHAS = np.logspace(-3, 3, 10)


@dataclass
class LinearFit:
    mean: np.ndarray  # [features]
    scale: np.ndarray  # [features]: 1 / std
    kernel: np.ndarray  # [features, classes]: logits = ((features - mean) * scale) @ kernel + bias
    bias: np.ndarray  # [classes]
    alpha: float
    temperature: float
    loo_accuracy: float  # leave-one-out accuracy on the training features
    left_out: np.ndarray | None = None  # [training rows, classes]: each row's logits from the fit without it

    def standardized(self, features: np.ndarray) -> np.ndarray:
        return (np.asarray(features, np.float32) - self.mean) * self.scale

    def logits(self, features: np.ndarray) -> np.ndarray:
        return self.standardized(features) @ self.kernel + self.bias

    def to_json(self) -> dict:
        return {"classifier": "ridge (RidgeClassifierCV, leave-one-out)", "alpha": self.alpha,
                "temperature": round(self.temperature, 4), "loo_accuracy": round(self.loo_accuracy, 4)}


def _ridge(class_weight: str | None):
    from sklearn.linear_model import RidgeClassifierCV

    return RidgeClassifierCV(alphas=ALPHAS, class_weight=class_weight)


def _standardize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    return mean, np.where(std > 1e-12, std, 1.0)


def fit_ridge(features: np.ndarray, labels: np.ndarray, classes: int, class_weight: str | None = "balanced") -> LinearFit:
    """Ridge on standardised features, penalty by leave-one-out; every class must appear in ``labels``."""
    mean, std = _standardize(features)
    z = (features - mean) / std
    ridge = _ridge(class_weight).fit(z, labels)  # the penalty by leave-one-out squared error, as MiniRocket's authors
    if len(ridge.classes_) != classes:
        raise ValueError(f"the training split holds {len(ridge.classes_)} of {classes} classes; every class needs "
                         f"training files")
    coef, intercept = np.atleast_2d(ridge.coef_), np.atleast_1d(ridge.intercept_)
    if classes == 2:  # scikit-learn keeps one score for two classes: s for class 1, -s for class 0
        coef, intercept = np.concatenate([-coef, coef]) / 2, np.array([-intercept[0], intercept[0]]) / 2
    # The left-out scores at that penalty: with a scorer, scikit-learn stores predictions, not squared errors.
    again = _ridge(class_weight).set_params(alphas=[ridge.alpha_], scoring="accuracy", store_cv_results=True)
    loo = again.fit(z, labels).cv_results_[..., 0].reshape(len(z), -1)
    if classes == 2:
        loo = np.concatenate([-loo, loo], axis=1) / 2
    temperature = _temperature(loo, labels)
    return LinearFit(mean.astype(np.float32), (1 / std).astype(np.float32), (coef.T / temperature).astype(np.float32),
                     (intercept / temperature).astype(np.float32), float(ridge.alpha_), temperature,
                     float(np.mean(loo.argmax(axis=1) == labels)), (loo / temperature).astype(np.float32))


def _temperature(scores: np.ndarray, labels: np.ndarray) -> float:
    """The softmax temperature with the least log loss on left-out scores."""
    def loss(log_t: float) -> float:
        return -float(np.mean(log_softmax(scores / np.exp(log_t), axis=1)[np.arange(len(labels)), labels]))

    return float(np.exp(minimize_scalar(loss, bounds=(-8, 4), method="bounded").x))


def cross_validated_accuracy(features: np.ndarray, labels: np.ndarray, folds: int, seed: int,
                             groups: np.ndarray | None = None, class_weight: str | None = "balanced") -> float:
    """Stratified k-fold accuracy of the ridge probe on fixed features (the auto model's yardstick);
    with ``groups``, no group straddles a fold."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    counts = np.bincount(labels)
    folds = max(2, min(folds, int(counts[counts > 0].min())))
    if groups is None:
        splits = StratifiedKFold(folds, shuffle=True, random_state=seed).split(features, labels)
    else:
        folds = max(2, min(folds, len(set(groups))))
        splits = StratifiedGroupKFold(folds, shuffle=True, random_state=seed).split(features, labels, groups)
    right = 0
    for fit_on, score_on in splits:
        mean, std = _standardize(features[fit_on])
        ridge = _ridge(class_weight).fit((features[fit_on] - mean) / std, labels[fit_on])
        right += int(np.sum(ridge.predict((features[score_on] - mean) / std) == labels[score_on]))
    return right / len(labels)
