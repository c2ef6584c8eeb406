"""The baselines the benchmarks set beside sigop: the reference recipe's classifier as MiniRocket's authors fit it
(standardised features, ridge with the penalty chosen by cross-validation) and a random forest on fixed features."""

from __future__ import annotations

import time

import numpy as np


def ridge_accuracy(transform, a, b, y, yt) -> tuple[float, float]:
    """(test accuracy, training seconds) of ``transform``'s features of ``a`` (labels y) + ridge, scored on ``b``."""
    from sklearn.linear_model import RidgeClassifierCV
    from sklearn.preprocessing import StandardScaler

    t0 = time.perf_counter()
    fa = transform.fit_transform(a)
    scaler = StandardScaler(with_mean=False).fit(fa)
    clf = RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)).fit(scaler.transform(fa), y)
    seconds = time.perf_counter() - t0
    return float(np.mean(clf.predict(scaler.transform(transform.transform(b))) == yt)), seconds


def forest_accuracy(features, a, b, y, yt) -> tuple[float, float]:
    """(test accuracy, training seconds) of a 300-tree random forest on ``features`` of ``a``, scored on ``b``."""
    from sklearn.ensemble import RandomForestClassifier

    t0 = time.perf_counter()
    rf = RandomForestClassifier(300, random_state=0, n_jobs=-1).fit(features(a), y)
    seconds = time.perf_counter() - t0
    return float(np.mean(rf.predict(features(b)) == yt)), seconds
