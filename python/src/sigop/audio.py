"""Sound files in, model-ready waveforms out: the one path training and serving share.

Only WAV, FLAC and OGG are decoded, recognised by their first bytes before
libsndfile sees them. A file's header (frames, channels, rate) is read first,
so the caller can refuse it, or decode only the frames a model needs, before
any sample is allocated. Channels are averaged (or kept, for a multichannel model), the rate converted with soxr,
and the result padded with silence or truncated at its end to the model's
length. A signal is cut to what the model uses *before* it is resampled, so a
header claiming 1 Hz cannot make the server upsample a whole file.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import soxr

__all__ = ["AudioError", "AudioHeader", "read_header", "read_audio", "resample", "fit_length",
           "frames_needed", "prepare", "MIN_RATE", "MAX_RATE"]

MIN_RATE, MAX_RATE = 1e-6, 1e7  # Hz a signal may be resampled from (slow sensors sample at 0.1 Hz)
# Past the frames a model uses, how many more the resampler needs for the
# last output samples to equal a whole-file resampling: its filter reaches
# ~1000 output samples, or ~64 input samples when upsampling hugely.
_MARGIN_OUT, _MARGIN_IN = 1024, 64


class AudioError(ValueError):
    """A sound file that cannot be decoded, or a sample rate that makes no sense."""


@dataclass(frozen=True)
class AudioHeader:
    frames: int
    channels: int
    rate: int


def _container(head: bytes) -> str | None:
    if head[:4] in (b"RIFF", b"RIFX", b"RF64") and head[8:12] == b"WAVE":
        return "WAV"
    return {b"fLaC": "FLAC", b"OggS": "OGG"}.get(head[:4])


def _open(source: bytes | Path | str):
    """(file object libsndfile reads, a name for messages, container); refuses other formats unread."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        what, head, fileobj = f"{len(source)} bytes", bytes(source[:12]), io.BytesIO(source)
    else:
        what, fileobj = str(source), source
        with open(source, "rb") as f:
            head = f.read(12)
    container = _container(head)
    if container is None:
        raise AudioError(f"{what}: not a sound file sigop decodes: only WAV, FLAC or OGG are read")
    return fileobj, what, container


def read_header(source: bytes | Path | str) -> AudioHeader:
    """The header of a WAV/FLAC/OGG file, without decoding a sample."""
    fileobj, what, container = _open(source)
    try:
        info = soundfile.info(fileobj)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as e:
        raise AudioError(f"{what}: not a sound file libsndfile can read ({container}): {_reason(e)}") from None
    if info.format not in ("WAV", "WAVEX", "RF64", "FLAC", "OGG"):
        raise AudioError(f"{what}: a {info.format} stream inside a {container} container is not decoded")
    if info.channels < 1 or info.samplerate < 1:
        raise AudioError(f"{what}: header says {info.channels} channels at {info.samplerate} Hz")
    return AudioHeader(int(info.frames), int(info.channels), int(info.samplerate))


def read_audio(source: bytes | Path | str, frames: int = -1, mono: bool = True) -> tuple[np.ndarray, int]:
    """(float32 samples in [-1, 1], sample rate): the first ``frames`` frames (-1: all); mono: channels
    averaged into one [frames] signal, else every channel kept, [channels, frames]."""
    fileobj, what, _ = _open(source)
    try:
        with soundfile.SoundFile(fileobj) as f:
            data = f.read(frames, dtype="float32", always_2d=True)
            rate = f.samplerate
    except MemoryError:
        raise AudioError(f"{what}: the sound file does not fit in memory") from None
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
        raise AudioError(f"{what}: not a sound file libsndfile can read (WAV, FLAC, OGG): {_reason(e)}") from None
    if data.shape[0] == 0:
        raise AudioError(f"{what}: the sound file holds no samples")
    x = (data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]) if mono else data.T
    if not np.isfinite(x).all():
        raise AudioError(f"{what}: the sound file holds NaN or Inf samples")
    return np.ascontiguousarray(x, dtype=np.float32), int(rate)


def _reason(e: Exception) -> str:
    return str(e).rsplit(": ", 1)[-1]  # libsndfile's reason, without its repr of our buffer


def _check_rate(rate: float) -> None:
    if not (np.isfinite(rate) and MIN_RATE <= rate <= MAX_RATE):
        raise AudioError(f"sample rate {rate:g} Hz is not a rate this server resamples from "
                         f"({MIN_RATE:g} Hz .. {MAX_RATE:g} Hz)")


def _same_rate(rate: float, to_rate: float) -> bool:
    return math.isclose(rate, to_rate, rel_tol=1e-9)


def resample(x: np.ndarray, rate: float, to_rate: float) -> np.ndarray:
    """Resample a signal [n] or [channels, n] from ``rate`` to ``to_rate`` Hz (soxr, high quality; channels
    together)."""
    _check_rate(rate)
    x = np.asarray(x, dtype=np.float32)
    if _same_rate(rate, to_rate):
        return x
    if x.ndim == 2:  # soxr takes channels last
        return np.ascontiguousarray(soxr.resample(np.ascontiguousarray(x.T), float(rate), float(to_rate),
                                                  quality="HQ").T)
    return soxr.resample(x, float(rate), float(to_rate), quality="HQ")


def fit_length(x: np.ndarray, samples: int) -> np.ndarray:
    """Pad with zeros, or truncate, at the end to exactly ``samples``."""
    if x.shape[-1] >= samples:
        return x[..., :samples]
    pad = [(0, 0)] * (x.ndim - 1) + [(0, samples - x.shape[-1])]
    return np.pad(x, pad)


def frames_needed(samples: int, rate: float, to_rate: float) -> int:
    """Input frames at ``rate`` that make ``samples`` at ``to_rate`` exactly as the whole signal would."""
    _check_rate(rate)
    if _same_rate(rate, to_rate):
        return samples
    return math.ceil((samples + _MARGIN_OUT) * rate / to_rate) + _MARGIN_IN


def resampled_length(frames: int, rate: float, to_rate: float) -> int:
    """Samples ``frames`` input frames become: known before anything is allocated."""
    return frames if _same_rate(rate, to_rate) else math.ceil(frames * to_rate / rate)


def prepare(x: np.ndarray, rate: float, to_rate: float, samples: int) -> np.ndarray:
    """A signal [n] or [channels, n] at any rate -> float32 [(channels,) samples] at ``to_rate``: what a waveform
    model is fed.

    The signal is cut to the frames the model uses before resampling, so the
    work and memory are bounded by ``samples``, not by the input's length.
    """
    cut = x[..., :frames_needed(samples, rate, to_rate)]
    return fit_length(resample(cut, rate, to_rate), samples).astype(np.float32, copy=False)
