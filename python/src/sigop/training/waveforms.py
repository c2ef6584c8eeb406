"""`sigop train` for models that take waveforms: audio and raw spectra.

Files (WAV/FLAC/OGG, or .npy/.csv/.txt at the rate in the dataset's
signals.json) are resampled to the front end's rate; training copies are
augmented (audio_augment) and every example is padded or truncated to the
front end's length. ``cnn`` and ``dense`` train end to end with the front end
inside the Keras model (SpecAugment masks as a training-only layer);
``transfer`` draws the front end as an image, caches ImageNet bottlenecks and
trains a head, as the spectrum-image path does. The export takes waveforms.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..audio import AudioError, fit_length, read_audio, resample
from ..export import export_classifier
from ..frontend import FrontEnd
from ..signals import SOUND_SUFFIXES
from ..tfenv import tf
from .backbones import get_backbone
from .bottlenecks import BottleneckCache, content_key
from .callbacks import fit_callbacks
from .config import SHIFT_INVARIANT, SIGNALS_FILE, TrainConfig
from .dataset import Dataset, load_signal, scan
from .export_check import check_export
from .heads import dense_head, stack
from .networks import build_network, waveform_model
from .report import split_results, write_report
from .spec_augment import spec_mask

__all__ = ["load_waveform", "train"]

log = logging.getLogger(__name__)
keras = tf.keras



def load_waveform(path: Path, default_rate: float | None) -> tuple[np.ndarray, float]:
    """(samples, rate): sound files carry their rate; other signals take ``default_rate``."""
    if path.suffix.lower() in SOUND_SUFFIXES:
        return read_audio(path)
    if default_rate is None:
        raise AudioError(f"{path}: a {path.suffix} signal has no sample rate; put {{\"sample_rate\": Hz}} in "
                         f"{SIGNALS_FILE} beside the class folders, or pass --sample-rate")
    return load_signal(path).astype(np.float32), default_rate


def _front_end(cfg, ds: Dataset, meta: dict) -> tuple[FrontEnd, dict[Path, np.ndarray]]:
    """The front end the config and data imply, and every file resampled to its rate."""
    rate = cfg.sample_rate or meta.get("sample_rate") or 16000
    default_rate = meta.get("sample_rate") or cfg.sample_rate or None
    waves = {}
    for item in tqdm(ds.items, desc="loading", unit="file", disable=not cfg.progress):
        x, r = load_waveform(item.path, default_rate)
        waves[item.path] = resample(x, r, rate)
    if cfg.duration:
        samples = int(round(cfg.duration * rate))
    else:
        samples = int(meta.get("samples") or max(w.size for w in waves.values()))
    fe = FrontEnd(kind=cfg.front_end, sample_rate=int(rate), samples=samples)
    if fe.kind != "power_spectrum":  # keep 25 ms frames, 10 ms hops at any rate
        frame = int(round(0.025 * rate))
        fe = replace(fe, frame_length=frame, frame_step=int(round(0.010 * rate)),
                      fft_length=1 << (frame - 1).bit_length())
    return fe, waves


def train(cfg: TrainConfig) -> dict:
    """Train, evaluate and export a waveform classifier; returns the report's metrics."""
    started = time.perf_counter()
    keras.utils.set_random_seed(cfg.seed)
    ds = scan(cfg.data, validation_pct=cfg.validation_pct, test_pct=cfg.test_pct, group=cfg.group,
              test_root=cfg.test_data)
    meta_file = Path(cfg.data) / SIGNALS_FILE
    meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
    fe, waves = _front_end(cfg, ds, meta)
    aug = cfg.audio_augment
    log.info("%d classes %s, %d files (%s); front end %s at %d Hz, %d samples (%.3f s)", len(ds.classes), ds.classes,
             len(ds.items), {s: len(ds.split(s)) for s in ("train", "validation", "test")}, fe.kind, fe.sample_rate,
             fe.samples, fe.samples / fe.sample_rate)

    # Examples: every file as it is, plus augmented copies of the training files.
    examples = ds.examples(aug.copies)
    x = np.zeros((len(examples), fe.samples), dtype=np.float32)
    for i, (item, k) in enumerate(tqdm(examples, desc="examples", unit="ex", disable=not cfg.progress)):
        w = waves[item.path]
        if k:
            w = aug.waveform(w, fe.sample_rate, item.augmentation_rng(cfg.seed, k))
        x[i] = fit_length(w, fe.samples)
    y = np.array([item.label for item, _ in examples])
    split = np.array([item.split for item, _ in examples])
    train_mask, val_mask = split == "train", split == "validation"
    monitor = "val_loss" if val_mask.any() else "loss"
    report_dir = Path(cfg.out) / "report"
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
                      callbacks=callbacks, shuffle=True)
    train_seconds = time.perf_counter() - t0
    history = {k: [float(v) for v in vs] for k, vs in hist.history.items()}

    # Evaluate the un-augmented files (ds.items, in order; transfer: the head on their cached features,
    # which the exported graph computes with the same ops).
    originals = np.array([k == 0 for _, k in examples])
    probs = fit_on.predict(fit_x[originals], verbose=0, batch_size=64)
    splits = split_results(ds, probs.argmax(axis=1))
    name = cfg.name or Path(cfg.out).name
    timing = {"train_seconds": round(train_seconds, 2), "total_seconds": round(time.perf_counter() - started, 2),
              **extra.pop("timing", {})}
    metrics = write_report(report_dir, ds.classes, splits, history, {
        "model": cfg.model, "front_end": fe.to_json(), "timing": timing, **extra,
        "config": cfg.to_json(), "audio_augment": asdict(aug),
    })
    details = {
        "model": cfg.model, "front_end": fe.to_json(), "shift_invariant": SHIFT_INVARIANT[cfg.model],
        "split_group": cfg.group or "", **extra,
        "metrics": {s: v["accuracy"] for s, v in metrics["splits"].items()},
    }
    export_classifier(model, Path(cfg.out), name=name, classes=ds.classes, samples=fe.samples, details=details,
                      saved_model=cfg.saved_model)
    metrics["export_check"] = check_export(Path(cfg.out), ds, probs, rate=meta.get("sample_rate") or cfg.sample_rate or None)
    metrics["timing"]["total_seconds"] = round(time.perf_counter() - started, 2)
    return metrics


def _transfer(cfg, fe: FrontEnd, examples, x: np.ndarray, classes: int):
    """Bottlenecks of the front end's images; returns (full model, head, features, extra details)."""
    if fe.kind == "power_spectrum":
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
