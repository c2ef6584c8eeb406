#!/usr/bin/env python3
"""Streaming benchmark: ClassifyStream beside ClassifySignal on the same
1024-sample windows of the article model (MobileNetV2 on LiteRT), from Go:
windows/s for 1 and 16 concurrent streams (against as many unary clients),
and the latency from sending the samples that complete a window to its
result (one window in flight), with dynamic batching off and on — in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _server import start_server  # noqa: E402

from sigop.datasets.generate import generate_dataset  # noqa: E402
from sigop.render import SpectrumContract  # noqa: E402
from sigop.training import TrainConfig, train  # noqa: E402

STREAMS = (1, 16)
BATCHING = {"off": (), "on": ("--batch-max-size", "32", "--batch-timeout-ms", "5")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sigop", required=True)
    ap.add_argument("--graphs", required=True, help="folder with the committed fft graph")
    ap.add_argument("--bench-bin", required=True)
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each throughput run")
    args = ap.parse_args()

    results = {}
    with tempfile.TemporaryDirectory(prefix="sigop-stream-bench-") as tmp:
        root = Path(tmp)
        print("training the article model ...", file=sys.stderr)
        generate_dataset(root / "data", 60, seed=1, contract=SpectrumContract(max_bin=136), progress=False)
        train(TrainConfig(data=root / "data" / "signals", out=root / "graphs" / "article", model="transfer",
                          patience=10, progress=False, saved_model=False, cache_dir=root / "cache"))
        shutil.copytree(Path(args.graphs) / "fft", root / "graphs" / "fft")
        for mode, flags in BATCHING.items():
            # Each open stream holds a worker thread: 16 streams and 16 unary clients need more than 16.
            proc, address = start_server(args.sigop, str(root / "graphs"),
                                         ("--max-streams", "16", "--workers", "40") + flags)
            try:
                for streams in STREAMS:
                    print(f"streams: batching {mode}, {streams} stream(s) ...", file=sys.stderr)
                    go = subprocess.run([args.bench_bin, "stream", "--addr", address, "--model", "article",
                                         "--streams", str(streams), "--duration", f"{args.seconds}s"],
                                        check=True, stdout=subprocess.PIPE, text=True)
                    results[mode, streams] = json.loads(go.stdout)
            finally:
                proc.terminate()
                proc.wait(60)

    print(f"\nClassifyStream vs ClassifySignal, article model (1024-sample windows, hop 1024, LiteRT), "
          f"{os.cpu_count()} cores, {args.seconds:g} s per throughput run:")
    print(f"{'batching':>8} {'streams':>7} {'windows/s':>10} {'unary/s':>8} {'ratio':>6} "
          f"{'stream p50':>10} {'p99':>8} {'unary p50':>9} {'p99':>8}")
    for (mode, streams), r in results.items():
        print(f"{mode:>8} {streams:>7} {r['windows_per_second']:>10.1f} {r['unary_signals_per_second']:>8.1f} "
              f"{r['windows_per_second'] / r['unary_signals_per_second']:>5.2f}x "
              f"{r['stream_p50_seconds'] * 1e3:>8.2f}ms {r['stream_p99_seconds'] * 1e3:>6.2f}ms "
              f"{r['unary_p50_seconds'] * 1e3:>7.2f}ms {r['unary_p99_seconds'] * 1e3:>6.2f}ms")
    print("latency: from sending the samples that complete a window to receiving its result, one window in flight")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
