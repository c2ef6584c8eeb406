#!/usr/bin/env python3
"""Train the models the Go edge runtime's parity test runs, with the default command, and write their vectors.

Real recordings with their official splits, from sktime's bundled copies
(nothing downloaded): PLAID (one channel, 30 kHz), BasicMotions (six IMU
axes, 10 Hz) and JapaneseVowels (twelve channels, no rate), each trained
with `sigop train --data <set>/train` as a new user would, then scored by
`sigop evaluate` on <set>/test; and a one-class model on PLAID's first
appliance, scored on every test file. Each case is OUT/<case>/model (the
exported folder), OUT/<case>/vectors.npz (make_edge_vectors.py: the server's
compiled runtime on the test files, with evaluate's top class per file).
Cases already written are kept.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "bench"), str(Path(__file__).resolve().parent)]
import multichannel_bench  # noqa: E402
import plaid_data  # noqa: E402
from make_edge_vectors import vectors  # noqa: E402

CASES = ("plaid", "basicmotions", "japanesevowels", "plaid_one_class")


def data(name: str, out: Path) -> Path:
    """<set>/train and <set>/test class folders (written once)."""
    root = out / "data" / name
    if not (root / "test").is_dir():
        if name == "plaid":
            plaid_data.write(root)
        else:
            multichannel_bench.write({"basicmotions": "BasicMotions", "japanesevowels": "JapaneseVowels"}[name], root)
    return root


def case(sigop: str, name: str, out: Path) -> None:
    folder = out / name
    if (folder / "vectors.npz").is_file():
        return
    shutil.rmtree(folder, ignore_errors=True)
    d = data(name.removesuffix("_one_class"), out)
    train = d / "train"
    if name.endswith("_one_class"):  # normal files of one appliance; every test file scored
        train = out / "data" / name / "train"
        shutil.rmtree(train.parent, ignore_errors=True)
        first = sorted(p for p in (d / "train").iterdir() if p.is_dir())[0]
        shutil.copytree(first, train / first.name)
        shutil.copy(d / "train" / "signals.json", train)
    started = time.perf_counter()
    subprocess.run([sigop, "train", "--data", str(train), "--out", str(folder / "model"), "--no-saved-model",
                    "--no-lite"], check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    v = vectors(folder / "model", d / "test", features=32)
    if not name.endswith("_one_class"):
        v["evaluate_top"] = evaluate_top(sigop, folder, d / "test")
    np.savez_compressed(folder / "vectors.npz", **v)
    print(f"{name}: trained in {seconds:.1f} s; {len(v['lengths'])} test files", flush=True)


def evaluate_top(sigop: str, folder: Path, test: Path) -> np.ndarray:
    """`sigop evaluate`'s top class per test file, in its file order (the vectors')."""
    report = folder / "evaluation"
    subprocess.run([sigop, "evaluate", "--model", str(folder / "model"), "--data", str(test), "--out", str(report)],
                   check=True, stdout=subprocess.DEVNULL)
    labels = (folder / "model" / "labels.txt").read_text().splitlines()
    with open(report / "predictions.csv") as f:
        return np.array([labels.index(row["predicted"]) for row in csv.DictReader(f)], np.int64)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sigop", required=True, help="the sigop command")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--cases", default=",".join(CASES))
    args = p.parse_args()
    for name in args.cases.split(","):
        case(args.sigop, name, args.out)


if __name__ == "__main__":
    main()
