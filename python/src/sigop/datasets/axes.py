"""Three-axis test data: classes told apart only by which axis carries a tone.

A vibration sensor's three axes (x, y, z) hold white noise; one axis also
carries a sine of random frequency (8-12 Hz at 100 Hz) and phase, and the
class is that axis. Every class has the same spectrum and the same waveform
statistics once the axes are averaged or laid end to end, so only a model
that keeps the channels apart can tell them apart. Files are ``.npy``
[3, samples] (or, with ``csv``, logger-style CSV with a millisecond
timestamp column and an ``accX,accY,accZ`` header).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..signals import SIGNALS_FILE

__all__ = ["AXES", "axes_signal", "make_axes", "write_csv"]

AXES = ("x", "y", "z")
RATE = 100.0


def axes_signal(axis: int, rng: np.random.Generator, samples: int = 256, rate: float = RATE) -> np.ndarray:
    """float64 [3, samples]: noise on every axis, a tone on ``axis``."""
    x = rng.normal(0.0, 1.0, (len(AXES), samples))
    t = np.arange(samples) / rate
    x[axis] += 2.0 * np.sin(2 * np.pi * rng.uniform(8, 12) * t + rng.uniform(0, 2 * np.pi))
    return x


def write_csv(path: Path, x: np.ndarray, rate: float = RATE, start_ms: int = 1_700_000_000_000) -> None:
    """A logger's CSV: timestamp (ms since the epoch), then one column per axis."""
    t = start_ms + np.round(np.arange(x.shape[1]) * 1000 / rate).astype(np.int64)
    lines = ["timestamp," + ",".join(f"acc{a.upper()}" for a in AXES)]
    lines += [f"{ti}," + ",".join(f"{v:.6f}" for v in row) for ti, row in zip(t, x.T)]
    Path(path).write_text("\n".join(lines) + "\n")


def make_axes(root: Path, per_class: int = 40, seed: int = 0, samples: int = 256, csv: bool = False) -> Path:
    """Class folders tone_x, tone_y, tone_z; .npy files with a signals.json (rate, channel names), or CSVs that
    carry both themselves."""
    root, rng = Path(root), np.random.default_rng(seed)
    for axis, name in enumerate(AXES):
        folder = root / f"tone_{name}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            x = axes_signal(axis, rng, samples)
            if csv:
                write_csv(folder / f"{i:03d}.csv", x)
            else:
                np.save(folder / f"{i:03d}.npy", x)
    if not csv:
        (root / SIGNALS_FILE).write_text(json.dumps({"sample_rate": RATE, "channels": list(AXES)}))
    return root


if __name__ == "__main__":  # make test-e2e: python -m sigop.datasets.axes --out DIR [--csv]
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--per-class", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--csv", action="store_true")
    a = p.parse_args()
    print(make_axes(Path(a.out), a.per_class, a.seed, csv=a.csv))
