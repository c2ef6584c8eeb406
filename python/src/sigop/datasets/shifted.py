"""Seed 002's experiment: four spectral shapes, trained centred, tested shifted.

Each class is a shape in the power spectrum — one narrow peak, two peaks a
fixed distance apart, a flat plateau, a ramp rising 30 dB and dropping sharply —
drawn with jittered width and level over a noise floor, with random phases,
then made a real signal by the inverse FFT (unit RMS). Training and the
"centred" test set put the shape's centre within ``spread`` Hz of ``centre``;
the "shifted" test set puts it anywhere across the band. A model that keys on
where the shape sits fails the shifted set; one that keys on the shape does not.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from ..progress import bar as progress_bar

from ..render import CONTRACT_FILE, SpectrumContract
from ..training.config import SIGNALS_FILE

__all__ = ["CLASSES", "SETS", "spectrum_shape", "shifted_signal", "make_shifted"]

CLASSES = ("peak", "plateau", "ramp", "twin")
SETS = ("train", "test-centred", "test-shifted")


def spectrum_shape(kind: str, offset_hz: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Magnitude of class ``kind`` at frequencies ``offset_hz`` from its centre (peak ~1)."""
    scale = rng.uniform(0.85, 1.15)
    f = offset_hz / scale
    if kind == "peak":
        return np.exp(-0.5 * (f / 12.0) ** 2)
    if kind == "twin":
        return np.exp(-0.5 * ((f - 80.0) / 12.0) ** 2) + np.exp(-0.5 * ((f + 80.0) / 12.0) ** 2)
    if kind == "plateau":
        return 1.0 / (1.0 + (np.abs(f) / 120.0) ** 16)
    if kind == "ramp":
        rising_db = np.clip(30.0 * ((f + 120.0) / 240.0 - 1.0), -60.0, 0.0)  # -30 dB up to 0 dB across the band
        return np.where((f > -120.0) & (f < 120.0), 10 ** (rising_db / 20), 0.0)
    raise ValueError(f"unknown shape {kind!r}; expected one of {CLASSES}")


def shifted_signal(kind: str, centre_hz: float, rng: np.random.Generator, *, n: int = 2048,
                   rate: int = 8000, floor: float = 0.02) -> np.ndarray:
    """One unit-RMS signal of n samples whose spectrum has shape ``kind`` centred at ``centre_hz``."""
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    level = rng.uniform(0.5, 1.0)
    magnitude = level * spectrum_shape(kind, freqs - centre_hz, rng) + floor * rng.rayleigh(1.0, freqs.size)
    x = np.fft.irfft(magnitude * np.exp(2j * np.pi * rng.random(freqs.size)), n=n)
    return x / np.sqrt(np.mean(x ** 2))


def make_shifted(out: Path, *, per_class: int = 200, test_per_class: int = 100, n: int = 2048, rate: int = 8000,
                 centre: float = 1000.0, spread: float = 150.0, margin: float = 300.0, seed: int = 0,
                 progress: bool = True) -> dict[str, int]:
    """Write train/, test-centred/ and test-shifted/ (class folders of .npy) with signals.json and contract.json."""
    rng = np.random.default_rng(seed)
    counts = {}
    for name in SETS:
        count = per_class if name == "train" else test_per_class
        root = Path(out) / name
        jobs = [(kind, i) for kind in CLASSES for i in range(count)]
        for kind, i in progress_bar(jobs, desc=name, unit="signal", disable=not progress):
            if name == "test-shifted":
                c = rng.uniform(margin, rate / 2 - margin)
            else:
                c = rng.uniform(centre - spread, centre + spread)
            (root / kind).mkdir(parents=True, exist_ok=True)
            np.save(root / kind / f"{i:04d}.npy", shifted_signal(kind, c, rng, n=n, rate=rate))
        (root / SIGNALS_FILE).write_text(json.dumps({"sample_rate": rate, "samples": n}) + "\n")
        (root / CONTRACT_FILE).write_text(json.dumps(SpectrumContract(n=n, max_bin=0).to_json()) + "\n")
        counts[name] = len(jobs)
    _preview(Path(out) / "preview.png", rate, n, centre, margin, seed)
    return counts


def _preview(path: Path, rate: int, n: int, centre: float, margin: float, seed: int) -> None:
    """One example of each class, centred and shifted, as power spectra in dB."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed + 1)
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    fig, axes = plt.subplots(len(CLASSES), 1, figsize=(9, 1.8 * len(CLASSES)), sharex=True)
    for ax, kind in zip(axes, CLASSES):
        for c, style, label in ((centre, "-", "centred (training)"), (rate / 2 - margin - 200, "-", "shifted (test)")):
            x = shifted_signal(kind, c, rng, n=n, rate=rate)
            power = np.abs(np.fft.rfft(x * np.hanning(n))) ** 2
            ax.plot(freqs, 10 * np.log10(power / power.max() + 1e-12), style, lw=0.7, label=label)
        ax.set_ylim(-60, 3)
        ax.set_ylabel("dB")
        ax.set_title(kind, fontsize=9, loc="left")
    axes[0].legend(fontsize=8, loc="lower center", ncol=2)
    axes[-1].set_xlabel("frequency, Hz")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
