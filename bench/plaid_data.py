"""PLAID's official UCR split, from sktime's bundled copy, as sigop class folders.

PLAID (Plug Load Appliance Identification Dataset): current waveforms of 11
kinds of household appliances, 537 training and 537 test series of 100-1344
samples at 30 kHz. sktime ships the UCR archive's files in its wheel, so
nothing is downloaded. Writes OUT/train/<class>/<i>.npy and OUT/test/...,
each with signals.json (the sample rate), as a user with these recordings would.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np

RATE = 30_000  # Hz: PLAID's sampling rate


def load(split: str) -> tuple[list[np.ndarray], list[str]]:
    warnings.filterwarnings("ignore")
    from sktime.datasets import load_plaid

    x, y = load_plaid(split=split, return_type="nested_univ")
    return [np.asarray(s, dtype=np.float64) for s in x.iloc[:, 0]], [str(v) for v in y]


def padded(series: list[np.ndarray], n: int, dtype=np.float64) -> np.ndarray:
    """Series zero-padded (or cut) at the end to n samples: [len(series), n]."""
    x = np.zeros((len(series), n), dtype)
    for i, s in enumerate(series):
        x[i, :min(n, s.size)] = s[:n]
    return x


def write(out: Path) -> dict[str, int]:
    counts = {}
    for split in ("train", "test"):
        series, labels = load(split)
        root = out / split
        for i, (s, label) in enumerate(zip(series, labels)):
            folder = root / f"appliance_{int(label):02d}"
            folder.mkdir(parents=True, exist_ok=True)
            np.save(folder / f"{i:04d}.npy", s)
        (root / "signals.json").write_text(json.dumps({"sample_rate": RATE}) + "\n")
        counts[split] = len(series)
    return counts


def written(out: Path) -> Path:
    """``out``, holding PLAID's class folders (written on the first call)."""
    if not (Path(out) / "test").is_dir():
        write(Path(out))
    return Path(out)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    print(write(Path(p.parse_args().out)))
