"""Real multichannel sensors: sigop's default command and recipes on official train/test splits, beside sktime.

BasicMotions (a wrist-worn IMU: 3-axis accelerometer + 3-axis gyroscope at
10 Hz, 10 s; walking, resting, running, badminton; 40 train / 40 test) and
JapaneseVowels (12 LPC cepstrum coefficients per frame of nine speakers' /ae/,
7-29 frames; 270 train / 370 test), both from the UCR/UEA archive copies
bundled in sktime's wheel: nothing is downloaded. Each series is written as a
.npy [channels, samples] in class folders, as a user with these recordings
would keep them; each sigop row runs `sigop train` and `sigop evaluate --json`
on the official test folder. Beside them, on the same split and in the same
run: MiniRocketMultivariate + ridge (sktime; the variable-length form for
JapaneseVowels too) and a random forest on each channel's log|FFT|. Both
MiniRocket forms draw random kernels and biases, so the default command
(--seed 0..4) and sktime's (random_state 0..4) are also run five times each:
one draw of either can land a point or more from its mean on 370 test files.
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

DATASETS = {  # name: (sktime loader, sample rate or None, channel names)
    "BasicMotions": ("load_basic_motions", 10.0, ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]),
    "JapaneseVowels": ("load_japanese_vowels", None, [f"lpc_{i}" for i in range(1, 13)]),
}
RECIPES = [  # (row, extra train arguments); the first is what a new user runs
    ("sigop default: `sigop train --data train`", None),
    ("sigop default with the official test split (`--test-data`)", ["--model", "auto"]),
    ("sigop --model minirocket --test-data", ["--model", "minirocket"]),
    ("sigop --model transfer (spectrum image, a band per channel) --test-data", ["--model", "transfer"]),
    ("sigop --model cnn (per-channel power spectrum) --test-data", ["--model", "cnn"]),
    ("sigop --model cnn --front-end waveform --test-data", ["--model", "cnn", "--front-end", "waveform"]),
]


def load(name: str, split: str) -> tuple[list[np.ndarray], list[str]]:
    """Series [channels, length] (lengths may differ) and labels."""
    warnings.filterwarnings("ignore")
    import sktime.datasets as d

    x, y = getattr(d, DATASETS[name][0])(split=split, return_type="nested_univ")
    return [np.stack([np.asarray(x.iloc[i, c], np.float64) for c in range(x.shape[1])]) for i in range(len(x))], \
        [str(v) for v in y]


def padded(series: list[np.ndarray], n: int) -> np.ndarray:
    """[len(series), channels, n], zero-padded at the end."""
    out = np.zeros((len(series), series[0].shape[0], n))
    for i, s in enumerate(series):
        out[i, :, :min(n, s.shape[1])] = s[:, :n]
    return out


def write(name: str, out: Path) -> dict[str, int]:
    _, rate, channels = DATASETS[name]
    counts = {}
    for split in ("train", "test"):
        series, labels = load(name, split)
        root = out / split
        for i, (s, label) in enumerate(zip(series, labels)):
            folder = root / f"class_{label}"
            folder.mkdir(parents=True, exist_ok=True)
            np.save(folder / f"{i:04d}.npy", s)
        (root / "signals.json").write_text(json.dumps({**({"sample_rate": rate} if rate else {}),
                                                       "channels": channels}) + "\n")
        counts[split] = len(series)
    return counts


SEEDS = range(5)


def run_sigop(sigop: str, data: Path, out: Path, extra: list[str] | None, seed: int = 0
              ) -> tuple[float, float, float]:
    """(test accuracy, macro-F1, training seconds) of one recipe, through the CLI."""
    cmd = [sigop, "train", "--data", str(data / "train"), "--out", str(out), "--no-saved-model", "--seed", str(seed)]
    if extra is not None:
        cmd += [*extra, "--test-data", str(data / "test")]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    ev = subprocess.run([sigop, "evaluate", "--model", str(out), "--data", str(data / "test"), "--json"],
                        check=True, capture_output=True, text=True)
    r = json.loads(ev.stdout)
    return r["accuracy"], r["macro_f1"], seconds


def spread(accuracies: list[float]) -> str:
    a = 100 * np.array(accuracies)
    return f"{a.mean():.1f} % ({a.min():.1f}-{a.max():.1f})"


def sktime_seeds(name: str) -> list[float]:
    """MiniRocketMultivariate + ridge's test accuracy for random_state 0..4 (zero-padded to the longest)."""
    warnings.filterwarnings("ignore")
    from sktime.transformations.panel.rocket import MiniRocketMultivariate

    (tr, y), (te, yt) = load(name, "train"), load(name, "test")
    n = max(s.shape[1] for s in tr + te)
    return [ridge_accuracy(MiniRocketMultivariate(random_state=seed), padded(tr, n), padded(te, n), y, yt)[0]
            for seed in SEEDS]


