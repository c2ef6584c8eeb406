#!/usr/bin/env python3
"""FFT benchmark: the Go client calling the sigop server, beside in-process
baselines measured in the same run on the same inputs.

Columns: Go client -> gRPC -> frozen TF graph (sigop-bench, Go); the same frozen
graph called in-process (no RPC); scipy.fft.rfft + abs in-process; the Go
client's pure-Go Local operator (gonum). server/scipy is what serving the FFT
over gRPC costs against the fastest in-process Python FFT; server/gonum says
when a Go program gains by calling the server. `make bench` runs this.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import scipy.fft  # noqa: E402

from sigop.frozen import FrozenGraph  # noqa: E402
from sigop.testsignal import noise  # noqa: E402

TARGET_RATIO_2_20 = 3.0
TARGET_P50_1024_MS = 2.0


def median_seconds(fn, repeats: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sigop", required=True, help="the sigop executable")
    ap.add_argument("--graphs", required=True, help="folder of exported graphs")
    ap.add_argument("--bench-bin", required=True, help="the built sigop-bench Go program")
    args = ap.parse_args()

    print("Go client -> sigop server (sigop-bench) ...", file=sys.stderr)
    go = subprocess.run(
        [args.bench_bin, "--sigop", str(Path(args.sigop).resolve()), "--graphs", str(Path(args.graphs).resolve())],
        check=True, stdout=subprocess.PIPE, text=True,
    )
    report = json.loads(go.stdout)

    graph = FrozenGraph(Path(args.graphs) / "fft")
    rows = []
    for case in report["cases"]:
        x = np.stack([noise(case["n"], case["seed"] + r) for r in range(case["batch"])])
        tf_s = median_seconds(lambda: graph(x, ["magnitude"]), case["repeats"])
        scipy_s = median_seconds(lambda: np.abs(scipy.fft.rfft(x, axis=1)), case["repeats"])
        rows.append((case["name"], case["median_seconds"], tf_s, scipy_s, case["local_median_seconds"]))
    graph.close()

    print(f"\nFFT magnitude, median per call ({os.cpu_count()} cores; numpy {np.__version__}, scipy {scipy.__version__})")
    print(f"{'case':<16} {'Go->server':>12} {'TF graph':>12} {'scipy':>12} {'Go gonum':>12} "
          f"{'server/scipy':>13} {'server/TF':>10} {'server/gonum':>13}")
    for name, client_s, tf_s, scipy_s, gonum_s in rows:
        print(f"{name:<16} {client_s*1e3:>10.3f}ms {tf_s*1e3:>10.3f}ms {scipy_s*1e3:>10.3f}ms {gonum_s*1e3:>10.3f}ms "
              f"{client_s/scipy_s:>12.1f}x {client_s/tf_s:>9.2f}x {client_s/gonum_s:>12.2f}x")
    lat = report["latency"]
    print(f"\n1024-point call latency over {lat['calls']} sequential calls: "
          f"p50 {lat['p50_seconds']*1e3:.3f} ms, p99 {lat['p99_seconds']*1e3:.3f} ms")
    big = next(r for r in rows if r[0] == "n=2^20")
    ratio, p50_ms = big[1] / big[3], lat["p50_seconds"] * 1e3
    print(f"targets: 2^20 server/scipy {ratio:.2f} (goal <= {TARGET_RATIO_2_20:g}): "
          f"{'met' if ratio <= TARGET_RATIO_2_20 else 'MISSED'}; "
          f"1024-point p50 {p50_ms:.3f} ms (goal <= {TARGET_P50_1024_MS:g} ms): "
          f"{'met' if p50_ms <= TARGET_P50_1024_MS else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
