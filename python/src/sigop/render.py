"""Signal -> spectrum image: the one renderer training and serving share.

The article's point: an image model only learns frequency content if every
spectrum is drawn on exactly the same axes, without colour. A contract fixes
them — signal length, dB range, image size — and is saved in the model's
manifest, so the server renders a signal exactly as the training data was.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["SpectrumContract", "CONTRACT_FILE", "LEVELS", "magnitude_to_image", "render_signal", "fit_to_contract",
           "peak_db"]

LEVELS = ("absolute", "relative")
CONTRACT_FILE = "contract.json"  # beside class folders of signals or images sigop rendered: their contract


@dataclass(frozen=True)
class SpectrumContract:
    """How a signal becomes an image. Version 1:

    a signal of another length is first padded with zeros or truncated at the
    end to n samples (as waveform models' inputs are); magnitude |X[k]| of the
    one-sided unnormalised FFT (k = 0..n/2) in dB, 20*log10(|X|) — with
    ``level`` "relative", minus the spectrum's own peak plus db_ceiling, so
    every signal's peak is drawn at the top whatever its level — clipped to
    [db_floor, db_ceiling]; bins 0..max_bin-1 (all
    n/2+1 when max_bin is 0) map to the image's columns by index (column c
    covers bins floor(c*B/W) .. floor((c+1)*B/W)-1, B the bins drawn, taking
    their maximum), and each column is filled white from the bottom up to its
    level on a black background. Grayscale, no axes, no text.
    """

    n: int = 1024
    max_bin: int = 0
    db_floor: float = 0.0
    db_ceiling: float = 80.0
    width: int = 224
    height: int = 224
    level: str = "absolute"  # or "relative": dB below each spectrum's own peak
    version: int = 1

    def __post_init__(self):
        if self.level not in LEVELS:
            raise ValueError(f"spectrum level {self.level!r} is not one of {LEVELS}")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "SpectrumContract":
        c = cls(**d)
        if c.version != 1:
            raise ValueError(f"spectrum contract version {c.version} is not supported (this sigop renders version 1)")
        return c

    @property
    def bins(self) -> int:
        """Bins in a spectrum of n samples."""
        return self.n // 2 + 1

    @property
    def drawn_bins(self) -> int:
        return min(self.max_bin, self.bins) if self.max_bin > 0 else self.bins


def magnitude_to_image(magnitude: np.ndarray, c: SpectrumContract) -> np.ndarray:
    """Draw magnitude spectra [batch, n/2+1] as uint8 images [batch, height, width]."""
    magnitude = np.atleast_2d(magnitude)
    if magnitude.shape[1] != c.bins:
        raise ValueError(f"spectrum has {magnitude.shape[1]} bins; the contract expects {c.bins} (n={c.n})")
    drawn = c.drawn_bins
    starts = (np.arange(c.width) * drawn) // c.width
    if drawn >= c.width:
        columns = np.maximum.reduceat(magnitude[:, :drawn], starts, axis=1)  # [batch, width]
    else:  # fewer bins than columns: each bin spans several columns
        columns = magnitude[:, starts]
    with np.errstate(divide="ignore", invalid="ignore"):
        db = 20.0 * np.log10(columns)
        if c.level == "relative":
            peak = db.max(axis=1, keepdims=True)
            db = np.where(np.isfinite(peak), db - peak + c.db_ceiling, -np.inf)  # a silent signal stays blank
    level = np.clip((db - c.db_floor) / (c.db_ceiling - c.db_floor), 0.0, 1.0)
    heights = np.rint(level * c.height).astype(np.int32)  # filled pixels per column
    rows_from_bottom = np.arange(c.height)[::-1]
    return np.where(rows_from_bottom[None, :, None] < heights[:, None, :], 255, 0).astype(np.uint8)


def render_signal(signals: np.ndarray, c: SpectrumContract) -> np.ndarray:
    """Render signals [batch, n] (or [n]) with numpy's FFT; see magnitude_to_image."""
    signals = fit_to_contract(np.atleast_2d(np.asarray(signals, dtype=np.float64)), c)
    return magnitude_to_image(np.abs(np.fft.rfft(signals, axis=1)), c)


def fit_to_contract(signals: np.ndarray, c: SpectrumContract) -> np.ndarray:
    """Signals [batch, any length] -> [batch, n]: zeros appended, or the end cut off."""
    if signals.shape[1] >= c.n:
        return signals[:, :c.n]
    return np.pad(signals, [(0, 0), (0, c.n - signals.shape[1])])


def peak_db(signals: np.ndarray, c: SpectrumContract) -> np.ndarray:
    """Each signal's highest drawn spectrum level in dB (absolute): where it sits on the contract's scale."""
    magnitude = np.abs(np.fft.rfft(fit_to_contract(np.atleast_2d(signals), c), axis=1))[:, :c.drawn_bins]
    with np.errstate(divide="ignore"):
        return 20.0 * np.log10(magnitude.max(axis=1))
