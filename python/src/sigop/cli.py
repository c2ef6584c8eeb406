"""The ``sigop`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__all__ = ["main"]


def _export_fft(args: argparse.Namespace) -> int:
    from .fftgraph import export_fft

    manifest = export_fft(Path(args.out), name=args.name)
    print(f"wrote {Path(args.out) / manifest.graph} (sha256 {manifest.sha256[:12]}…) and manifest.json")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .serving.batching import BatchConfig
    from .serving.security import read_token
    from .serving.server import ServerConfig, configure_logging, serve
    from .limits import MiB, Limits

    configure_logging(args.log_level)
    config = ServerConfig(
        graphs=Path(args.graphs),
        address=args.address,
        max_message_bytes=args.max_message_mib << 20,
        workers=args.workers,
        grace_seconds=args.grace,
        intra_op_threads=args.intra_op_threads,
        inter_op_threads=args.inter_op_threads,
        poll_seconds=args.poll_seconds,
        tls_cert=args.tls_cert, tls_key=args.tls_key, tls_client_ca=args.tls_client_ca,
        token=read_token(Path(args.token_file)) if args.token_file else None,
        metrics_address=args.metrics_address,
        batching=BatchConfig(max_batch=args.batch_max_size, max_delay=args.batch_timeout_ms / 1000,
                             max_queue=args.batch_max_queue),
        limits=Limits(max_signal_length=args.max_signal_length, max_batch=args.max_batch,
                      max_image_pixels=args.max_image_pixels, compute_batch=args.compute_batch,
                      inflight_bytes=args.max_inflight_mib * MiB),
    )
    try:
        return serve(config)
    except (OSError, ValueError) as e:  # before serving: a used port, a bad address, no graphs
        print(f"sigop serve: {e}", file=sys.stderr)
        return 1


def _generate(args: argparse.Namespace) -> int:
    from .datasets.generate import generate_dataset
    from .render import SpectrumContract

    counts = generate_dataset(Path(args.out), args.per_class, args.seed, SpectrumContract(n=args.n, max_bin=args.max_bin),
                              images=not args.signals_only)
    print(f"wrote {sum(counts.values())} signals {counts} to {args.out}/signals"
          + ("" if args.signals_only else f" and their spectrum images to {args.out}/images"))
    return 0


def _train(args: argparse.Namespace) -> int:
    import logging

    from .training.audio_augment import AudioAugment
    from .training.augment import Augment
    from .training.spectra import TrainConfig, train

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    waveform = args.front_end != "spectrum_image"
    cfg = TrainConfig(
        data=Path(args.data), out=Path(args.out), name=args.name or Path(args.out).name,
        model=args.model, front_end=args.front_end, sample_rate=args.sample_rate, duration=args.duration,
        group=args.group, backbone=args.backbone,
        weights=args.weights, validation_pct=args.validation_pct, test_pct=args.test_pct,
        signal_length=args.signal_length, epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.learning_rate, dropout=args.dropout, patience=args.patience,
        fine_tune_epochs=args.fine_tune_epochs,
        augment=Augment(copies=0 if waveform else args.augment_copies, noise=args.augment_noise,
                        amplitude=args.augment_amplitude, max_shift_bins=args.augment_shift_bins),
        audio_augment=AudioAugment(
            copies=args.augment_copies if waveform else 0,
            noise_snr_db=tuple(args.augment_snr_db) if args.augment_snr_db else None,
            shift_seconds=args.augment_time_shift, stretch=args.augment_stretch,
            pitch_semitones=args.augment_pitch, freq_masks=args.freq_masks, freq_mask_width=args.freq_mask_width,
            time_masks=args.time_masks, time_mask_width=args.time_mask_width),
        cache_dir=None if args.no_cache else Path(args.cache_dir), seed=args.seed,
        saved_model=not args.no_saved_model,
    )
    metrics = train(cfg)
    for split, m in metrics["splits"].items():
        print(f"{split:<10} accuracy {m['accuracy']:.4f}  ({m['count']} files)")
    t = metrics["timing"]
    if "cache_hits" in t:
        print(f"bottlenecks {t['bottleneck_seconds']}s ({t['cache_hits']} cached, {t['cache_misses']} computed), "
              f"training {t.get('head_seconds', t.get('train_seconds'))}s, total {t['total_seconds']}s")
    else:
        print(f"training {t['train_seconds']}s, total {t['total_seconds']}s")
    saved = "" if args.no_saved_model else ", saved_model/"
    print(f"exported to {args.out} (graph.pb, labels.txt, manifest.json{saved}); report in {args.out}/report")
    return 0


def _digits(args: argparse.Namespace) -> int:
    from .datasets import digits

    accents = args.accents.split(",") if args.accents else digits.ACCENTS
    variants = args.variants.split(",") if args.variants else digits.VARIANTS
    count = digits.make_digits(Path(args.out), accents=accents, variants=variants, takes=args.takes, seed=args.seed)
    print(f"wrote {count} WAV files ({len(accents) * len(variants)} speakers x 10 digits x {args.takes} takes) to "
          f"{args.out}; split by speaker with: sigop train --group '{digits.SPEAKER_GROUP}'")
    return 0


def _shifted(args: argparse.Namespace) -> int:
    from .datasets.shifted import make_shifted

    counts = make_shifted(Path(args.out), per_class=args.per_class, test_per_class=args.test_per_class,
                          spread=args.spread, seed=args.seed)
    print(f"wrote {counts} signals to {args.out}/{{train,test-centred,test-shifted}}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .limits import MiB, Limits

    p = argparse.ArgumentParser(prog="sigop", description="Signal operators as frozen TensorFlow graphs over gRPC.")
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser("export-fft", help="export the FFT as a frozen graph with its manifest")
    e.add_argument("--out", default="graphs/fft", help="output folder (default: graphs/fft)")
    e.add_argument("--name", default="fft", help="model name recorded in the manifest (default: fft)")
    e.set_defaults(func=_export_fft)

    g = sub.add_parser("generate", help="generate the article's two classes as signals and spectrum images")
    g.add_argument("--out", required=True, help="output folder (gets signals/<class>/ and images/<class>/)")
    g.add_argument("--per-class", type=int, default=100, help="signals per class (default: 100)")
    g.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    g.add_argument("--n", type=int, default=1024, help="samples per signal (default: 1024)")
    g.add_argument("--max-bin", type=int, default=136, help="draw FFT bins 0..max-bin-1 across the image width; "
                   "the article's tones lie below bin 130 (default: 136; 0 draws all n/2+1)")
    g.add_argument("--signals-only", action="store_true", help="write signals without rendering images")
    g.set_defaults(func=_generate)

    d = sub.add_parser("digits", help="speak the digits 0-9 with espeak-ng in many voices (development audio)")
    d.add_argument("--out", required=True, help="output folder (gets <digit>/<speaker>_<take>.wav)")
    d.add_argument("--accents", default="", help="comma-separated espeak-ng English voices (default: all 8)")
    d.add_argument("--variants", default="", help="comma-separated voice variants, e.g. m1,f2,croak (default: 14)")
    d.add_argument("--takes", type=int, default=2, help="takes per speaker and digit, each a random speed and pitch")
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=_digits)

    h = sub.add_parser("shifted-spectra", help="seed 002's experiment: 4 spectral shapes, trained centred, "
                       "tested centred and shifted")
    h.add_argument("--out", required=True, help="output folder (gets train/, test-centred/, test-shifted/)")
    h.add_argument("--per-class", type=int, default=200, help="training signals per class (default: 200)")
    h.add_argument("--test-per-class", type=int, default=100, help="test signals per class and set (default: 100)")
    h.add_argument("--spread", type=float, default=150.0, help="training centres lie within ± this of 1 kHz")
    h.add_argument("--seed", type=int, default=0)
    h.set_defaults(func=_shifted)

    from .training.backbones import BACKBONES, DEFAULT_BACKBONE
    from .training.bottlenecks import default_cache_dir
    from .frontend import KINDS
    from .training.networks import NETWORKS

    t = sub.add_parser("train", help="train a classifier on a folder of class subfolders; exports a frozen graph")
    t.add_argument("--data", required=True, help="folder of class subfolders with images (.png/.jpg), signals "
                   "(.npy/.csv/.txt) or sound files (.wav/.flac/.ogg)")
    t.add_argument("--out", required=True, help="export folder, e.g. graphs/article")
    t.add_argument("--name", default="", help="model name (default: the --out folder's name)")
    t.add_argument("--front-end", default="spectrum_image", choices=("spectrum_image", *KINDS),
                   help="spectrum_image: the article's FFT pictures (images or signals in, via the FFT graph); "
                   "the others put a TensorFlow front end in the graph and take waveforms (default: spectrum_image)")
    t.add_argument("--model", default="transfer", choices=NETWORKS,
                   help="transfer: ImageNet backbone + head; cnn: strided CNN with a global pooling head "
                   "(shift-invariant); dense: conv + flatten + dense baseline (default: transfer)")
    t.add_argument("--sample-rate", type=int, default=0, help="waveform models: resample to this rate in Hz "
                   "(default: the data's signals.json, else 16000)")
    t.add_argument("--duration", type=float, default=0.0, help="waveform models: seconds per example, padded or "
                   "truncated (default: signals.json's samples, else the longest file)")
    t.add_argument("--group", default=None, help="regex on file names: files sharing its match share a split "
                   "(e.g. '^[^_]+' for <speaker>_<take>.wav: a speaker-disjoint split)")
    t.add_argument("--backbone", default=DEFAULT_BACKBONE, choices=sorted(BACKBONES))
    t.add_argument("--weights", default="imagenet", help="imagenet, a weights file, or none (random init)")
    t.add_argument("--validation-pct", type=float, default=10)
    t.add_argument("--test-pct", type=float, default=10)
    t.add_argument("--signal-length", type=int, default=None, help="n of the spectrum contract (default: the "
                   "dataset's contract.json, else 1024)")
    t.add_argument("--epochs", type=int, default=100)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--learning-rate", type=float, default=1e-3)
    t.add_argument("--dropout", type=float, default=0.2)
    t.add_argument("--patience", type=int, default=10, help="early-stopping patience in epochs")
    t.add_argument("--fine-tune-epochs", type=int, default=0, help="stage 2: fine-tune the last block (0: off)")
    t.add_argument("--augment-copies", type=int, default=0, help="augmented copies per training signal or sound")
    t.add_argument("--augment-noise", type=float, default=0.05, help="added noise, fraction of the signal's std")
    t.add_argument("--augment-amplitude", type=float, default=0.1, help="std of the relative amplitude change")
    t.add_argument("--augment-shift-bins", type=int, default=0,
                   help="random frequency shift up to ± bins; only if shifts don't change the class (default: 0)")
    t.add_argument("--augment-snr-db", type=float, nargs=2, metavar=("LOW", "HIGH"),
                   help="waveform models: add white noise at an SNR drawn from LOW..HIGH dB")
    t.add_argument("--augment-time-shift", type=float, default=0.0, help="waveform models: shift by up to ± seconds")
    t.add_argument("--augment-stretch", type=float, default=0.0,
                   help="waveform models: time-stretch by a rate in 1±this, pitch kept")
    t.add_argument("--augment-pitch", type=float, default=0.0,
                   help="waveform models: pitch-shift by up to ± semitones, duration kept")
    t.add_argument("--freq-masks", type=int, default=0, help="SpecAugment frequency masks per example")
    t.add_argument("--freq-mask-width", type=int, default=8, help="widest frequency mask, bands or bins")
    t.add_argument("--time-masks", type=int, default=0, help="SpecAugment time masks per example (2-D front ends)")
    t.add_argument("--time-mask-width", type=int, default=10, help="widest time mask, frames")
    t.add_argument("--cache-dir", default=str(default_cache_dir()), help="bottleneck cache")
    t.add_argument("--no-cache", action="store_true", help="compute every bottleneck, store none")
    t.add_argument("--no-saved-model", action="store_true", help="skip the SavedModel export")
    t.add_argument("--seed", type=int, default=0)
    t.set_defaults(func=_train)

    s = sub.add_parser("serve", help="serve every graph under --graphs over gRPC")
    s.add_argument("--graphs", default="graphs", help="folder of exported graphs (default: graphs)")
    s.add_argument("--address", default="127.0.0.1:50051", help="host:port to listen on; port 0 picks a free one")
    s.add_argument("--max-message-mib", type=int, default=64, help="max gRPC message size, both ways (default: 64)")
    s.add_argument("--max-signal-length", type=int, default=Limits.max_signal_length,
                   help="max samples per signal, or frames per sound file by its header (default: %(default)s)")
    s.add_argument("--max-batch", type=int, default=Limits.max_batch,
                   help="max signals, images or files per call (default: %(default)s)")
    s.add_argument("--max-image-pixels", type=int, default=Limits.max_image_pixels,
                   help="max pixels per image, checked from its header before decoding (default: %(default)s)")
    s.add_argument("--compute-batch", type=int, default=Limits.compute_batch,
                   help="inputs decoded and run per graph call: bounds a call's memory (default: %(default)s)")
    s.add_argument("--max-inflight-mib", type=int, default=Limits.inflight_bytes // MiB,
                   help="decoded input all calls may hold at once; beyond it calls get RESOURCE_EXHAUSTED "
                   "(default: %(default)s)")
    s.add_argument("--workers", type=int, default=8, help="Operator calls computed at once; health and reflection "
                   "have threads of their own (default: 8)")
    s.add_argument("--grace", type=float, default=30.0, help="seconds in-flight calls get at shutdown (default: 30)")
    s.add_argument("--intra-op-threads", type=int, default=0, help="TensorFlow intra-op threads (0: all cores)")
    s.add_argument("--inter-op-threads", type=int, default=0, help="TensorFlow inter-op threads (0: all cores)")
    s.add_argument("--poll-seconds", type=float, default=10.0,
                   help="rescan --graphs for new and removed versions this often; 0: only on SIGHUP (default: 10)")
    s.add_argument("--tls-cert", type=Path, help="PEM certificate chain: serve TLS (with --tls-key)")
    s.add_argument("--tls-key", type=Path, help="PEM private key of --tls-cert")
    s.add_argument("--tls-client-ca", type=Path, help="PEM CA: require client certificates it signed (mutual TLS)")
    s.add_argument("--token-file", help="file holding a bearer token every call but health must carry")
    s.add_argument("--batch-max-size", type=int, default=0,
                   help="dynamic batching for Classify/ClassifySignal: images per graph call (default: 0, off)")
    s.add_argument("--batch-timeout-ms", type=float, default=2.0,
                   help="longest a request waits for others to fill its batch (default: 2)")
    s.add_argument("--batch-max-queue", type=int, default=512,
                   help="images waiting at most; beyond it calls get RESOURCE_EXHAUSTED (default: 512)")
    s.add_argument("--metrics-address", default="",
                   help="host:port (or :port for every interface) to expose Prometheus /metrics on, "
                   "e.g. 127.0.0.1:9464 (default: off)")
    s.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR (default: INFO)")
    s.set_defaults(func=_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
