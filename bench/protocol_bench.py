#!/usr/bin/env python3
"""ModelInfer (the Open Inference Protocol) beside ClassifySignal (sigop's own service) on one server, one model and
the same signals, from Go: calls/s at batch 1 and 32, p50 and p99, call by call in turn, in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _server import start_server  # noqa: E402

GOAL = 0.10  # ModelInfer within 10 % of ClassifySignal


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sigop", required=True)
    ap.add_argument("--graphs", required=True, help="graphs folder holding --model, a classifier that takes signals")
    ap.add_argument("--model", default="article")
    ap.add_argument("--bench-bin", required=True)
    ap.add_argument("--calls", type=int, default=400, help="calls per round at batch 1 (batch 32: a tenth)")
    ap.add_argument("--rounds", type=int, default=8)
    args = ap.parse_args()
    proc, address = start_server(args.sigop, args.graphs)
    try:
        print(f"protocols: {args.rounds} rounds, calls alternating ...", file=sys.stderr)
        go = subprocess.run([args.bench_bin, "protocols", "--addr", address, "--model", args.model,
                             "--calls", str(args.calls), "--rounds", str(args.rounds)],
                            check=True, stdout=subprocess.PIPE, text=True)
    finally:
        proc.terminate()
        proc.wait(60)
    results = {(r["protocol"], r["batch"]): r for r in json.loads(go.stdout)}
    print(f"\nClassifySignal vs ModelInfer, model {args.model!r}, sequential calls from Go, "
          f"{args.rounds} rounds, calls alternating ({os.cpu_count()} cores):")
    print(f"{'protocol':>15} {'batch':>5} {'calls':>6} {'calls/s':>8} {'p50':>9} {'p99':>9}  rounds (calls/s)")
    for (protocol, batch), r in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        rounds = ", ".join(f"{x:.1f}" for x in r["rounds_calls_per_second"])
        print(f"{protocol:>15} {batch:>5} {r['calls']:>6} {r['calls_per_second']:>8.1f} "
              f"{r['p50_seconds'] * 1e3:>7.2f}ms {r['p99_seconds'] * 1e3:>7.2f}ms  {rounds}")
    for batch in (1, 32):
        own, oip = results["ClassifySignal", batch], results["ModelInfer", batch]
        for what, key, better in (("calls/s", "calls_per_second", "higher"), ("p50", "p50_seconds", "lower"),
                                  ("p99", "p99_seconds", "lower")):
            ratio = oip[key] / own[key]
            met = ratio >= 1 - GOAL if better == "higher" else ratio <= 1 + GOAL
            print(f"goal: batch {batch} ModelInfer {what} within {GOAL:.0%} of ClassifySignal's: "
                  f"{ratio:.3f}x ({'met' if met else 'MISSED'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
