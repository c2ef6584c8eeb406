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
    channels: int = 1  # several: one band of rows per channel, the first on top (bands' heights differ by <= 1)

    def __post_init__(self):
        if not 1 <= self.channels <= self.height:
            raise ValueError(f"a spectrum image of {self.height} rows draws 1 to {self.height} channels, "
                             f"not {self.channels}")
        if self.level not in LEVELS:
            raise ValueError(f"spectrum level {self.level!r} is not one of {LEVELS}")

    def to_json(self) -> dict:
        d = asdict(self)
        return d if self.channels > 1 else {k: v for k, v in d.items() if k != "channels"}  # one channel: as before

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
    """Draw magnitude spectra [batch, n/2+1] (several channels: [batch * channels, n/2+1], a signal's channels
    consecutive) as uint8 images [batch, height, width]. Channels are drawn in bands of rows, the first on top;
    "relative" levels are below the peak of all of a signal's channels, so the axes' relative levels show."""
    magnitude = np.atleast_2d(magnitude)
    if magnitude.shape[1] != c.bins:
        raise ValueError(f"spectrum has {magnitude.shape[1]} bins; the contract expects {c.bins} (n={c.n})")
    drawn = c.drawn_bins
    starts = (np.arange(c.width) * drawn) // c.width
    if drawn >= c.width:
        columns = np.maximum.reduceat(magnitude[:, :drawn], starts, axis=1)  # [batch, width]
    else:  # fewer bins than columns: each bin spans several columns
        columns = magnitude[:, starts]
    if len(columns) % c.channels:
        raise ValueError(f"{len(columns)} spectra are not whole signals of {c.channels} channels")
    columns = columns.reshape(-1, c.channels, c.width)
    with np.errstate(divide="ignore", invalid="ignore"):
        db = 20.0 * np.log10(columns)
        if c.level == "relative":
            peak = db.max(axis=(1, 2), keepdims=True)
            db = np.where(np.isfinite(peak), db - peak + c.db_ceiling, -np.inf)  # a silent signal stays blank
    level = np.clip((db - c.db_floor) / (c.db_ceiling - c.db_floor), 0.0, 1.0)
    bands = []
    for ch, rows in enumerate(np.array_split(np.arange(c.height), c.channels)):
        heights = np.rint(level[:, ch] * len(rows)).astype(np.int32)  # filled pixels per column
        rows_from_bottom = np.arange(len(rows))[::-1]
        bands.append(np.where(rows_from_bottom[None, :, None] < heights[:, None, :], 255, 0).astype(np.uint8))
    return bands[0] if c.channels == 1 else np.concatenate(bands, axis=1)


def render_signal(signals: np.ndarray, c: SpectrumContract) -> np.ndarray:
    """Render signals [batch, n] (or [n]; several channels: [batch, channels, n] or [channels, n]) with numpy's
    FFT; see magnitude_to_image."""
    signals = np.asarray(signals, dtype=np.float64)
    signals = fit_to_contract(signals.reshape(-1, signals.shape[-1]), c)
    return magnitude_to_image(np.abs(np.fft.rfft(signals, axis=1)), c)


def fit_to_contract(signals: np.ndarray, c: SpectrumContract) -> np.ndarray:
    """Signals [..., any length] -> [..., n]: zeros appended, or the end cut off."""
    if signals.shape[-1] >= c.n:
        return signals[..., :c.n]
    return np.pad(signals, [(0, 0)] * (signals.ndim - 1) + [(0, c.n - signals.shape[-1])])


def peak_db(signals: np.ndarray, c: SpectrumContract) -> np.ndarray:
    """Each signal's highest drawn spectrum level in dB (absolute): where it sits on the contract's scale."""
    x = np.atleast_2d(signals)
    magnitude = np.abs(np.fft.rfft(fit_to_contract(x.reshape(-1, x.shape[-1]), c), axis=1))[:, :c.drawn_bins]
    with np.errstate(divide="ignore"):
        return 20.0 * np.log10(magnitude.reshape(-1, c.channels, c.drawn_bins).max(axis=(1, 2)))
