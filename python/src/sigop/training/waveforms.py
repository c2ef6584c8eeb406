"""`sigop train` for models that take waveforms: audio and raw spectra.

Files (WAV/FLAC/OGG, or .npy/.csv/.txt at the rate in the dataset's
signals.json) are resampled to the front end's rate; training copies are
augmented (audio_augment) and every example is padded or truncated to the
front end's length. ``cnn`` and ``dense`` train end to end with the front end
inside the Keras model (SpecAugment masks as a training-only layer);
``transfer`` draws the front end as an image, caches ImageNet bottlenecks and
trains a head, as the spectrum-image path does; ``minirocket`` computes fixed
random-kernel features of the raw waveform and fits a ridge classifier on
them (no epochs, so no validation split). The export takes waveforms.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
from scipy.special import softmax
from ..progress import bar as progress_bar

from ..audio import fit_length
from ..export import export_classifier
from ..frontend import FrontEnd
from ..runtime.compiled import save_compiled
from ..signals import signals_meta
from .waves import COVERED, covering_length, front_end_and_waves, load_waveform
from ..tfenv import tf
from .backbones import get_backbone
from .bottlenecks import BottleneckCache
from .digest import content_key
from .callbacks import fit_callbacks
from .config import SHIFT_INVARIANT, TrainConfig
from .dataset import Dataset, scan
from .export_check import check_export, convert_to_lite
from .heads import dense_head, stack
from .weights import class_weights
from .linear import fit_ridge
from .unknown_fit import fit_unknown, measured_rate, predict_logits
from ..unknown import UnknownScore
from .minirocket import fit as fit_minirocket
from .minirocket import transform as minirocket_transform
from .minirocket_graph import MiniRocketLayer
from .networks import build_network, waveform_model
from .report import split_results, write_report
from .spec_augment import spec_mask

__all__ = ["load_waveform", "train", "front_end_and_waves", "covering_length", "COVERED", "fit_network",
           "ridge_on", "minirocket_model", "finish"]

log = logging.getLogger(__name__)
keras = tf.keras

NETWORK_UNKNOWN = "max_softmax"  # a network's unknown score (MiniRocket's: logit_mahalanobis)


def train(cfg: TrainConfig) -> dict:
    """Train, evaluate and export a waveform classifier; returns the report's metrics."""
    started = time.perf_counter()
    keras.utils.set_random_seed(cfg.seed)
    no_epochs = cfg.model == "minirocket"  # nothing to stop early: every non-test file trains
    ds = scan(cfg.data, validation_pct=0 if no_epochs else cfg.validation_pct, test_pct=cfg.test_pct, group=cfg.group,
              test_root=cfg.test_data)
    meta = signals_meta(cfg.data)
    fe, waves, declared = front_end_and_waves(cfg, ds, meta)
    aug = cfg.audio_augment
    log.info("%d classes %s, %d files (%s); front end %s at %g Hz, %d samples (%.3f s)", len(ds.classes), ds.classes,
             len(ds.items), {s: len(ds.split(s)) for s in ("train", "validation", "test")}, fe.kind, fe.sample_rate,
             fe.samples, fe.samples / fe.sample_rate)
    if no_epochs:
        return _train_minirocket(cfg, ds, fe, waves, meta, started, declared)
    model, logits, history, extra = fit_network(cfg, ds, fe, waves)
    return finish(cfg, ds, fe, model, logits, history, extra, meta, started, SHIFT_INVARIANT[cfg.model], aug,
                  rate_declared=declared)


