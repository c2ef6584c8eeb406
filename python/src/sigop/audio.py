"""Sound files in, model-ready waveforms out: the one path training and serving share.

Any file libsndfile reads (WAV of any sample width, FLAC, OGG), mono or with
several channels (averaged), at any sample rate (resampled with soxr), is
padded with silence or truncated at its end to the model's fixed length.
"""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile
import soxr

__all__ = ["AudioError", "read_audio", "resample", "fit_length", "prepare"]


class AudioError(ValueError):
    """A sound file that cannot be decoded, or a sample rate that makes no sense."""


def read_audio(source: bytes | Path | str) -> tuple[np.ndarray, int]:
    """(mono float32 samples in [-1, 1], sample rate) from encoded bytes or a path."""
    what = f"{len(source)} bytes" if isinstance(source, (bytes, bytearray)) else str(source)
    try:
        data, rate = soundfile.read(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source,
                                    dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as e:
        reason = str(e).rsplit(": ", 1)[-1]  # libsndfile's reason, without its repr of our buffer
        raise AudioError(f"{what}: not a sound file libsndfile can read (WAV, FLAC, OGG): {reason}") from None
    if data.shape[0] == 0:
        raise AudioError(f"{what}: the sound file holds no samples")
    x = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if not np.isfinite(x).all():
        raise AudioError(f"{what}: the sound file holds NaN or Inf samples")
    return np.ascontiguousarray(x, dtype=np.float32), int(rate)


def resample(x: np.ndarray, rate: float, to_rate: int) -> np.ndarray:
    """Resample a 1-D signal from ``rate`` to ``to_rate`` Hz (soxr, high quality)."""
    if not (np.isfinite(rate) and 1 <= rate <= 1e7):
        raise AudioError(f"sample rate {rate:g} Hz is not a rate this server resamples from (1 Hz .. 10 MHz)")
    if Fraction(rate).limit_denominator(1000) == to_rate:
        return np.asarray(x, dtype=np.float32)
    return soxr.resample(np.asarray(x, dtype=np.float32), float(rate), float(to_rate), quality="HQ")


def fit_length(x: np.ndarray, samples: int) -> np.ndarray:
    """Pad with zeros, or truncate, at the end to exactly ``samples``."""
    if x.shape[-1] >= samples:
        return x[..., :samples]
    pad = [(0, 0)] * (x.ndim - 1) + [(0, samples - x.shape[-1])]
    return np.pad(x, pad)


def prepare(x: np.ndarray, rate: float, to_rate: int, samples: int) -> np.ndarray:
    """A signal at any rate -> float32 [samples] at ``to_rate``: what a waveform model is fed."""
    return fit_length(resample(x, rate, to_rate), samples).astype(np.float32, copy=False)
