#!/usr/bin/env python3
"""The pure-Go runtime (go/edge) beside the server's compiled runtime in-process and a served call, in one run.

On PLAID (one channel, 30 kHz, 614-sample model) and BasicMotions (a six-axis
IMU at 10 Hz), both trained with the default command (tests/vectors/
edge_cases.py), the same test signals are classified four ways: the Go
runtime on one core and on every core (`sigop-bench edge`), the server's
compiled (numba) runtime in this process with one thread and every thread,
and `sigop serve` running that model, called with ClassifySignal from Go.
Per-signal latency is the median (and p99) of sequential one-signal calls;
signals/s is of calls of 256 signals.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "vectors")]

import numpy as np  # noqa: E402
from _server import start_server  # noqa: E402

import edge_cases  # noqa: E402
from sigop.manifest import Manifest  # noqa: E402
from sigop.plan import InputPlan  # noqa: E402
from sigop.runtime.compiled import CompiledMiniRocket  # noqa: E402

CASES = {"plaid": "PLAID, 1 channel x 614 samples", "basicmotions": "BasicMotions IMU, 6 channels x 100 samples"}


def numba_ways(model: Path, signals: np.ndarray, calls: int, batch: int) -> list[dict]:
    """The compiled runtime in-process, on the inputs the server makes of these signals."""
    import numba

    manifest = Manifest.read(model)
    plan = InputPlan(manifest)
    x = np.concatenate([c for _, c in plan.signals(signals if plan.channels > 1 else signals[:, 0]).chunks(batch)])
    compiled = CompiledMiniRocket(model, manifest)
    outputs = ["probabilities", "unknown"]
    out = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        compiled(x[:1], outputs)
        times = []
        for i in range(calls):
            t0 = time.perf_counter()
            compiled(x[i % len(x):i % len(x) + 1], outputs)
            times.append(time.perf_counter() - t0)
        times.sort()
        t0 = time.perf_counter()
        for _ in range(3):
            compiled(x[:batch], outputs)
        out.append({"way": f"compiled (numba) in-process, {threads} thread{'s' if threads > 1 else ''}",
                    "p50_seconds": times[len(times) // 2], "p99_seconds": times[len(times) * 99 // 100],
                    "signals_per_second": 3 * batch / (time.perf_counter() - t0)})
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sigop", required=True)
    p.add_argument("--bench-bin", required=True, help="sigop-bench (go/cmd/sigop-bench)")
    p.add_argument("--cases", type=Path, default=ROOT / ".cache" / "edge" / "cases",
                   help="edge_cases.py's folder (cases missing there are trained)")
    p.add_argument("--calls", type=int, default=300)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--out", type=Path, default=ROOT / "out" / "bench" / "edge.json")
    args = p.parse_args()
    graphs = args.cases / "served"
    shutil.rmtree(graphs, ignore_errors=True)
    for name in CASES:
        edge_cases.case(args.sigop, name, args.cases)
        shutil.copytree(args.cases / name / "model", graphs / name)
    rows = {}
    proc, address = start_server(args.sigop, str(graphs))
    try:
        for name in CASES:
            folder = args.cases / name
            v = np.load(folder / "vectors.npz")
            signals = v["signals"]
            while len(signals) < args.batch:
                signals = np.concatenate([signals, signals])
            go = subprocess.run([args.bench_bin, "edge", "--model-dir", str(folder / "model"),
                                 "--vectors", str(folder / "vectors.npz"), "--addr", address, "--model", name,
                                 "--calls", str(args.calls), "--batch", str(args.batch)],
                                check=True, capture_output=True, text=True)
            rows[name] = json.loads(go.stdout) + numba_ways(folder / "model", signals, args.calls, args.batch)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2) + "\n")
    for name, ways in rows.items():
        base = next(w for w in ways if w["way"].startswith("compiled") and "1 thread" in w["way"])
        print(f"\n{CASES[name]} ({os.cpu_count()} CPUs)")
        print(f"  {'way':44s} {'p50 ms':>8s} {'p99 ms':>8s} {'signals/s':>10s} {'p50 / numba':>12s}")
        for w in ways:
            print(f"  {w['way']:44s} {1e3 * w['p50_seconds']:8.3f} {1e3 * w['p99_seconds']:8.3f} "
                  f"{w['signals_per_second']:10.0f} {w['p50_seconds'] / base['p50_seconds']:11.2f}x")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
