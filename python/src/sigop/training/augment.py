"""Augmentations that are safe for spectra.

Image augmentations (flips, rotations, crops, zooms) move or mirror
frequencies and so change what a spectrum means; these act on the signal
before it is rendered instead. A frequency shift changes the class in the
article's task, so it is applied only when the user says shifts don't matter.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["Augment"]


@dataclass(frozen=True)
class Augment:
    copies: int = 0  # augmented copies per training signal
    noise: float = 0.05  # added white noise, as a fraction of the signal's std
    amplitude: float = 0.1  # std of the relative amplitude change
    max_shift_bins: int = 0  # frequency shift up to ± this many FFT bins (0: never)

    def describe(self) -> str:
        return repr(sorted(asdict(self).items()))

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        y = x * (1.0 + self.amplitude * rng.standard_normal())
        y = y + self.noise * (np.std(x) or 1.0) * rng.standard_normal(x.shape)
        if self.max_shift_bins:
            y = shift_frequency(y, int(rng.integers(-self.max_shift_bins, self.max_shift_bins + 1)))
        return y


def shift_frequency(x: np.ndarray, bins: int) -> np.ndarray:
    """Move a real signal's spectrum ([n], or [channels, n]: every channel alike) by ``bins`` FFT bins (content past
    either end is dropped)."""
    if bins == 0:
        return x
    spectrum = np.fft.rfft(x)
    shifted = np.zeros_like(spectrum)
    if bins > 0:
        shifted[..., bins:] = spectrum[..., :-bins]
    else:
        shifted[..., :bins] = spectrum[..., -bins:]
    return np.fft.irfft(shifted, n=x.shape[-1])
