"""`sigop train` on normal files of one class: a model whose output is an anomaly score.

Condition monitoring often has recordings of a machine working normally and
none of it failing (Edge Impulse's anomaly blocks, DCASE's machine-sound
task). A one-class model computes MiniRocket's features of the waveform and
their distance from the principal subspace of the training files' features
(their mean plus the first ``DIMENSIONS`` principal directions, fewer when
there are fewer files): files like the training ones lie near it, others
do not. That distance is the model's single logit, so its probabilities are
1 for its one label and its unknown score (unknown.py, method ``residual``)
is the anomaly score, thresholded as every model's is: the threshold is set on
5-fold cross-validated distances of the training files, for --unknown-rate.
It was chosen by measurement (docs/unknown.md): on PLAID's training split it
separated each appliance class from the others better than Mahalanobis
distance in the subspace or the nearest training file's distance.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np

from ..audio import fit_length
from ..signals import signals_meta
from ..tfenv import tf
from ..unknown import residual_score
from .config import SHIFT_INVARIANT, TrainConfig
from .dataset import scan
from .minirocket import fit as fit_minirocket
from .minirocket import transform
from .minirocket_graph import MiniRocketLayer
from .networks import waveform_model
from .waveforms import finish
from .waves import front_end_and_waves

__all__ = ["train", "subspace", "residuals", "DIMENSIONS", "MIN_FILES"]

log = logging.getLogger(__name__)
keras = tf.keras

DIMENSIONS = 32  # principal directions kept (at most the training files less two)
MIN_FILES = 5
FOLDS = 5


def subspace(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean [features], basis [dimensions, features]) of the training features."""
    mean = feats.mean(axis=0)
    _, _, vt = np.linalg.svd(feats - mean, full_matrices=False)
    return mean.astype(np.float32), vt[:max(1, min(DIMENSIONS, len(feats) - 2))].astype(np.float32)


def residuals(feats: np.ndarray, mean: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Distances [n] of features from the subspace."""
    z = np.asarray(feats, np.float32) - mean
    return np.linalg.norm(z - (z @ basis.T) @ basis, axis=1)


def _cross_validated(feats: np.ndarray, seed: int) -> np.ndarray:
    """Each training file's distance from the subspace of the other folds' files."""
    order = np.random.default_rng(seed).permutation(len(feats))
    out = np.empty(len(feats))
    for fold in np.array_split(order, min(FOLDS, len(feats))):
        rest = np.setdiff1d(order, fold)
        out[fold] = residuals(feats[fold], *subspace(feats[rest]))
    return out


def train(cfg: TrainConfig) -> dict:
    started = time.perf_counter()
    keras.utils.set_random_seed(cfg.seed)
    ds = scan(cfg.data, validation_pct=0, test_pct=cfg.test_pct, group=cfg.group, test_root=cfg.test_data,
              min_classes=1)
    if len(ds.classes) != 1:
        raise ValueError(f"{cfg.data}: --one-class trains on one class folder of normal files; found {len(ds.classes)} "
                         f"({ds.classes})")
    if cfg.model not in ("auto", "minirocket"):
        raise ValueError(f"a one-class model is MiniRocket features and their distance from the normal files'; "
                         f"--model {cfg.model} needs two classes or more")
    if cfg.quantize:
        raise ValueError("a one-class model's features and their distance stay float32, so an int8 copy would "
                         "quantize nothing: drop --quantize (model.tflite is its LiteRT copy)")
    if not ds.has_signals:
        raise ValueError(f"{cfg.data}: one-class models take signals or sound files, not images")
    cfg = replace(cfg, model="minirocket", front_end="")
    meta = signals_meta(cfg.data)
    fe, waves, declared = front_end_and_waves(cfg, ds, meta)
    train_mask = np.array([i.split == "train" for i in ds.items])
    if train_mask.sum() < MIN_FILES:
        raise ValueError(f"{cfg.data}: {int(train_mask.sum())} training files; a one-class model needs at least "
                         f"{MIN_FILES} normal files to train and calibrate on")
    log.info("one class %r: %d files (%d training), %g Hz, %d samples", ds.classes[0], len(ds.items),
             int(train_mask.sum()), fe.sample_rate, fe.samples)
    x = np.stack([fit_length(waves[item.path], fe.samples) for item in ds.items])
    params = fit_minirocket(x[train_mask], seed=cfg.seed)
    feats = transform(params, x, cfg.progress)
    mean, basis = subspace(feats[train_mask])
    unknown = residual_score(_cross_validated(feats[train_mask], cfg.seed), cfg.unknown_rate,
                             f"{FOLDS}-fold cross-validation on the training files")

    inputs = keras.Input(fe.shape, name="features")
    waves_in = keras.layers.Permute((2, 1))(inputs) if fe.channels > 1 else keras.layers.Reshape((fe.samples,))(inputs)

    def distance(f):
        z = f - mean
        r = z - tf.matmul(tf.matmul(z, basis, transpose_b=True), basis)
        return tf.sqrt(tf.reduce_sum(r * r, axis=1, keepdims=True))

    d = keras.layers.Lambda(distance, name="residual")(MiniRocketLayer(params, name="minirocket")(waves_in))
    head = keras.layers.Dense(1, activation="softmax", name="probabilities")  # its logit is the distance
    outputs = head(d)
    head.set_weights([np.ones((1, 1), np.float32), np.zeros(1, np.float32)])
    model = waveform_model(fe, keras.Model(inputs, outputs, name="one_class"))
    compiled = {"dilations": np.array(params.dilations), "features_per_dilation": np.array(params.features_per_dilation),
                "biases": params.biases, "channel_mask": params.channel_mask, "mean": mean,
                "scale": np.ones_like(mean), "kernel": np.zeros((len(mean), 1), np.float32),
                "bias": np.zeros(1, np.float32), "residual_basis": basis}
    extra = {"minirocket": params.to_json(),
             "one_class": {"method": "distance from the training files' principal subspace of MiniRocket features",
                           "dimensions": int(len(basis)), "training_files": int(train_mask.sum())}}
    logits = residuals(feats, mean, basis)[:, None]
    return finish(cfg, ds, fe, model, logits, {}, extra, meta, started, SHIFT_INVARIANT["minirocket"],
                  compiled=compiled, rate_declared=declared, unknown=unknown)
