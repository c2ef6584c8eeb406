#!/usr/bin/env python3
"""FFT benchmark: the Go client calling the sigop server, beside in-process
baselines measured in the same run on the same inputs.

Columns: Go client -> gRPC -> frozen TF graph (sigop-bench, Go), over the wire
and through shared memory (the server runs with --allow-shared-memory); the
same frozen graph called in-process (no RPC); scipy.fft.rfft + abs
in-process; the Go client's pure-Go Local operator (gonum). server/scipy is
what serving the FFT costs against the fastest in-process Python FFT;
server/gonum says when a Go program gains by calling the server. The
1024-point latency is set beside an empty Python gRPC call's (the same
grpcio server set-up, a method that does nothing), timed the same way in the
same run: the floor any Python gRPC call pays. `make bench` runs this.

The machine is shared and its speed drifts, so the measurements run in
interleaved rounds (client, then baselines, per round) and each ratio is the
median of its per-round ratios: a slow spell hits both sides of a ratio.

``--baseline-sigop`` names another build's executable (an earlier commit's,
say): a second server runs it, and each round also times the Go client
against it, so a change is measured before and after in the same rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import scipy.fft  # noqa: E402
from _empty_server import start_empty_server  # noqa: E402
from _server import start_server  # noqa: E402
from _timing import median_seconds  # noqa: E402

from sigop.runtime.frozen import FrozenGraph  # noqa: E402
from sigop.datasets.testsignal import noise  # noqa: E402

TARGET_RATIO_2_20 = 3.0
TARGET_P50_1024_MS = 2.0
TARGET_SHARED_RATIO_2_20 = 1.5  # through shared memory, against scipy in-process
TARGET_P50_OVER_EMPTY_MS = 0.3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sigop", required=True, help="the sigop executable")
    ap.add_argument("--graphs", required=True, help="folder of exported graphs")
    ap.add_argument("--bench-bin", required=True, help="the built sigop-bench Go program")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved measurement rounds (default: 5)")
    ap.add_argument("--baseline-sigop", help="another build's sigop executable, timed in the same rounds")
    args = ap.parse_args()

    proc, address = start_server(args.sigop, args.graphs, ("--allow-shared-memory",))
    baseline = start_server(args.baseline_sigop, args.graphs, ("--allow-shared-memory",)) if args.baseline_sigop \
        else None
    empty_server, empty_address = start_empty_server()
    graph = FrozenGraph(Path(args.graphs) / "fft")
    rounds, latency, empty = [], None, None

    def go_fft(at: str, latency_calls: int) -> dict:
        """sigop-bench's FFT cases against the server at ``at``, over the wire and through shared memory."""
        return json.loads(subprocess.run([args.bench_bin, "fft", "--addr", at, "--shared-memory", "--latency-calls",
                                          str(latency_calls)], check=True, stdout=subprocess.PIPE, text=True).stdout)

    try:
        for r in range(args.rounds):
            last = r == args.rounds - 1
            print(f"round {r + 1}/{args.rounds}: Go client -> server, then in-process baselines", file=sys.stderr)
            report = go_fft(address, 2000 if last else 0)
            before = {c["name"]: c for c in go_fft(baseline[1], 0)["cases"]} if baseline else {}
            if last:
                latency = report["latency"]
                empty = json.loads(subprocess.run([args.bench_bin, "empty", "--addr", empty_address, "--calls", "2000"],
                                                  check=True, stdout=subprocess.PIPE, text=True).stdout)
            measured = {}
            for case in report["cases"]:
                x = np.stack([noise(case["n"], case["seed"] + i) for i in range(case["batch"])])
                measured[case["name"]] = {
                    "server": case["median_seconds"],
                    "shared": case.get("shared_median_seconds"),  # None: under the client's threshold
                    "gonum": case["local_median_seconds"],
                    "tf": median_seconds(lambda: graph(x, ["magnitude"]), case["repeats"]),
                    "scipy": median_seconds(lambda: np.abs(scipy.fft.rfft(x, axis=1)), case["repeats"]),
                }
                if before:
                    measured[case["name"]] |= {"baseline": before[case["name"]]["median_seconds"],
                                               "baseline_shared": before[case["name"]].get("shared_median_seconds")}
            rounds.append(measured)
    finally:
        graph.close()
        empty_server.stop(0)
        for p in [proc] + ([baseline[0]] if baseline else []):
            p.terminate()
            p.wait(60)

    def med(name, key):
        return statistics.median(m[name][key] for m in rounds)

    def ratio(name, over, key="server"):
        return statistics.median(m[name][key] / m[name][over] for m in rounds)

    print(f"\nFFT magnitude, median per call over {args.rounds} interleaved rounds "
          f"({os.cpu_count()} cores; numpy {np.__version__}, scipy {scipy.__version__})")
    print(f"{'case':<16} {'Go->server':>12} {'shared mem':>12} {'TF graph':>12} {'scipy':>12} {'Go gonum':>12} "
          f"{'server/scipy':>13} {'shared/scipy':>13} {'server/TF':>10} {'server/gonum':>13}")
    for name in rounds[0]:
        shared = rounds[0][name]["shared"] is not None  # else under WithSharedMemory's threshold: the wire
        shared_ms = f"{med(name, 'shared')*1e3:>10.3f}ms" if shared else f"{'(wire)':>12}"
        shared_ratio = f"{ratio(name, 'scipy', 'shared'):>12.2f}x" if shared else f"{'':>13}"
        print(f"{name:<16} {med(name, 'server')*1e3:>10.3f}ms {shared_ms} "
              f"{med(name, 'tf')*1e3:>10.3f}ms {med(name, 'scipy')*1e3:>10.3f}ms {med(name, 'gonum')*1e3:>10.3f}ms "
              f"{ratio(name, 'scipy'):>12.2f}x {shared_ratio} {ratio(name, 'tf'):>9.2f}x "
              f"{ratio(name, 'gonum'):>12.2f}x")
    if baseline:
        print(f"\nthe baseline build ({args.baseline_sigop}), in the same rounds:")
        print(f"{'case':<16} {'wire':>12} {'shared mem':>12} {'wire/scipy':>11} {'shared/scipy':>13} "
              f"{'this shared/baseline shared':>28}")
        for name in rounds[0]:
            shared = rounds[0][name]["baseline_shared"] is not None
            print(f"{name:<16} {med(name, 'baseline')*1e3:>10.3f}ms "
                  + (f"{med(name, 'baseline_shared')*1e3:>10.3f}ms " if shared else f"{'(wire)':>12} ")
                  + f"{ratio(name, 'scipy', 'baseline'):>10.2f}x "
                  + (f"{ratio(name, 'scipy', 'baseline_shared'):>12.2f}x "
                     f"{ratio(name, 'baseline_shared', 'shared'):>27.2f}x" if shared else ""))
    per_round = ", ".join(f"{m['n=2^20']['server'] / m['n=2^20']['scipy']:.2f}" for m in rounds)
    shared_round = ", ".join(f"{m['n=2^20']['shared'] / m['n=2^20']['scipy']:.2f}" for m in rounds)
    print(f"\nn=2^20 server/scipy per round: {per_round}; through shared memory: {shared_round}")
    floor = empty["p50_seconds"] * 1e3
    print(f"1024-point call latency over {latency['calls']} sequential calls (the wire: under WithSharedMemory's "
          f"threshold): p50 {latency['p50_seconds']*1e3:.3f} ms, p99 {latency['p99_seconds']*1e3:.3f} ms")
    print(f"empty Python gRPC call, {empty['calls']} sequential calls: p50 {floor:.3f} ms, "
          f"p99 {empty['p99_seconds']*1e3:.3f} ms")
    r220, p50_ms = ratio("n=2^20", "scipy"), latency["p50_seconds"] * 1e3
    shared220 = ratio("n=2^20", "scipy", "shared")
    over = p50_ms - floor
    print(f"targets: 2^20 server/scipy {r220:.2f} (goal <= {TARGET_RATIO_2_20:g}): "
          f"{'met' if r220 <= TARGET_RATIO_2_20 else 'MISSED'}; "
          f"1024-point p50 {p50_ms:.3f} ms (goal <= {TARGET_P50_1024_MS:g} ms): "
          f"{'met' if p50_ms <= TARGET_P50_1024_MS else 'MISSED'}")
    print(f"targets: 2^20 through shared memory / scipy {shared220:.2f} (goal <= {TARGET_SHARED_RATIO_2_20:g}): "
          f"{'met' if shared220 <= TARGET_SHARED_RATIO_2_20 else 'MISSED'}; "
          f"1024-point p50 over the empty call {over:+.3f} ms (goal <= {TARGET_P50_OVER_EMPTY_MS:g} ms): "
          f"{'met' if over <= TARGET_P50_OVER_EMPTY_MS else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