def fit_network(cfg: TrainConfig, ds: Dataset, fe: FrontEnd, waves: dict) -> tuple:
    """Train a network with epochs (cnn, dense, transfer), early stopping on the validation split;
    returns (model to export, logits of ds.items, history, extra details)."""
    aug = cfg.audio_augment
    # Examples: every file as it is, plus augmented copies of the training files.
    examples = ds.examples(aug.copies)
    x = np.zeros((len(examples), *fe.input_shape), dtype=np.float32)
    for i, (item, k) in enumerate(progress_bar(examples, desc="examples", unit="ex", disable=not cfg.progress)):
        w = waves[item.path]
        x[i] = aug.waveform(w, fe.sample_rate, item.augmentation_rng(cfg.seed, k), fe.samples) if k else \
            fit_length(w, fe.samples)
    y = np.array([item.label for item, _ in examples])
    split = np.array([item.split for item, _ in examples])
    train_mask, val_mask = split == "train", split == "validation"
    monitor = "val_loss" if val_mask.any() else "loss"
    report_dir = cfg.export_dir / "report"
    callbacks = fit_callbacks(monitor, cfg.patience, report_dir, cfg.epochs, cfg.model, cfg.progress)
    extra: dict = {}
    t0 = time.perf_counter()
    if cfg.model == "transfer":
        model, fit_on, fit_x, extra = _transfer(cfg, fe, examples, x, len(ds.classes))
    else:
        model = waveform_model(fe, build_network(cfg.model, fe.shape, len(ds.classes), cfg.dropout), aug)
        fit_on, fit_x = model, x
    fit_on.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss="sparse_categorical_crossentropy",
                   metrics=["accuracy"])
    hist = fit_on.fit(fit_x[train_mask], y[train_mask], batch_size=cfg.batch_size, epochs=cfg.epochs, verbose=0,
                      validation_data=(fit_x[val_mask], y[val_mask]) if val_mask.any() else None,
                      callbacks=callbacks, shuffle=True, class_weight=class_weights(y[train_mask], cfg))
    train_seconds = time.perf_counter() - t0
    history = {k: [float(v) for v in vs] for k, vs in hist.history.items()}

    # Evaluate the un-augmented files (ds.items, in order; transfer: the head on their cached features,
    # which the exported graph computes with the same ops).
    originals = np.array([k == 0 for _, k in examples])
    logits = predict_logits(fit_on, fit_x[originals])
    extra["timing"] = {"train_seconds": round(train_seconds, 2), **extra.pop("timing", {})}
    return model, logits, history, extra


def finish(cfg: TrainConfig, ds: Dataset, fe: FrontEnd, model, logits: np.ndarray, history: dict, extra: dict,
           meta: dict, started: float, shift_invariant: bool, aug=None, compiled: dict | None = None, *,
           rate_declared: bool, left_out: np.ndarray | None = None, unknown: UnknownScore | None = None) -> dict:
    """Unknown score, report, export and export check: the same for every waveform model (``logits``: one row
    per ds.items; ``compiled``: MiniRocket's arrays for minirocket.npz; ``rate_declared``: front_end_and_waves's
    word on whether the model may resample; ``left_out``: unknown_fit's; ``unknown``: a one-class model's)."""
    probs = softmax(logits, axis=1)
    # MiniRocket (compiled) keeps the logit-space distance; a network trained end to end gets max-softmax, which
    # ranked unseen classes better on its logits (docs/unknown.md, "How the method was chosen")
    unknown = unknown or fit_unknown(ds, logits, cfg.unknown_rate, left_out,
                                     method="logit_mahalanobis" if compiled is not None else NETWORK_UNKNOWN)
    splits = split_results(ds, probs.argmax(axis=1))
    name = cfg.model_name
    timing = {**extra.pop("timing", {}), "total_seconds": round(time.perf_counter() - started, 2)}
    metrics = write_report(cfg.export_dir / "report", ds.classes, splits, history, {
        "model": cfg.model, "front_end": fe.to_json(), "timing": timing, **extra,
        "config": cfg.to_json(), **({"audio_augment": asdict(aug)} if aug is not None else {}),
    })
    details = {
        "model": cfg.model, "front_end": fe.to_json(), "shift_invariant": shift_invariant,
        "sample_rate_declared": rate_declared,
        "split_group": cfg.group or "", **({"mono": True} if cfg.mono else {}), **extra,
        "metrics": {s: v["accuracy"] for s, v in metrics["splits"].items()},
    }
    if compiled is not None:
        details["minirocket"] = {**details["minirocket"],
                                 "compiled": save_compiled(cfg.export_dir, **compiled, **unknown.arrays())}
    export_classifier(model, cfg.export_dir, name=name, version=cfg.manifest_version, classes=ds.classes, samples=fe.samples, details=details,
                      saved_model=cfg.saved_model, unknown=unknown)
    rate = meta.get("sample_rate") or cfg.sample_rate or None
    metrics["unknown"] = unknown.to_json() | (measured_rate(ds, logits, unknown) or {})
    metrics["export_check"] = check_export(cfg.export_dir, ds, probs, rate=rate, unknown=unknown.score(logits))
    if cfg.lite or cfg.quantize:  # int8 is checked beside float32
        metrics["lite"] = convert_to_lite(cfg.export_dir, ds, quantize=cfg.quantize, rate=rate, progress=cfg.progress)
    metrics["timing"]["total_seconds"] = round(time.perf_counter() - started, 2)
    return metrics


