"""`sigop train` for spectrum images: transfer learning on a folder of class subfolders.

Stage 1 trains a dropout + dense head on cached backbone features with the
backbone frozen; optional stage 2 fine-tunes the backbone's last block with
the head at a much lower learning rate (the backbone always runs with
training=False, so BatchNorm stays in inference mode). Early stopping and
reduce-on-plateau watch the validation loss. The result is exported as a
frozen graph with labels, manifest, SavedModel and a report.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
from scipy.special import softmax

from ..export import export_classifier
from ..images import gray_to_rgb
from ..manifest import DEFAULT_FFT_MODEL
from ..render import SpectrumContract, peak_db, render_signal
from ..signals import declared_channels, read_signal, signals_meta
from ..tfenv import tf
from .augment import Augment
from .backbones import get_backbone
from .bottlenecks import BottleneckCache
from .digest import content_key
from .callbacks import EpochBar, fit_callbacks
from .config import TrainConfig
from .weights import class_weights
from .dataset import CONTRACT_FILE, Dataset, Item, item_image, scan, signal_of
from .export_check import check_export, convert_to_lite
from .head_folds import head_folds
from .unknown_fit import fit_unknown, measured_rate, predict_logits
from .heads import dense_head, stack
from .report import split_results, write_report
from .waves import channel_names, signal_channels

__all__ = ["train", "example_features", "fit_contract"]

log = logging.getLogger(__name__)
keras = tf.keras


def fit_contract(cfg: TrainConfig, size: int, ds: Dataset) -> SpectrumContract | None:
    """The dataset's contract.json, else one fitted to the data: n the longest training signal's length
    rounded up to a power of two, levels relative to each signal's peak. --signal-length and
    --spectrum-level override either."""
    saved = Path(ds.root) / CONTRACT_FILE
    signals = [i for i in ds.split("train") if i.is_signal]
    channels = signal_channels(ds, cfg.mono)
    if saved.is_file():
        base = SpectrumContract.from_json(json.loads(saved.read_text()))
    elif signals:
        declared = None if cfg.mono else declared_channels(signals_meta(ds.root))
        longest = max(read_signal(i.path, declared).samples.shape[-1] for i in signals)
        base = SpectrumContract(n=1 << max(0, longest - 1).bit_length(), level="relative")
    else:
        return ds.contract  # images only: nothing to draw
    return SpectrumContract(n=cfg.signal_length or base.n, max_bin=base.max_bin, db_floor=base.db_floor,
                            db_ceiling=base.db_ceiling, width=size, height=size,
                            level=cfg.spectrum_level or base.level, channels=channels)


def _check_levels(ds: Dataset, share: float = 0.05) -> dict:
    """Warn when many training signals draw blank (peak below the floor) or clipped (above the ceiling)."""
    c, signals = ds.contract, [i for i in ds.split("train") if i.is_signal]
    if c is None or not signals or c.level == "relative":
        return {}
    peaks = np.array([peak_db(signal_of(i.path, c, ds.mono), c)[0] for i in signals])
    blank, clipped = int(np.sum(peaks <= c.db_floor)), int(np.sum(peaks > c.db_ceiling))
    for count, what, why in ((blank, "blank", f"their spectra peak below {c.db_floor:g} dB"),
                             (clipped, "clipped", f"their spectra peak above {c.db_ceiling:g} dB")):
        if count > share * len(signals):
            log.warning("%d of %d training signals draw %s on the contract's %g-%g dB scale (%s): the model cannot "
                        "tell them apart; train with --spectrum-level relative, or scale the signals",
                        count, len(signals), what, c.db_floor, c.db_ceiling, why)
    return {"blank": blank, "clipped": clipped, "signals": len(signals)}


def example_features(cfg: TrainConfig, ds: Dataset, examples: list[tuple[Item, int]], cache: BottleneckCache,
                     size: int) -> np.ndarray:
    """Backbone features of (item, augmentation) examples, through the cache (keyed by content and contract)."""
    contract_id = json.dumps(ds.contract.to_json() if ds.contract else None, sort_keys=True)
    digests = {item.path: content_key(item.path.read_bytes()) for item, _ in examples}  # each file read once
    keys = [content_key(cache.weights_id, digests[e[0].path], contract_id if e[0].is_signal else str(size),
                        f"aug{e[1]}:{cfg.augment.describe()}:{cfg.seed}" if e[1] else "") for e in examples]
    return cache.features(keys, lambda i: _image_of(*examples[i], ds, cfg.augment, size, cfg.seed), cfg.progress)


def _image_of(item: Item, k: int, ds: Dataset, aug: Augment, size: int, seed: int) -> np.ndarray:
    if k == 0:
        return item_image(item, ds, size)
    x = aug.apply(signal_of(item.path, ds.contract, ds.mono), item.augmentation_rng(seed, k))
    return gray_to_rgb(render_signal(x, ds.contract)[0])


def train(cfg: TrainConfig) -> dict:
    """Train, evaluate, export to cfg.out; returns the report's metrics."""
    if cfg.model != "transfer":
        raise ValueError(f"--model {cfg.model} trains on waveforms; choose a waveform --front-end "
                         f"(power_spectrum, log_mel, mfcc, waveform), or --model transfer for spectrum images")
    started = time.perf_counter()
    keras.utils.set_random_seed(cfg.seed)
    backbone = get_backbone(cfg.backbone)
    size = backbone.input_size
    ds = scan(cfg.data, validation_pct=cfg.validation_pct, test_pct=cfg.test_pct, group=cfg.group,
              test_root=cfg.test_data)
    ds.mono = cfg.mono
    ds.contract = fit_contract(cfg, size, ds)
    levels = _check_levels(ds)
    if not ds.has_signals and cfg.augment.copies:
        log.warning("augmentation applies to signals only; this dataset holds images, so none is done")
    examples = ds.examples(cfg.augment.copies)
    log.info("%d classes %s, %d files (%s), %d examples with augmentation", len(ds.classes), ds.classes,
             len(ds.items), {s: len(ds.split(s)) for s in ("train", "validation", "test")}, len(examples))

    cache = BottleneckCache(backbone, cfg.weights, cfg.cache_dir)
    t0 = time.perf_counter()
    feats = example_features(cfg, ds, examples, cache, size)
    bottleneck_seconds = time.perf_counter() - t0
    labels = np.array([e[0].label for e in examples])
    split = np.array([e[0].split for e in examples])
    train_mask, val_mask = split == "train", split == "validation"
    if not val_mask.any():
        log.warning("no validation files: early stopping watches the training loss")

    head = dense_head(backbone.features, len(ds.classes), cfg.dropout)
    head.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss="sparse_categorical_crossentropy",
                 metrics=["accuracy"])
    monitor = "val_loss" if val_mask.any() else "loss"
    report_dir = cfg.export_dir / "report"
    callbacks = fit_callbacks(monitor, cfg.patience, report_dir, cfg.epochs, "head", cfg.progress)
    t0 = time.perf_counter()
    hist = head.fit(feats[train_mask], labels[train_mask], batch_size=cfg.batch_size, epochs=cfg.epochs, verbose=0,
                    validation_data=(feats[val_mask], labels[val_mask]) if val_mask.any() else None,
                    callbacks=callbacks, shuffle=True, class_weight=class_weights(labels[train_mask], cfg))
    head_seconds = time.perf_counter() - t0
    history = {k: [float(v) for v in vs] for k, vs in hist.history.items()}

    # The cache's backbone (built at most once per run) is fine-tuned in place and exported.
    base = cache.backbone_model() if cfg.fine_tune_epochs else None
    if base is not None:
        history = _fine_tune(cfg, ds, backbone, base, head, history, size)

    # Evaluate on the un-augmented inputs (ds.items, in order), through the model that will be exported.
    originals = np.array([e[1] == 0 for e in examples])
    if base is None:
        logits = predict_logits(head, feats[originals], 256)
    else:
        full = stack(base, head, size)
        logits = np.concatenate([predict_logits(full, _images(ds, ds.items[i:i + 32], size))
                                 for i in range(0, len(ds.items), 32)])
    probs = softmax(logits, axis=1)
    folds = None
    if base is None:  # heads on cached features are cheap: the threshold from cross-validated heads
        item_of = _item_of(ds, examples)
        pool = np.array([i for i, item in enumerate(ds.items) if item.split in ("train", "validation")])
        pool_labels = np.array([ds.items[i].label for i in pool])
        best = int(np.argmin(history["val_loss"])) + 1 if "val_loss" in history else len(history["loss"])
        folds = head_folds(cfg, backbone.features, len(ds.classes), feats, labels, item_of, originals, pool,
                           pool_labels, best)
    unknown = fit_unknown(ds, logits, cfg.unknown_rate, folds=folds)
    splits = split_results(ds, probs.argmax(axis=1))

    model = stack(base if base is not None else cache.backbone_model(), head, size)
    name = cfg.model_name
    timing = {"bottleneck_seconds": round(bottleneck_seconds, 2), "cache_hits": cache.hits,
              "cache_misses": cache.misses, "head_seconds": round(head_seconds, 2),
              "total_seconds": round(time.perf_counter() - started, 2)}
    metrics = write_report(report_dir, ds.classes, splits, history, {
        "backbone": cfg.backbone, "weights": cache.weights_id, "timing": timing, "levels": levels,
        "config": cfg.to_json(), "augment": asdict(cfg.augment),
    })
    details = {
        "model": "transfer", "shift_invariant": False, "backbone": cfg.backbone, "weights": cache.weights_id,
        "fft_model": DEFAULT_FFT_MODEL,
        "metrics": {s: v["accuracy"] for s, v in metrics["splits"].items()},
    }
    if ds.contract is not None:
        details["spectrum_contract"] = ds.contract.to_json()
    if ds.contract is not None and ds.contract.channels > 1:
        first = read_signal(next(i.path for i in ds.items if i.is_signal), ds.contract.channels)
        details["channel_names"] = channel_names({first.names}, signals_meta(cfg.data), ds.contract.channels)
    if cfg.mono:
        details["mono"] = True
    export_classifier(model, cfg.export_dir, name=name, version=cfg.manifest_version, classes=ds.classes, image_size=size, details=details,
                      saved_model=cfg.saved_model, unknown=unknown)
    metrics["unknown"] = unknown.to_json() | (measured_rate(ds, logits, unknown) or {})
    metrics["export_check"] = check_export(cfg.export_dir, ds, probs, unknown=unknown.score(logits))
    if cfg.lite or cfg.quantize:  # int8 is checked beside float32
        metrics["lite"] = convert_to_lite(cfg.export_dir, ds, quantize=cfg.quantize, progress=cfg.progress)
    metrics["timing"]["total_seconds"] = round(time.perf_counter() - started, 2)
    return metrics


