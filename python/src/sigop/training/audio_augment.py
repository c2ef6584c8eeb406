"""Augmentations for audio (seed 001's list), each off unless asked for.

Waveform changes act on the signal at the model's sample rate: a time
stretch that keeps the pitch and a pitch shift that keeps the duration
(librosa's phase vocoder), then, once the clip is padded or cut to the
model's window, a time shift within that window (zero-filled: a short sound
lands anywhere in it, as it does in a stream's windows) and additive white
noise at a random SNR. SpecAugment-style masks, which
act on the front end's features, are TensorFlow ops: spec_augment.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..audio import fit_length

__all__ = ["AudioAugment", "add_noise", "time_shift", "time_stretch", "pitch_shift"]


@dataclass(frozen=True)
class AudioAugment:
    copies: int = 0  # augmented copies per training file
    noise_snr_db: tuple[float, float] | None = None  # SNR drawn from this range; None: no noise
    shift_seconds: float = 0.0  # shift by up to ± this much
    stretch: float = 0.0  # rate drawn from [1 - stretch, 1 + stretch]
    pitch_semitones: float = 0.0  # pitch moved by up to ± this many semitones
    freq_masks: int = 0  # masks per example across the frequency axis
    freq_mask_width: int = 8  # each up to this many bands/bins wide
    time_masks: int = 0  # masks per example across the time axis (2-D front ends)
    time_mask_width: int = 10  # each up to this many frames wide

    def describe(self) -> str:
        return repr(sorted(asdict(self).items()))

    @property
    def masks(self) -> bool:
        return bool(self.freq_masks or self.time_masks)

    def waveform(self, x: np.ndarray, rate: int, rng: np.random.Generator, samples: int | None = None) -> np.ndarray:
        """One random augmentation of a waveform [..., n] at ``rate`` Hz, fitted to ``samples`` (None: any length);
        a signal's channels are moved together (one shift, one stretch)."""
        if self.stretch:
            x = time_stretch(x, float(rng.uniform(1 - self.stretch, 1 + self.stretch)))
        if self.pitch_semitones:
            x = pitch_shift(x, rate, float(rng.uniform(-self.pitch_semitones, self.pitch_semitones)))
        if samples is not None:
            x = fit_length(x, samples)
        if self.shift_seconds:
            limit = int(self.shift_seconds * rate)
            x = time_shift(x, int(rng.integers(-limit, limit + 1)))
        if self.noise_snr_db:
            x = add_noise(x, float(rng.uniform(*self.noise_snr_db)), rng)
        return x.astype(np.float32, copy=False)


def add_noise(x: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """x plus white Gaussian noise whose power is the signal's divided by 10^(snr_db/10)."""
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return x + (rms / 10 ** (snr_db / 20)) * rng.standard_normal(x.shape).astype(x.dtype)


def time_shift(x: np.ndarray, samples: int) -> np.ndarray:
    """Delay (samples > 0) or advance the signal [..., n] (every channel alike), filling with silence; the length
    is kept."""
    out = np.zeros_like(x)
    if samples >= 0:
        out[..., samples:] = x[..., :x.shape[-1] - samples]
    else:
        out[..., :samples] = x[..., -samples:]
    return out


def time_stretch(x: np.ndarray, rate: float) -> np.ndarray:
    """Play ``rate`` times as fast (length / rate), pitch kept."""
    import librosa

    return librosa.effects.time_stretch(np.asarray(x, dtype=np.float32), rate=rate)


def pitch_shift(x: np.ndarray, rate: int, semitones: float) -> np.ndarray:
    """Move every frequency by 2^(semitones/12), length kept."""
    import librosa

    return librosa.effects.pitch_shift(np.asarray(x, dtype=np.float32), sr=rate, n_steps=semitones)