def _train_minirocket(cfg: TrainConfig, ds: Dataset, fe: FrontEnd, waves: dict, meta: dict, started: float,
                      declared: bool) -> dict:
    """Fixed-kernel features of every file, a ridge classifier on the training files' features."""
    x = np.stack([fit_length(waves[item.path], fe.samples) for item in ds.items])
    train_mask = np.array([item.split == "train" for item in ds.items])
    t0 = time.perf_counter()
    params = fit_minirocket(x[train_mask], seed=cfg.seed)
    feats = minirocket_transform(params, x, cfg.progress)  # compiled; the graph's layer computes the same
    features_seconds = time.perf_counter() - t0
    model, logits, extra, compiled, left_out = minirocket_model(cfg, ds, fe, params, feats)
    extra["timing"] = {"features_seconds": round(features_seconds, 2), **extra["timing"],
                       "train_seconds": round(time.perf_counter() - started, 2)}
    return finish(cfg, ds, fe, model, logits, {}, extra, meta, started, SHIFT_INVARIANT["minirocket"],
                  compiled=compiled, rate_declared=declared, left_out=left_out)


def ridge_on(cfg: TrainConfig, ds: Dataset, feats: np.ndarray) -> tuple:
    """The ridge classifier fitted on the training files' features (one row per ds.items), and its
    logits for every item."""
    y = np.array([item.label for item in ds.items])
    train_mask = np.array([item.split == "train" for item in ds.items])
    linear = fit_ridge(feats[train_mask], y[train_mask], len(ds.classes),
                       "balanced" if cfg.class_weight == "balanced" else None)
    return linear, linear.logits(feats)


def minirocket_model(cfg: TrainConfig, ds: Dataset, fe: FrontEnd, params, feats: np.ndarray) -> tuple:
    """``ridge_on`` in a graph that computes the features itself; returns (model, logits of ds.items,
    extra details, the arrays of its compiled form, the training files' leave-one-out logits)."""
    t0 = time.perf_counter()
    linear, logits = ridge_on(cfg, ds, feats)
    layer = MiniRocketLayer(params, name="minirocket")
    inputs = keras.Input(fe.shape, name="features")  # [samples, channels]
    head = keras.layers.Dense(len(ds.classes), activation="softmax", name="probabilities")
    standardize = keras.layers.Lambda(lambda f: (f - linear.mean) * linear.scale, name="standardize")
    waves = keras.layers.Permute((2, 1))(inputs) if fe.channels > 1 else keras.layers.Reshape((fe.samples,))(inputs)
    outputs = head(standardize(layer(waves)))
    head.set_weights([linear.kernel, linear.bias])
    model = waveform_model(fe, keras.Model(inputs, outputs, name="minirocket"))
    compiled = {"dilations": np.array(params.dilations), "features_per_dilation": np.array(params.features_per_dilation),
                "biases": params.biases, "channel_mask": params.channel_mask, "mean": linear.mean, "scale": linear.scale,
                "kernel": linear.kernel,
                "bias": linear.bias}
    extra = {"minirocket": params.to_json(), "linear": linear.to_json(),
             "timing": {"ridge_seconds": round(time.perf_counter() - t0, 2)}}
    return model, logits, extra, compiled, linear.left_out


def _transfer(cfg, fe: FrontEnd, examples, x: np.ndarray, classes: int):
    """Bottlenecks of the front end's images; returns (full model, head, features, extra details)."""
    if fe.kind in ("power_spectrum", "waveform"):
        raise ValueError("--model transfer draws 2-D features as images; use --front-end log_mel or mfcc "
                         "(or spectrum_image for the article's spectrum pictures)")
    backbone = get_backbone(cfg.backbone)
    size = backbone.input_size
    cache = BottleneckCache(backbone, cfg.weights, cfg.cache_dir)
    aug = cfg.audio_augment
    draw = tf.function(lambda w: fe.to_image(fe(w), size))
    masked = (lambda w, seed: fe.to_image(spec_mask(fe(w), aug, seed), size)) if aug.masks else None  # eager: one seed each
    fe_id = json.dumps(fe.to_json(), sort_keys=True)
    keys = [content_key(cache.weights_id, x[i].tobytes(), fe_id, f"mask{k}:{aug.describe()}:{cfg.seed}" if k and masked else "")
            for i, (_, k) in enumerate(examples)]

    def image(i: int) -> np.ndarray:
        w = tf.constant(x[i:i + 1])
        k = examples[i][1]
        return (masked(w, cfg.seed * 1000003 + i) if k and masked is not None else draw(w))[0].numpy()

    t0 = time.perf_counter()
    feats = cache.features(keys, image, cfg.progress)
    head = dense_head(backbone.features, classes, cfg.dropout)
    image_model = stack(cache.backbone_model(), head, size)
    model = waveform_model(fe, image_model, image_size=size)
    extra = {"backbone": cfg.backbone, "weights": cache.weights_id,
             "timing": {"bottleneck_seconds": round(time.perf_counter() - t0, 2), "cache_hits": cache.hits,
                        "cache_misses": cache.misses}}
    return model, head, feats, extra
