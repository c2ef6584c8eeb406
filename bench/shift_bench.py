#!/usr/bin/env python3
"""Seed 002's experiment as a benchmark: spectral shapes trained centred, tested
centred and shifted, for the flatten+dense baseline, the global-pooling 1-D
CNN and the article's spectrum-image transfer model, all served by one real
server and asked through ClassifySignal. Prints a table; writes a PNG of it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import grpc  # noqa: E402
import numpy as np  # noqa: E402
from _server import start_server  # noqa: E402

from sigop.operator.v1 import operator_pb2 as pb  # noqa: E402
from sigop.operator.v1 import operator_pb2_grpc as pb_grpc  # noqa: E402
from sigop.datasets.shifted import CLASSES, make_shifted  # noqa: E402
from sigop.training import TrainConfig, train  # noqa: E402

MODELS = {  # name -> (what the table calls it, training config)
    "dense": ("flatten + dense (seed 002's model)", dict(model="dense", front_end="power_spectrum")),
    "cnn": ("strided CNN + global pooling", dict(model="cnn", front_end="power_spectrum")),
    "image": ("spectrum image + MobileNetV2 (article)", dict(model="transfer", front_end="spectrum_image")),
}


def load_set(folder: Path) -> tuple[np.ndarray, list[str]]:
    x, y = [], []
    for name in CLASSES:
        for f in sorted((folder / name).glob("*.npy")):
            x.append(np.load(f))
            y.append(name)
    return np.array(x), y


def served_accuracy(stub, model: str, x: np.ndarray, truth: list[str]) -> float:
    right = 0
    for start in range(0, len(x), 100):
        chunk = np.ascontiguousarray(x[start:start + 100], dtype="<f8")
        r = stub.ClassifySignal(pb.ClassifySignalRequest(
            model_spec=pb.ModelSpec(name=model), top_k=1,
            signals=pb.Float64Tensor(shape=list(chunk.shape), content=chunk.tobytes())), timeout=300)
        right += sum(c.classes[0].label == t for c, t in zip(r.classifications, truth[start:start + 100]))
    return right / len(x)


def plot(rows: list[tuple[str, float, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.6))
    ys = np.arange(len(rows))
    ax.barh(ys - 0.2, [r[1] * 100 for r in rows], 0.4, label="centred (as trained)")
    ax.barh(ys + 0.2, [r[2] * 100 for r in rows], 0.4, label="shifted across the band")
    ax.set_yticks(ys, [r[0] for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("test accuracy, %")
    ax.axvline(25, color="grey", lw=0.8, ls=":")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, fontsize=8)
    ax.set_title("seed 002: spectral shapes trained centred near 1 kHz")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sigop", required=True)
    ap.add_argument("--graphs", required=True, help="folder with the committed fft graph")
    ap.add_argument("--per-class", type=int, default=200)
    ap.add_argument("--test-per-class", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", default="out/bench/shifted_spectra.png")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_shifted(root / "data", per_class=args.per_class, test_per_class=args.test_per_class, seed=args.seed)
        served = root / "graphs"
        shutil.copytree(Path(args.graphs) / "fft", served / "fft")
        seconds = {}
        for name, (_, kw) in MODELS.items():
            t0 = time.perf_counter()
            train(TrainConfig(data=root / "data" / "train", out=served / name, epochs=60, patience=8, seed=args.seed,
                              saved_model=False, cache_dir=root / "cache", **kw))
            seconds[name] = time.perf_counter() - t0
        proc, address = start_server(args.sigop, str(served))
        try:
            stub = pb_grpc.OperatorStub(grpc.insecure_channel(address, options=[
                ("grpc.max_send_message_length", 64 << 20), ("grpc.max_receive_message_length", 64 << 20)]))
            sets = {s: load_set(root / "data" / f"test-{s}") for s in ("centred", "shifted")}
            rows = [(label, *(served_accuracy(stub, name, *sets[s]) for s in ("centred", "shifted")))
                    for name, (label, _) in MODELS.items()]
        finally:
            proc.terminate()
            proc.wait()

    print(f"\nseed 002: {len(CLASSES)} spectral shapes, {args.per_class} training signals per class centred "
          f"at 1 kHz ± 150 Hz; {args.test_per_class} test signals per class and set, via ClassifySignal")
    print(f"{'model':<42} {'centred':>8} {'shifted':>8} {'train s':>8}")
    for (label, centred, shifted), name in zip(rows, MODELS):
        print(f"{label:<42} {centred:>8.1%} {shifted:>8.1%} {seconds[name]:>8.1f}")
    Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
    plot(rows, Path(args.plot))
    print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
