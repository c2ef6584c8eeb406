"""Cross-validated heads on cached backbone features: the unknown score's calibration for a spectrum-image model.

A validation split of 10 % is a few files per class (the end-to-end tests'
article model: 14), and a threshold set on them missed its rate by 30 points.
Heads are cheap on cached features, so k heads are each fitted without one
fold of the training and validation files, for as many epochs as the final
head's best, and every one of those files gets logits from a head that never
saw it: the threshold rests on all of them."""

from __future__ import annotations

import logging

import numpy as np

from ..tfenv import tf
from .heads import dense_head
from .weights import class_weights

__all__ = ["head_folds", "FOLDS", "MIN_FILES"]

keras = tf.keras
log = logging.getLogger(__name__)

FOLDS = 5
MIN_FILES = 20  # fewer training and validation files: the validation split it is


def head_folds(cfg, features: int, classes: int, feats: np.ndarray, labels: np.ndarray, item_of: np.ndarray,
               originals: np.ndarray, pool: np.ndarray, pool_labels: np.ndarray, epochs: int) -> list | None:
    """[(fold head's logits of the files it fitted, their labels, its logits of the held-out files)] for
    unknown.fit_logit_mahalanobis_folds; None when too few files. ``feats``, ``labels``, ``item_of`` (the file of
    each example), ``originals`` (an example is a file unaugmented) run over examples; ``pool`` is the files
    (indices) to fold, ``pool_labels`` their classes."""
    from sklearn.model_selection import StratifiedKFold

    from .unknown_fit import predict_logits

    smallest = np.bincount(pool_labels, minlength=classes).min()
    if len(pool) < MIN_FILES or smallest < 2:
        return None
    k = int(min(FOLDS, smallest))
    folds = []
    for fitted, held in StratifiedKFold(k, shuffle=True, random_state=cfg.seed).split(pool, pool_labels):
        fit_files, held_files = pool[fitted], pool[held]
        fit_rows = np.isin(item_of, fit_files)
        head = dense_head(features, classes, cfg.dropout)
        head.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss="sparse_categorical_crossentropy")
        head.fit(feats[fit_rows], labels[fit_rows], batch_size=cfg.batch_size, epochs=max(1, epochs), verbose=0,
                 shuffle=True, class_weight=class_weights(labels[fit_rows], cfg))
        seen, unseen = fit_rows & originals, np.isin(item_of, held_files) & originals
        folds.append((predict_logits(head, feats[seen], 256), labels[seen], predict_logits(head, feats[unseen], 256)))
    log.info("unknown score: %d heads cross-validated on %d files for its threshold", k, len(pool))
    return folds