def _images(ds: Dataset, items: list[Item], size: int) -> np.ndarray:
    return np.stack([item_image(i, ds, size) for i in items]).astype(np.float32)


def _fine_tune(cfg, ds, backbone, base, head, history, size):
    """Stage 2: unfreeze the backbone's last block, train with the head at a lower rate."""
    # BatchNorm stays frozen even inside the last block: a frozen BatchNormalization
    # runs in inference mode in Keras 3, keeping ImageNet's moving statistics
    # (training=False on the nested call alone did not stop them moving).
    for layer in _walk(base):
        layer.trainable = (layer.name.startswith(backbone.last_block)
                           and not isinstance(layer, keras.layers.BatchNormalization)) or not layer.weights
    base.trainable = True
    full = stack(base, head, size)
    full.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate * cfg.fine_tune_lr_factor),
                 loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    train_items, val_items = ds.split("train"), ds.split("validation")
    x = _images(ds, train_items, size)
    y = np.array([i.label for i in train_items])
    val = (_images(ds, val_items, size), np.array([i.label for i in val_items])) if val_items else None
    callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss" if val else "loss", patience=cfg.patience,
                                               restore_best_weights=True)]
    if cfg.progress:
        callbacks.append(EpochBar(cfg.fine_tune_epochs, "fine-tune"))
    hist = full.fit(x, y, batch_size=cfg.batch_size, epochs=cfg.fine_tune_epochs, validation_data=val, verbose=0,
                    callbacks=callbacks)
    for k, vs in hist.history.items():
        history.setdefault(k, []).extend(float(v) for v in vs)
    return history


def _walk(layer):
    for sub in getattr(layer, "layers", []):
        yield sub
        yield from _walk(sub)


def _item_of(ds, examples) -> np.ndarray:
    """The index in ds.items of each example's file."""
    index = {id(item): i for i, item in enumerate(ds.items)}
    return np.array([index[id(e[0])] for e in examples])
