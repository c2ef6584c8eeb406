"""MiniRocket in sigop against its reference implementation (sktime's, numba), measured in one run.

Features: sigop's compiled transform (what `sigop train` computes) and
sktime's ``MiniRocket.transform`` on the same float32 signals, zero-padded to
one length, each fitted first and warmed up once (numba compiles on first
use), on PLAID's training split and on a folder of sound files. Served: a
MiniRocket model trained by `sigop train` on PLAID, one signal per call,
through a real `sigop serve` (gRPC, the compiled runtime) and in-process
(the compiled runtime, TensorFlow's graph.pb, LiteRT's model.tflite),
against sktime's per-signal transform + ridge predict. Medians of repeated
calls; ratios are sigop / sktime, so below 1 is faster than the reference.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import start_server  # noqa: E402
from _timing import median_seconds  # noqa: E402
from plaid_data import load, padded, written  # noqa: E402


def features_row(name: str, x: np.ndarray) -> None:
    from sktime.transformations.panel.rocket import MiniRocket

    from sigop.training.minirocket import fit, transform

    params = fit(x)
    transform(params, x[:2])
    ours = median_seconds(lambda: transform(params, x), 1, warmup=0)
    reference = MiniRocket(random_state=0).fit(x[:, None, :].astype(np.float64))
    reference.transform(x[:2, None, :].astype(np.float64))
    theirs = median_seconds(lambda: reference.transform(x[:, None, :].astype(np.float64)), 1, warmup=0)
    print(f"| {name}: {len(x)} signals x {x.shape[1]} samples | {ours:.2f} s | {theirs:.2f} s | {ours / theirs:.2f} |",
          flush=True)


def sound_signals(folder: Path) -> np.ndarray:
    from sigop.audio import read_audio, resample
    from sigop.training.waveforms import covering_length

    waves = []
    for path in sorted(folder.rglob("*.wav")):
        x, rate = read_audio(path)
        waves.append(resample(x, rate, min(rate, 16000)))
    return padded(waves, covering_length([w.size for w in waves]), np.float32)


def served_rows(sigop: str, data: Path, graphs: Path, calls: int) -> None:
    import grpc
    from sklearn.linear_model import RidgeClassifierCV
    from sktime.transformations.panel.rocket import MiniRocket

    from sigop.operator.v1 import operator_pb2 as pb
    from sigop.operator.v1 import operator_pb2_grpc as pb_grpc
    from sigop.runtime.fft import standalone_plan
    from sigop.runtime.load import load_model

    model = graphs / "plaid"
    if not (model / "manifest.json").is_file():
        subprocess.run([sigop, "train", "--data", str(data / "train"), "--out", str(model), "--model", "minirocket",
                        "--no-saved-model"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runtimes = {r: load_model(model, runtime=r)[0] for r in ("compiled", "tf", "lite")}
    plan = standalone_plan(runtimes["tf"].manifest)
    n = runtimes["tf"].manifest.details["front_end"]["samples"]  # the model's length at its own rate
    tests, _ = load("test")
    signals = [s for s in tests if s.size >= n][:calls] or tests[:calls]
    x = [next(plan.signals(np.asarray(s[:n])[None], 30_000).chunks(1))[1] for s in signals]
    per_call = {}
    for name, run in runtimes.items():
        run(x[0], ["probabilities"])
        per_call[name] = median_seconds(lambda: [run(v, ["probabilities"]) for v in x], 1, warmup=0) / len(x)

    proc, address = start_server(sigop, str(graphs))
    try:
        stub = pb_grpc.OperatorStub(grpc.insecure_channel(address))

        def ask(s):
            b = np.asarray(s[:n], "<f8")[None]
            stub.ClassifySignal(pb.ClassifySignalRequest(model_spec=pb.ModelSpec(name="plaid"), sample_rate=30_000,
                                                         signals=pb.Float64Tensor(shape=list(b.shape), content=b.tobytes())))
        ask(signals[0])
        served = median_seconds(lambda: [ask(s) for s in signals], 1, warmup=0) / len(signals)
    finally:
        proc.terminate()
        proc.wait()

    train, y = load("train")
    reference = MiniRocket(random_state=0).fit(padded(train, n)[:, None, :].astype(np.float64))
    ridge = RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)).fit(reference.transform(
        padded(train, n)[:, None, :].astype(np.float64)), y)
    one = [padded([s], n)[:, None, :].astype(np.float64) for s in signals]
    ridge.predict(reference.transform(one[0]))
    theirs = median_seconds(lambda: [ridge.predict(reference.transform(v)) for v in one], 1, warmup=0) / len(one)
    rows = [("sigop serve, one signal per ClassifySignal call (gRPC, compiled runtime)", served)] + [
        (f"in-process, {name} runtime", s) for name, s in per_call.items()]
    for name, seconds in rows:
        print(f"| {name} | {1e3 * seconds:.2f} ms | {1e3 * theirs:.2f} ms | {seconds / theirs:.2f} |", flush=True)


def main() -> int:
    warnings.filterwarnings("ignore")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sigop", required=True)
    p.add_argument("--out", default="out/bench/minirocket")
    p.add_argument("--sounds", help="a folder of WAV files (default: espeak-ng digits written by `sigop digits`)")
    p.add_argument("--calls", type=int, default=100, help="single-signal calls timed per served row")
    args = p.parse_args()
    out = Path(args.out)
    data = written(out / "plaid")
    sounds = Path(args.sounds) if args.sounds else out / "digits"
    if not args.sounds and not sounds.is_dir():
        subprocess.run([args.sigop, "digits", "--out", str(sounds), "--takes", "3", "--seed", "11"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print("MiniRocket features (10,000 per signal), sigop's compiled transform vs sktime's MiniRocket.transform:\n")
    print("| signals | sigop | sktime | ratio |\n|---|---|---|---|", flush=True)
    train, _ = load("train")
    features_row("PLAID training split", padded(train, max(s.size for s in train), np.float32))
    features_row(f"sound folder {sounds.name}", sound_signals(sounds))
    print("\nOne PLAID signal classified, sigop's MiniRocket model vs sktime's transform + ridge predict:\n")
    print("| path | sigop per signal | sktime per signal | ratio |\n|---|---|---|---|", flush=True)
    served_rows(args.sigop, data, out / "graphs", args.calls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
