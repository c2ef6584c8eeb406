"""A machine's three-axis accelerometer, as a logger exports it: one CSV per recording.

Each file is ``timestamp,accX,accY,accZ`` (milliseconds since the epoch) at
1 kHz, the way vibration loggers and Edge Impulse write them. The machine
turns at ``rpm`` (jittered ±3 % per file), and its state is what the
vibration carries:

- ``idle``: sensor noise and the mains hum of a stopped motor (50 Hz);
- ``normal``: a weak once-per-revolution (1×) vibration on the radial axes;
- ``imbalance``: a strong 1× rotating force, x and y in quadrature;
- ``misalignment``: strong 2× (and some 1×), mostly axial (z);
- ``bearing``: an outer-race fault, a 220 Hz resonance struck 3.57 times
  per revolution: the fault the tests and the journey keep out of training.

At another ``rpm`` every shaft-locked line moves with the speed, as it does
on a real machine: a model that keyed on absolute frequency fails there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .axes import write_csv

__all__ = ["STATES", "RATE", "machine_signal", "make_machine"]

RATE = 1000.0
STATES = ("idle", "normal", "imbalance", "misalignment", "bearing")
BPFO = 3.57  # outer-race defect frequency, in shaft orders
RESONANCE = 220.0  # Hz, the housing mode a bearing defect strikes


def machine_signal(state: str, rng: np.random.Generator, rpm: float = 1500.0, seconds: float = 2.0,
                   rate: float = RATE) -> np.ndarray:
    """float64 [3, seconds * rate]: the x, y, z accelerations of the machine in ``state``."""
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    f = rpm / 60.0 * rng.uniform(0.97, 1.03)
    x = rng.normal(0.0, 0.3, (3, n))
    phase = rng.uniform(0, 2 * np.pi)

    def order(k: float, amplitude: float, axes=(1.0, 1.0, 0.3)) -> None:
        a = amplitude * rng.uniform(0.8, 1.2)
        x[0] += axes[0] * a * np.cos(2 * np.pi * k * f * t + phase)
        x[1] += axes[1] * a * np.sin(2 * np.pi * k * f * t + phase)
        x[2] += axes[2] * a * np.cos(2 * np.pi * k * f * t + 2 * phase)

    if state == "idle":
        x += 0.15 * np.sin(2 * np.pi * 50 * t + rng.uniform(0, 2 * np.pi))
    elif state == "normal":
        order(1, 0.4)
    elif state == "imbalance":
        order(1, 2.0)
    elif state == "misalignment":
        order(1, 0.6)
        order(2, 1.5, axes=(0.4, 0.4, 1.5))
    elif state == "bearing":
        order(1, 0.4)
        strikes = np.zeros(n)
        period = rate / (BPFO * f)
        for s in np.arange(rng.uniform(0, period), n, period):
            strikes[int(s)] = 1.0
        ring = np.exp(-t[:60] * 400) * np.sin(2 * np.pi * RESONANCE * t[:60])
        impact = np.convolve(strikes, ring)[:n] * 3.0
        x += impact * np.array([[1.0], [0.7], [0.4]])
    else:
        raise ValueError(f"unknown state {state!r}; one of {', '.join(STATES)}")
    return x


def make_machine(root: Path, states=STATES[:4], per_class: int = 40, rpm: float = 1500.0, seed: int = 0,
                 seconds: float = 2.0) -> Path:
    """Class folders of logger CSVs, one per state."""
    root, rng = Path(root), np.random.default_rng(seed)
    for state in states:
        folder = root / state
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            write_csv(folder / f"{state}_{i:03d}.csv", machine_signal(state, rng, rpm, seconds), rate=RATE,
                      start_ms=1_700_000_000_000 + i * 10_000_000)
    return root


if __name__ == "__main__":  # python -m sigop.datasets.machine --out DIR [--rpm 1800] [--states bearing]
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--states", default=",".join(STATES[:4]), help=f"comma-separated, of {', '.join(STATES)}")
    p.add_argument("--per-class", type=int, default=40)
    p.add_argument("--rpm", type=float, default=1500.0)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    print(make_machine(Path(a.out), a.states.split(","), a.per_class, a.rpm, a.seed, a.seconds))