def baselines(name: str) -> list[tuple[str, float, float]]:
    warnings.filterwarnings("ignore")
    import pandas as pd
    from sktime.transformations.panel.rocket import MiniRocketMultivariate, MiniRocketMultivariateVariable

    (tr, y), (te, yt) = load(name, "train"), load(name, "test")
    n = max(s.shape[1] for s in tr + te)
    equal = len({s.shape[1] for s in tr + te}) == 1
    rows = []

    f = lambda s: np.log(np.abs(np.fft.rfft(padded(s, n), axis=2)) + 1e-12).reshape(len(s), -1)  # noqa: E731
    rows.append((r"random forest on each channel's log\|FFT\| (scikit-learn, 300 trees)",
                 *forest_accuracy(f, tr, te, y, yt)))

    def ridge_on(transform, a, b, row):
        rows.append((row, *ridge_accuracy(transform, a, b, y, yt)))

    ridge_on(MiniRocketMultivariate(random_state=0), padded(tr, n), padded(te, n),
             "MiniRocketMultivariate + ridge (sktime" + ("" if equal else "; zero-padded to the longest") + ")")
    if not equal:
        nested = lambda s: pd.DataFrame({f"dim_{c}": [pd.Series(v[c]) for v in s]  # noqa: E731
                                         for c in range(s[0].shape[0])})
        ridge_on(MiniRocketMultivariateVariable(pad_value_short_series=0, random_state=0), nested(tr), nested(te),
                 "MiniRocketMultivariateVariable + ridge (sktime; variable-length form)")
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sigop", required=True)
    p.add_argument("--out", default="out/bench/multichannel")
    p.add_argument("--datasets", nargs="*", default=list(DATASETS))
    p.add_argument("--recipes", type=int, default=len(RECIPES), help="run the first N sigop rows")
    args = p.parse_args()
    verdicts = []
    for name in args.datasets:
        out = Path(args.out) / name
        data = out / "data"
        counts = write(name, data) if not (data / "test").is_dir() else {}
        print(f"\n{name}, official split {counts or ''}, test accuracy:\n")
        print("| method | test accuracy | macro-F1 | training time |\n|---|---|---|---|", flush=True)
        reference = []
        for row, acc, seconds in baselines(name):
            print(f"| {row} | {100 * acc:.1f} % | | {seconds:.1f} s |", flush=True)
            if "MiniRocketMultivariate" in row:
                reference.append(acc)
        default = None
        for i, (row, extra) in enumerate(RECIPES[:args.recipes]):
            acc, f1, seconds = run_sigop(args.sigop, data, out / "graphs" / f"recipe{i}", extra)
            default = acc if default is None else default
            print(f"| {row} | {100 * acc:.1f} % | {f1:.3f} | {seconds:.1f} s |", flush=True)
        ours = [default] + [run_sigop(args.sigop, data, out / "graphs" / f"seed{s}", None, s)[0] for s in SEEDS[1:]]
        theirs = sktime_seeds(name)
        print(f"| sigop default, `--seed` 0-4: mean (min-max) | {spread(ours)} | | |")
        print(f"| MiniRocketMultivariate + ridge (sktime), `random_state` 0-4: mean (min-max) | {spread(theirs)} | | |",
              flush=True)
        for what, a, b in (("seed 0", default, max(reference)), ("mean of 5 seeds", np.mean(ours), np.mean(theirs))):
            gap = 100 * (b - a)
            verdicts.append(f"{name}, {what}: default {100 * a:.1f} %, MiniRocketMultivariate {100 * b:.1f} % "
                            f"({'within' if gap <= 1.0 else 'NOT within'} 1 point: {gap:+.1f})")
    print("\n" + "\n".join(verdicts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
