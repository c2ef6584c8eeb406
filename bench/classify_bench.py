#!/usr/bin/env python3
"""Classification benchmark: training time with and without the bottleneck
cache, Classify images/s through the server (Go client) beside the same
frozen graph called in-process at batch 1 and 32, and a load of 8 and 16
concurrent single-image clients with dynamic batching off and on, all in one run.
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
from _server import start_server  # noqa: E402

from sigop.training.augment import Augment  # noqa: E402
from sigop.images import decode_image  # noqa: E402
from sigop.serving.frozen import FrozenGraph  # noqa: E402
from sigop.datasets.generate import generate_dataset  # noqa: E402
from sigop.render import SpectrumContract  # noqa: E402
from sigop.training import TrainConfig, train  # noqa: E402


def in_process_images_per_second(graph: FrozenGraph, images: np.ndarray, batch: int, calls: int) -> float:
    graph(images[:batch], ["probabilities"])  # warm-up
    t0 = time.perf_counter()
    for i in range(calls):
        start = (i * batch) % len(images)
        graph(images[start:start + batch], ["probabilities"])
    return calls * batch / (time.perf_counter() - t0)


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

        pngs = sorted((root / "data" / "images").rglob("*.png"))[:32]
        images = np.stack([decode_image(p.read_bytes(), 224) for p in pngs])
        graph = FrozenGraph(root / "graphs" / "article")
        local = {b: in_process_images_per_second(graph, images, b, 60 if b == 1 else 6) for b in (1, 32)}
        graph.close()

        proc, address = start_server(args.sigop, str(root / "graphs"))
        try:
            go = subprocess.run([args.bench_bin, "classify", "--addr", address, "--model", "article",
                                 "--images", str(root / "data" / "images")], check=True, stdout=subprocess.PIPE, text=True)
        finally:
            proc.terminate()
            proc.wait(60)
        served = {r["batch"]: r for r in json.loads(go.stdout)}

        load = {}
        for mode, extra in (("off", ()), ("on", ("--batch-max-size", "32", "--batch-timeout-ms", "5"))):
            proc, address = start_server(args.sigop, str(root / "graphs"), extra)
            try:
                for clients in (8, 16):
                    print(f"load: batching {mode}, {clients} clients ...", file=sys.stderr)
                    go = subprocess.run([args.bench_bin, "load", "--addr", address, "--model", "article",
                                         "--images", str(root / "data" / "images"), "--clients", str(clients),
                                         "--duration", f"{args.load_seconds}s"],
                                        check=True, stdout=subprocess.PIPE, text=True)
                    load[mode, clients] = json.loads(go.stdout)
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
    print("\nClassify, sequential calls (MobileNetV2 224x224, frozen graph):")
    print(f"{'batch':>6} {'in-process':>12} {'Go->server':>12} {'server/in-process':>18} {'server p50/call':>16}")
    for b in (1, 32):
        print(f"{b:>6} {local[b]:>12.1f} {served[b]['images_per_second']:>12.1f} "
              f"{served[b]['images_per_second'] / local[b]:>17.2f}x {served[b]['p50_seconds'] * 1e3:>13.1f} ms")
    extra_ms = served[1]["p50_seconds"] * 1e3 - 1e3 / local[1]
    print(f"batch-1 latency over in-process: {extra_ms:+.1f} ms (goal <= 2 ms: {'met' if extra_ms <= 2 else 'MISSED'})")

    print(f"\nConcurrent single-image Classify clients, {args.load_seconds:g} s each "
          f"(batching on: --batch-max-size 32 --batch-timeout-ms 5):")
    print(f"{'batching':>8} {'clients':>7} {'images/s':>9} {'of in-process b32':>18} {'p50':>9} {'p95':>9} {'p99':>9} {'failed':>6}")
    for (mode, clients), r in load.items():
        print(f"{mode:>8} {clients:>7} {r['images_per_second']:>9.1f} {r['images_per_second'] / local[32]:>17.0%} "
              f"{r['p50_seconds'] * 1e3:>7.1f}ms {r['p95_seconds'] * 1e3:>7.1f}ms {r['p99_seconds'] * 1e3:>7.1f}ms "
              f"{r['failed']:>6}")
    best = max(r["images_per_second"] for (mode, _), r in load.items() if mode == "on")
    print(f"goal: batching on reaches >= 90% of in-process batch-32 throughput: {best / local[32]:.0%} "
          f"({'met' if best >= 0.9 * local[32] else 'MISSED'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

