"""Real device signals: sigop's recipes on PLAID's official split, beside reference baselines.

Writes PLAID (sktime's bundled UCR copy) as class folders, then for each row
runs the commands a user would: `sigop train` (the default, then each recipe
with --test-data) and `sigop evaluate --json` on the official test folder.
Beside them, on the same split: a random forest on log|FFT| (scikit-learn)
and MiniRocket + ridge (sktime), padded to the longest series and in its
variable-length form. Times are wall-clock on this machine, training only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _baselines import forest_accuracy, ridge_accuracy  # noqa: E402
from plaid_data import load, padded, written  # noqa: E402

RECIPES = [  # (row, extra train arguments); the first is what a new user runs
    ("sigop default: `sigop train --data plaid/train`", []),
    ("sigop default with the official test split (`--test-data`)", ["--model", "auto"]),
    ("sigop --model minirocket --test-data", ["--model", "minirocket"]),
    ("sigop --model transfer (spectrum image) --test-data", ["--model", "transfer"]),
    ("sigop --model cnn (power spectrum) --test-data", ["--model", "cnn"]),
    ("sigop --model cnn --front-end waveform --test-data", ["--model", "cnn", "--front-end", "waveform"]),
]


def run_sigop(sigop: str, data: Path, graphs: Path, i: int, extra: list[str]) -> tuple[float, float, float]:
    """(test accuracy, macro-F1, training seconds) of one recipe, through the CLI."""
    out = graphs / f"plaid{i}"
    cmd = [sigop, "train", "--data", str(data / "train"), "--out", str(out), "--no-saved-model"]
    if extra:
        cmd += [*extra, "--test-data", str(data / "test")]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    ev = subprocess.run([sigop, "evaluate", "--model", str(out), "--data", str(data / "test"), "--json"],
                        check=True, capture_output=True, text=True)
    r = json.loads(ev.stdout)
    return r["accuracy"], r["macro_f1"], seconds


def baselines() -> list[tuple[str, float, float]]:
    warnings.filterwarnings("ignore")
    import pandas as pd
    from sktime.transformations.panel.rocket import MiniRocket, MiniRocketMultivariateVariable

    (tr, y), (te, yt) = load("train"), load("test")
    n = max(s.size for s in tr)
    rows = []

    f = lambda s: np.log(np.abs(np.fft.rfft(padded(s, n), axis=1)) + 1e-12)  # noqa: E731
    rows.append((r"random forest on log\|FFT\| (scikit-learn, 300 trees)", *forest_accuracy(f, tr, te, y, yt)))

    def ridge_on(transform, a, b, name):
        rows.append((name, *ridge_accuracy(transform, a, b, y, yt)))

    ridge_on(MiniRocket(random_state=0), padded(tr, n)[:, None, :], padded(te, n)[:, None, :],
             "MiniRocket + ridge (sktime; series zero-padded to the longest)")
    nested = lambda s: pd.DataFrame({"dim_0": [pd.Series(v) for v in s]})  # noqa: E731
    ridge_on(MiniRocketMultivariateVariable(pad_value_short_series=0, random_state=0), nested(tr), nested(te),
             "MiniRocket + ridge (sktime; variable-length form)")
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sigop", required=True)
    p.add_argument("--out", default="out/bench/plaid")
    p.add_argument("--recipes", type=int, default=len(RECIPES), help="run the first N sigop rows")
    args = p.parse_args()
    out = Path(args.out)
    data = written(out / "data")
    print("PLAID, official split (537 train / 537 test), test accuracy:\n")
    print("| method | test accuracy | macro-F1 | training time |\n|---|---|---|---|", flush=True)
    for name, acc, seconds in baselines():
        print(f"| {name} | {100 * acc:.1f} % | | {seconds:.1f} s |", flush=True)
    for i, (name, extra) in enumerate(RECIPES[:args.recipes]):
        acc, f1, seconds = run_sigop(args.sigop, data, out / "graphs", i, extra)
        print(f"| {name} | {100 * acc:.1f} % | {f1:.3f} | {seconds:.1f} s |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
