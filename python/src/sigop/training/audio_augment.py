"""Augmentations for audio (seed 001's list), each off unless asked for.

Waveform changes act on the signal at the model's sample rate before it is
padded or truncated: additive white noise at a random SNR, a time shift
(zero-filled), a time stretch that keeps the pitch and a pitch shift that
keeps the duration (librosa's phase vocoder). SpecAugment-style masks act on
the front end's features: bands of frequency and time set to the floor (0).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..tfenv import tf

__all__ = ["AudioAugment", "add_noise", "time_shift", "time_stretch", "pitch_shift", "spec_mask"]


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

    def waveform(self, x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
        """One random augmentation of a waveform at ``rate`` Hz (length may change: fit it afterwards)."""
        if self.stretch:
            x = time_stretch(x, float(rng.uniform(1 - self.stretch, 1 + self.stretch)))
        if self.pitch_semitones:
            x = pitch_shift(x, rate, float(rng.uniform(-self.pitch_semitones, self.pitch_semitones)))
        if self.shift_seconds:
            limit = int(self.shift_seconds * rate)
            x = time_shift(x, int(rng.integers(-limit, limit + 1)))
        if self.noise_snr_db:
            x = add_noise(x, float(rng.uniform(*self.noise_snr_db)), rng)
        return x.astype(np.float32, copy=False)


def add_noise(x: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """x plus white Gaussian noise whose power is the signal's divided by 10^(snr_db/10)."""
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return x + (rms / 10 ** (snr_db / 20)) * rng.standard_normal(x.size).astype(x.dtype)


def time_shift(x: np.ndarray, samples: int) -> np.ndarray:
    """Delay (samples > 0) or advance the signal, filling with silence; the length is kept."""
    out = np.zeros_like(x)
    if samples >= 0:
        out[samples:] = x[:x.size - samples]
    else:
        out[:samples] = x[-samples:]
    return out


def time_stretch(x: np.ndarray, rate: float) -> np.ndarray:
    """Play ``rate`` times as fast (length / rate), pitch kept."""
    import librosa

    return librosa.effects.time_stretch(np.asarray(x, dtype=np.float32), rate=rate)


def pitch_shift(x: np.ndarray, rate: int, semitones: float) -> np.ndarray:
    """Move every frequency by 2^(semitones/12), length kept."""
    import librosa

    return librosa.effects.pitch_shift(np.asarray(x, dtype=np.float32), sr=rate, n_steps=semitones)


def spec_mask(features: tf.Tensor, aug: AudioAugment, seed: int | None = None) -> tf.Tensor:
    """SpecAugment masks on features [batch, bins, 1] (1-D) or [batch, frames, bands, 1] (2-D)."""
    x = tf.convert_to_tensor(features)
    gen = tf.random.Generator.from_seed(seed) if seed is not None else tf.random.get_global_generator()
    freq_axis = 1 if x.shape.rank == 3 else 2
    x = _masks(x, freq_axis, aug.freq_masks, aug.freq_mask_width, gen)
    if x.shape.rank == 4:
        x = _masks(x, 1, aug.time_masks, aug.time_mask_width, gen)
    return x


def _masks(x: tf.Tensor, axis: int, count: int, max_width: int, gen: tf.random.Generator) -> tf.Tensor:
    length, batch = tf.shape(x)[axis], tf.shape(x)[0]
    position = tf.range(length)[None, :]
    for _ in range(count):
        width = gen.uniform([batch], 0, max_width + 1, dtype=tf.int32)
        start = tf.cast(gen.uniform([batch]) * tf.cast(length - width + 1, tf.float32), tf.int32)
        inside = (position >= start[:, None]) & (position < (start + width)[:, None])  # [batch, length]
        x = tf.where(_view(inside, axis, x.shape.rank), tf.zeros_like(x), x)
    return x


def _view(mask: tf.Tensor, axis: int, rank: int) -> tf.Tensor:
    """[batch, length] -> broadcastable against a rank-``rank`` tensor along ``axis``."""
    for d in range(1, rank):
        if d != axis:
            mask = tf.expand_dims(mask, d)
    return mask
