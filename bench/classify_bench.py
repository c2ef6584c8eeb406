#!/usr/bin/env python3
"""Classification benchmark: training time with and without the bottleneck
cache; the classifier in-process on TensorFlow (graph.pb) and LiteRT (float32,
int8) at batch 1 and 32; Classify through the server from Go with each runtime
(images/s, p50, p99); and 8 and 16 concurrent single-image clients with dynamic
batching off and on, per runtime — all in one run, so the ratios compare like
with like on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from _empty_server import start_empty_server  # noqa: E402
from _server import start_server  # noqa: E402
from _metrics import free_port, scrape  # noqa: E402

from sigop.training.augment import Augment  # noqa: E402
from sigop.images import decode_image  # noqa: E402
from sigop.lite_export import export_lite, folder_inputs  # noqa: E402
from sigop.manifest import Manifest  # noqa: E402
from sigop.runtime.frozen import FrozenGraph  # noqa: E402
from sigop.runtime.litert import LiteModel  # noqa: E402
from sigop.datasets.generate import generate_dataset  # noqa: E402
from sigop.render import SpectrumContract  # noqa: E402
from sigop.training import TrainConfig, train  # noqa: E402


# What each runtime is, to the server and in-process.
RUNTIMES = {"tf": ("--runtime", "tf"), "lite": ("--runtime", "lite"), "lite int8": ("--runtime", "lite", "--precision", "int8")}


def images_per_second(classify, calls: int, batch: int = 1) -> float:
    """Images per second of ``calls`` calls of ``classify(i)`` (call i), each of ``batch`` images, after one
    untimed warm-up call."""
    classify(0)
    t0 = time.perf_counter()
    for i in range(calls):
        classify(i)
    return calls * batch / (time.perf_counter() - t0)


def in_process_images_per_second(model, images: np.ndarray, batch: int, calls: int) -> float:
    def classify(i):
        start = (i * batch) % len(images)
        return model(images[start:start + batch], ["probabilities"])

    return images_per_second(classify, calls, batch)


def decoding_images_per_second(model, pngs: list[bytes], size: int, calls: int) -> float:
    """One PNG per call, decoded as the server decodes it, then classified: what a program that has the image
    file, as a Classify caller has, does in-process."""
    return images_per_second(lambda i: model(decode_image(pngs[i % len(pngs)], size)[None], ["probabilities"]), calls)


def in_process(folder: Path, images: np.ndarray, pngs: list[bytes]) -> dict[tuple[str, int | str], float]:
    models = {"tf": FrozenGraph(folder), "lite": LiteModel(folder, Manifest.read(folder)),
              "lite int8": LiteModel(folder, Manifest.read(folder), "int8")}
    out = {(r, b): in_process_images_per_second(m, images, b, 100 if b == 1 else 8) for r, m in models.items()
           for b in (1, 32)}
    out.update({(r, "png"): decoding_images_per_second(m, pngs, images.shape[1], 100) for r, m in models.items()})
    for m in models.values():
        m.close()
    return out


def batch_one(args, graphs: Path, images_dir: Path, images: np.ndarray, pngs: list[bytes], rounds: int = 3) -> dict:
    """Where a batch-1 Classify on LiteRT spends its time, in interleaved rounds: in-process LiteRT (back to back;
    and decoding each PNG first), the Go client through a server (per call: as Go saw it, the server's handler,
    LiteRT inside the server, from its metrics), and an empty Python gRPC call. Medians over the rounds."""
    model = LiteModel(graphs / "article", Manifest.read(graphs / "article"))
    port = free_port()
    proc, address = start_server(args.sigop, str(graphs), RUNTIMES["lite"] + ("--metrics-address", f"127.0.0.1:{port}"))
    empty_server, empty_address = start_empty_server()
    per_round = []
    try:
        for r in range(rounds):
            print(f"batch 1 on LiteRT, round {r + 1}/{rounds} ...", file=sys.stderr)
            before = scrape(port, "Classify")
            go = json.loads(subprocess.run([args.bench_bin, "classify", "--addr", address, "--model", "article",
                                            "--images", str(images_dir), "--batches", "1", "--calls", "300"],
                                           check=True, stdout=subprocess.PIPE, text=True).stdout)[0]
            after = scrape(port, "Classify")
            calls = after["request_count"] - before["request_count"]
            empty = json.loads(subprocess.run([args.bench_bin, "empty", "--addr", empty_address, "--calls", "1000"],
                                              check=True, stdout=subprocess.PIPE, text=True).stdout)
            per_round.append({
                "in-process": 1 / in_process_images_per_second(model, images, 1, 300),
                "in-process + PNG": 1 / decoding_images_per_second(model, pngs, images.shape[1], 300),
                "Go -> server": 1 / go["images_per_second"],
                "server handler": (after["request_sum"] - before["request_sum"]) / calls,
                "LiteRT in the server": (after["compute_sum"] - before["compute_sum"]) / calls,
                "empty gRPC call": empty["p50_seconds"],
            })
    finally:
        empty_server.stop(0)
        proc.terminate()
        proc.wait(60)
        model.close()
    return {key: float(np.median([m[key] for m in per_round])) for key in per_round[0]} | {
        "served/in-process": float(np.median([m["in-process"] / m["Go -> server"] for m in per_round])),
        "served/in-process + PNG": float(np.median([m["in-process + PNG"] / m["Go -> server"] for m in per_round]))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sigop", required=True)
    ap.add_argument("--graphs", required=True, help="folder with the committed fft graph")
    ap.add_argument("--bench-bin", required=True)
    ap.add_argument("--per-class", type=int, default=100)
    ap.add_argument("--load-seconds", type=float, default=10.0, help="length of each concurrent-load run")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="sigop-bench-") as tmp:
        root = Path(tmp)
        generate_dataset(root / "data", args.per_class, seed=1, contract=SpectrumContract(max_bin=136), progress=False)
        times = {}
        for run in ("cold cache", "warm cache"):
            print(f"training ({run}) ...", file=sys.stderr)
            t0 = time.perf_counter()
            metrics = train(TrainConfig(data=root / "data" / "signals", out=root / "graphs" / "article", model="transfer",
                                        patience=20,
                                        augment=Augment(copies=3), cache_dir=root / "cache", progress=False,
                                        saved_model=False))
            times[run] = (time.perf_counter() - t0, metrics["timing"])
        shutil.copytree(Path(args.graphs) / "fft", root / "graphs" / "fft")

        print("int8 copy ...", file=sys.stderr)
        export_lite(root / "graphs" / "article", *folder_inputs(root / "graphs" / "article", root / "data" / "signals",
                                                               quantize="int8"), quantize="int8")
        pngs = sorted((root / "data" / "images").rglob("*.png"))[:32]
        encoded = [p.read_bytes() for p in pngs]
        images = np.stack([decode_image(b, 224) for b in encoded])
        local = in_process(root / "graphs" / "article", images, encoded)
        breakdown = batch_one(args, root / "graphs", root / "data" / "images", images, encoded)

        served = {}
        for runtime, flags in RUNTIMES.items():
            proc, address = start_server(args.sigop, str(root / "graphs"), flags)
            try:
                go = subprocess.run([args.bench_bin, "classify", "--addr", address, "--model", "article",
                                     "--images", str(root / "data" / "images")], check=True, stdout=subprocess.PIPE,
                                    text=True)
            finally:
                proc.terminate()
                proc.wait(60)
            served.update({(runtime, r["batch"]): r for r in json.loads(go.stdout)})

        load = {}
        for runtime in ("tf", "lite"):
            for mode, extra in (("off", ()), ("on", ("--batch-max-size", "32", "--batch-timeout-ms", "5"))):
                proc, address = start_server(args.sigop, str(root / "graphs"), RUNTIMES[runtime] + extra)
                try:
                    for clients in (8, 16):
                        print(f"load: {runtime}, batching {mode}, {clients} clients ...", file=sys.stderr)
                        go = subprocess.run([args.bench_bin, "load", "--addr", address, "--model", "article",
                                             "--images", str(root / "data" / "images"), "--clients", str(clients),
                                             "--duration", f"{args.load_seconds}s"],
                                            check=True, stdout=subprocess.PIPE, text=True)
                        load[runtime, mode, clients] = json.loads(go.stdout)
                finally:
                    proc.terminate()
                    proc.wait(60)

    cold, warm = times["cold cache"], times["warm cache"]
    examples = cold[1]["cache_misses"] + cold[1]["cache_hits"]
    print(f"\nTraining on {2 * args.per_class} article signals + 3 augmented copies per training signal "
          f"({examples} bottlenecks), MobileNetV2, {os.cpu_count()} cores:")
    print(f"  cold cache: {cold[0]:6.1f} s  (bottlenecks {cold[1]['bottleneck_seconds']} s, head {cold[1]['head_seconds']} s)")
    print(f"  warm cache: {warm[0]:6.1f} s  (bottlenecks {warm[1]['bottleneck_seconds']} s, head {warm[1]['head_seconds']} s)")
    print(f"  cache speed-up: {cold[0] / warm[0]:.1f}x")
    print("\nClassify, MobileNetV2 224x224, sequential calls: in-process vs Go -> server, per runtime "
          "(images/s; 'in-process + PNG' decodes each image as the server does)")
    print(f"{'runtime':>10} {'batch':>5} {'in-process':>11} {'+ PNG':>7} {'Go->server':>11} {'server/in-process':>18} "
          f"{'server/+PNG':>12} {'p50/call':>9} {'p99/call':>9} {'over in-process':>15}")
    for (runtime, b), r in served.items():
        over = r["p50_seconds"] * 1e3 - 1e3 * b / local[runtime, b]
        png = f"{local[runtime, 'png']:>7.1f}" if b == 1 else f"{'':>7}"
        of_png = f"{r['images_per_second'] / local[runtime, 'png']:>11.2f}x" if b == 1 else f"{'':>12}"
        print(f"{runtime:>10} {b:>5} {local[runtime, b]:>11.1f} {png} {r['images_per_second']:>11.1f} "
              f"{r['images_per_second'] / local[runtime, b]:>17.2f}x {of_png} {r['p50_seconds'] * 1e3:>7.1f}ms "
              f"{r['p99_seconds'] * 1e3:>7.1f}ms {over:>+13.2f}ms")
    speedup = served["lite", 1]["images_per_second"] / served["tf", 1]["images_per_second"]
    print(f"goal: Go->server batch 1 on LiteRT >= 2.5x on TensorFlow: {speedup:.2f}x "
          f"({'met' if speedup >= 2.5 else 'MISSED'})")
    print("\nWhere a batch-1 Classify on LiteRT spends its time (per call; medians of 3 interleaved rounds):")
    for key, value in breakdown.items():
        print(f"  {key:<24} {value:.2f}x" if "/" in key else f"  {key:<24} {value * 1e3:6.2f} ms")
    over_tf = served["lite", 1]["images_per_second"] / local["tf", 1]
    print(f"goal: Go->server batch 1 on LiteRT >= 2.5x the in-process TensorFlow session: {over_tf:.2f}x "
          f"({'met' if over_tf >= 2.5 else 'MISSED'})")
    for what, key in (("in-process LiteRT", "served/in-process"),
                      ("in-process LiteRT + PNG decoding", "served/in-process + PNG")):
        print(f"goal: Go->server batch 1 on LiteRT >= 90% of {what} (interleaved rounds): {breakdown[key]:.0%} "
              f"({'met' if breakdown[key] >= 0.9 else 'MISSED'})")
    over = served["lite", 1]["p50_seconds"] * 1e3 - 1e3 / local["lite", 1]
    print(f"goal: batch-1 latency over in-process LiteRT <= 1 ms: {over:+.2f} ms ({'met' if over <= 1 else 'MISSED'})")

    print(f"\nConcurrent single-image Classify clients, {args.load_seconds:g} s each "
          f"(batching on: --batch-max-size 32 --batch-timeout-ms 5):")
    print(f"{'runtime':>8} {'batching':>8} {'clients':>7} {'images/s':>9} {'of in-process b32':>18} {'p50':>9} "
          f"{'p95':>9} {'p99':>9} {'failed':>6}")
    for (runtime, mode, clients), r in load.items():
        print(f"{runtime:>8} {mode:>8} {clients:>7} {r['images_per_second']:>9.1f} "
              f"{r['images_per_second'] / local[runtime, 32]:>17.0%} {r['p50_seconds'] * 1e3:>7.1f}ms "
              f"{r['p95_seconds'] * 1e3:>7.1f}ms {r['p99_seconds'] * 1e3:>7.1f}ms {r['failed']:>6}")
    for mode in ("off", "on"):
        eight = load["lite", mode, 8]["images_per_second"] / local["lite", 32]
        print(f"goal: 8 concurrent clients on LiteRT, batching {mode}, >= 90% of in-process LiteRT batch 32: "
              f"{eight:.0%} ({'met' if eight >= 0.9 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

