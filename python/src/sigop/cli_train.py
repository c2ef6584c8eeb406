"""`sigop train`'s options and the call that runs it; defaults come from the config dataclasses."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_train_parser"]


def add_train_parser(sub, with_arguments: bool = True) -> None:
    """The train subcommand; its arguments (whose defaults live in the training package) only when asked for,
    so that other commands load no training module. Nothing imported here starts TensorFlow."""
    help = "train a classifier on a folder of class subfolders; exports a frozen graph"
    if not with_arguments:
        sub.add_parser("train", help=help)
        return
    from .render import LEVELS
    from .training.audio_augment import AudioAugment
    from .training.augment import Augment
    from .training.config import (BACKBONES, CLASS_WEIGHTS, FRONT_ENDS, NETWORKS, SPECTRUM_IMAGE, TrainConfig,
                                  default_cache_dir)

    T, A, W = TrainConfig(data=Path("."), out=Path(".")), Augment(), AudioAugment()
    t = sub.add_parser("train", formatter_class=argparse.ArgumentDefaultsHelpFormatter, help=help)
    t.add_argument("--data", required=True, help="folder of class subfolders with images (.png/.jpg), signals "
                   "(.npy/.csv/.txt) or sound files (.wav/.flac/.ogg)")
    t.add_argument("--out", required=True, help="export folder, e.g. graphs/article")
    t.add_argument("--name", default=T.name, help="model name (empty: the --out folder's name)")
    t.add_argument("--model", default=T.model, choices=NETWORKS,
                   help="auto: the best candidate for the data, by stratified cross-validation (sound files: the "
                   "log-mel CNN too, on one hold-out; every score in the report); minirocket: fixed random kernels on the raw waveform + ridge; transfer: ImageNet "
                   "backbone + head; cnn: strided CNN with a global pooling head (shift-invariant); dense: conv + "
                   "flatten + dense baseline")
    t.add_argument("--front-end", default=T.front_end, choices=("", SPECTRUM_IMAGE, *FRONT_ENDS),
                   help=f"empty: the model's own (transfer: {SPECTRUM_IMAGE}, cnn/dense: power_spectrum, minirocket: "
                   f"waveform). {SPECTRUM_IMAGE}: the article's FFT pictures (images or signals in, via the FFT "
                   "graph); the others put a TensorFlow front end in the graph and take waveforms")
    t.add_argument("--class-weight", default=T.class_weight, choices=CLASS_WEIGHTS,
                   help="balanced: each class weighs the same in training, however many files it has")
    t.add_argument("--sample-rate", type=float, default=T.sample_rate, help="waveform models: resample to this rate "
                   "in Hz, any positive rate (0: the data's signals.json, else the sound files' shared rate, else "
                   "16000; signals with no rate are taken as they are)")
    t.add_argument("--duration", type=float, default=T.duration, help="waveform models: seconds per example, padded "
                   "or truncated (0: signals.json's samples, else a length that holds 98 %% of the training files whole)")
    t.add_argument("--mono", action="store_true", help="waveform models: average each file's channels into one "
                   "(default: a model takes its files' channels, [channels, samples], e.g. the axes of an IMU)")
    t.add_argument("--group", default=T.group, help="regex on file names: files sharing its match share a split "
                   "(e.g. '^[^_]+' for <speaker>_<take>.wav: a speaker-disjoint split)")
    t.add_argument("--backbone", default=T.backbone, choices=sorted(BACKBONES))
    t.add_argument("--weights", default=T.weights, help="imagenet, a weights file, or none (random init)")
    t.add_argument("--validation-pct", type=float, default=T.validation_pct)
    t.add_argument("--test-pct", type=float, default=T.test_pct, help="held out for testing, without --test-data")
    t.add_argument("--test-data", default=T.test_data, help="an explicit test set (class folders, e.g. an official "
                   "split): reported, never used for training or model selection")
    t.add_argument("--signal-length", type=int, default=T.signal_length, help="n of the spectrum contract: signals "
                   "are padded or cut to it (none: the dataset's contract.json, else the longest training signal "
                   "rounded up to a power of two)")
    t.add_argument("--spectrum-level", default=T.spectrum_level, choices=("", *LEVELS), help="spectrum images: dB "
                   "on one absolute scale, or relative to each signal's peak (empty: contract.json's, else relative)")
    t.add_argument("--epochs", type=int, default=T.epochs)
    t.add_argument("--batch-size", type=int, default=T.batch_size)
    t.add_argument("--learning-rate", type=float, default=T.learning_rate)
    t.add_argument("--dropout", type=float, default=T.dropout)
    t.add_argument("--patience", type=int, default=T.patience, help="early-stopping patience in epochs")
    t.add_argument("--fine-tune-epochs", type=int, default=T.fine_tune_epochs,
                   help="stage 2: fine-tune the last block (0: off)")
    t.add_argument("--augment-copies", type=int, default=A.copies, help="augmented copies per training signal or sound")
    t.add_argument("--augment-noise", type=float, default=A.noise, help="added noise, fraction of the signal's std")
    t.add_argument("--augment-amplitude", type=float, default=A.amplitude, help="std of the relative amplitude change")
    t.add_argument("--augment-shift-bins", type=int, default=A.max_shift_bins,
                   help="random frequency shift up to ± bins; only if shifts don't change the class")
    t.add_argument("--augment-snr-db", type=float, nargs=2, metavar=("LOW", "HIGH"), default=W.noise_snr_db,
                   help="waveform models: add white noise at an SNR drawn from LOW..HIGH dB")
    t.add_argument("--augment-time-shift", type=float, default=W.shift_seconds,
                   help="waveform models: shift by up to ± seconds within the model's window (zero-filled)")
    t.add_argument("--augment-stretch", type=float, default=W.stretch,
                   help="waveform models: time-stretch by a rate in 1±this, pitch kept")
    t.add_argument("--augment-pitch", type=float, default=W.pitch_semitones,
                   help="waveform models: pitch-shift by up to ± semitones, duration kept")
    t.add_argument("--freq-masks", type=int, default=W.freq_masks, help="SpecAugment frequency masks per example")
    t.add_argument("--freq-mask-width", type=int, default=W.freq_mask_width, help="widest frequency mask, bands or bins")
    t.add_argument("--time-masks", type=int, default=W.time_masks,
                   help="SpecAugment time masks per example (2-D front ends)")
    t.add_argument("--time-mask-width", type=int, default=W.time_mask_width, help="widest time mask, frames")
    t.add_argument("--cache-dir", default=str(default_cache_dir()), help="bottleneck cache")
    t.add_argument("--no-cache", action="store_true", help="compute every bottleneck, store none")
    t.add_argument("--no-saved-model", action="store_true", help="skip the SavedModel export")
    t.add_argument("--no-lite", action="store_true", help="skip the LiteRT copy (model.tflite)")
    t.add_argument("--quantize", choices=["int8"], default=None,
                   help="also write model.int8.tflite: post-training int8 quantization calibrated on training files; "
                   "`sigop evaluate` shows its accuracy against float32")
    t.add_argument("--unknown-rate", type=float, default=T.unknown_rate,
                   help="share of known inputs the unknown score's threshold calls unknown, calibrated on files the "
                        "model did not fit (docs/unknown.md)")
    t.add_argument("--one-class", action="store_true",
                   help="train on normal files of one class only: an anomaly score (a folder with one class "
                        "subfolder implies it)")
    t.add_argument("--version", default="", help="write version N of the model, --out/N/ (its manifest says N), "
                   "or 'next': one past the newest there; empty: --out is the model (version 1). Written whole, then "
                   "renamed into place, so a server polling the folder loads only finished exports")
    t.add_argument("--seed", type=int, default=T.seed)
    t.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    import logging

    from .lite_export import lite_summary
    from .training import TrainConfig, train
    from .training.audio_augment import AudioAugment
    from .training.augment import Augment

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from .training.publish import resolve_version

    cfg = TrainConfig(
        data=Path(args.data), out=Path(args.out), name=args.name or Path(args.out).name,
        version=resolve_version(Path(args.out), args.version),
        model=args.model, front_end=args.front_end, sample_rate=args.sample_rate, duration=args.duration,
        mono=args.mono, group=args.group, backbone=args.backbone,
        weights=args.weights, validation_pct=args.validation_pct, test_pct=args.test_pct,
        test_data=Path(args.test_data) if args.test_data else None,
        signal_length=args.signal_length, spectrum_level=args.spectrum_level, epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.learning_rate, dropout=args.dropout, patience=args.patience,
        class_weight=args.class_weight, fine_tune_epochs=args.fine_tune_epochs,
        # --augment-copies counts for whichever trainer the front end picks; each uses its own kind.
        augment=Augment(copies=args.augment_copies, noise=args.augment_noise,
                        amplitude=args.augment_amplitude, max_shift_bins=args.augment_shift_bins),
        audio_augment=AudioAugment(
            copies=args.augment_copies,
            noise_snr_db=tuple(args.augment_snr_db) if args.augment_snr_db else None,
            shift_seconds=args.augment_time_shift, stretch=args.augment_stretch,
            pitch_semitones=args.augment_pitch, freq_masks=args.freq_masks, freq_mask_width=args.freq_mask_width,
            time_masks=args.time_masks, time_mask_width=args.time_mask_width),
        cache_dir=None if args.no_cache else Path(args.cache_dir), seed=args.seed,
        saved_model=not args.no_saved_model, lite=not args.no_lite, quantize=args.quantize or "",
        unknown_rate=args.unknown_rate, one_class=args.one_class,
    )
    metrics = train(cfg)
    if "auto" in metrics:
        print(auto_summary(metrics["auto"]))
    for split, m in metrics["splits"].items():
        print(f"{split:<10} accuracy {m['accuracy']:.4f}  ({m['count']} files)")
    if "unknown" in metrics:
        u = metrics["unknown"]
        print(f"unknown score ({u['method']}): threshold {u['threshold']:.4g}, set for {100 * u['rate']:g} % of known "
              f"files called unknown (calibrated on {u['calibration_files']} files: {u['calibration']})")
        if "test_rate" in u:
            print(f"  known test files over it: {100 * u['test_rate']:.1f} % of {u['test_files']}")
    print(", ".join(f"{k.replace('_', ' ')} {v}" for k, v in metrics["timing"].items()))
    saved = "" if args.no_saved_model else ", saved_model/"
    out = metrics["exported_to"]
    print(f"exported to {out} (graph.pb, labels.txt, manifest.json{saved}, version {cfg.manifest_version}); report "
          f"in {out}/report")
    for line in lite_summary(metrics.get("lite", {})):
        print(line)
    return 0


def auto_summary(record: dict) -> str:
    """One line: what auto chose, and every candidate's score."""
    if "holdout_files" in record:
        scores = ", ".join(f"{c['candidate']} {c['holdout_accuracy']:.4f}" for c in record["candidates"])
        line = f"model auto: chose {record['chosen']} (accuracy on a hold-out of {record['holdout_files']} files: {scores})"
    else:
        scores = ", ".join(f"{c['candidate']} {c['cv_accuracy']:.4f}" for c in record["candidates"])
        line = f"model auto: chose {record['chosen']} ({record['folds']}-fold accuracy: {scores})"
    return line + (f": {record['rule']}" if record.get("rule") else "")
