"""What a client sends -> what a classifier takes, a sub-batch at a time, in bounded memory.

Each builder checks every input it can from headers and shapes alone (so a
bad input is refused before anything is decoded), says how many bytes its
decoding will hold at its peak, and yields the model's input ``batch`` inputs
at a time. Errors name the input (``images[3]: …``) and are ValueErrors the
server answers with INVALID_ARGUMENT.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

from .audio import AudioError, frames_needed, prepare, read_audio, read_header, resampled_length
from .images import SUFFIXES as IMAGE_SUFFIXES
from .images import ImageError, decode_header, gray_to_rgb, read_header as read_image_header
from .limits import Limits
from .render import SpectrumContract, fit_to_contract, magnitude_to_image
from .signals import SIGNAL_SUFFIXES

__all__ = ["InvalidInput", "Unsupported", "Inputs", "images", "waveforms", "audio_files", "spectra", "SUFFIXES",
           "check_spectrum_range"]

_FLOAT32_MAX = float(np.finfo(np.float32).max)
_FLOAT64_MAX = float(np.finfo(np.float64).max)
SUFFIXES = IMAGE_SUFFIXES | SIGNAL_SUFFIXES  # the files an input plan reads


class InvalidInput(ValueError):
    """An input that is wrong whatever the server's state (INVALID_ARGUMENT)."""


class Unsupported(Exception):
    """The input is well formed, but this model cannot take it, or needs a model that is not loaded
    (FAILED_PRECONDITION)."""


@dataclass
class Inputs:
    """Inputs decoded ``batch`` at a time by ``chunks``; ``peak_bytes`` is what that holds at most."""

    peak_bytes: int
    field: str
    _chunks: Callable[[int], Iterator[np.ndarray]]

    def chunks(self, batch: int) -> Iterator[tuple[int, np.ndarray]]:
        """(index of the first input, model input batch) for consecutive runs of at most ``batch`` inputs."""
        start = 0
        for x in self._chunks(batch):
            yield start, x
            start += len(x)


def check_spectrum_range(x: np.ndarray, n: int | None = None, field: str = "signals") -> None:
    """Refuse signals [rows, ...] whose n-point spectrum (n: their length) could overflow float64:
    |X[k]| <= n * max|x|. The FFT and spectrum-image models refuse such values alike."""
    n = n or x.shape[1]
    peak = max(float(x.max()), -float(x.min()))
    if peak * n >= _FLOAT64_MAX:
        raise InvalidInput(f"{field}: values up to {peak:.3g} over n={n} samples could overflow "
                           f"float64 in the spectrum (|X[k]| <= n * max|x| must stay below {_FLOAT64_MAX:.3g})")


def _runs(n: int, batch: int) -> Iterator[range]:
    for start in range(0, n, batch):
        yield range(start, min(n, start + batch))


def images(data: Sequence[bytes], size: int, limits: Limits) -> Inputs:
    """Encoded PNG/JPEG images -> uint8 RGB [batch, size, size, 3]."""
    headers = []
    for i, d in enumerate(data):  # every header first: a bomb at the end is refused before work starts
        try:
            headers.append(read_image_header(d, limits.max_image_pixels))
        except ImageError as e:
            raise ImageError(f"images[{i}]: {e}") from None
    peak = max(h.decoded_bytes for h in headers) if headers else 0
    per_image = size * size * 3

    def chunks(batch: int) -> Iterator[np.ndarray]:
        for run in _runs(len(data), batch):
            out = np.empty((len(run), size, size, 3), dtype=np.uint8)
            for j, i in enumerate(run):
                try:
                    out[j] = decode_header(headers[i], size)  # opened once: its header was read above
                except ImageError as e:
                    raise ImageError(f"images[{i}]: {e}") from None
            yield out

    return Inputs(peak + min(len(data), limits.compute_batch) * per_image, "images", chunks)


def _waveform_peak(count: int, frames: int, rate: float, to_rate: float, samples: int, limits: Limits) -> int:
    """float32 bytes to cut, resample and batch ``count`` signals of ``frames`` at ``rate``."""
    cut = min(frames, frames_needed(samples, rate, to_rate))
    return 4 * (cut + resampled_length(cut, rate, to_rate)) + 4 * min(count, limits.compute_batch) * samples


def waveforms(x: np.ndarray, rate: float, front_end: dict, limits: Limits) -> Inputs:
    """Signals [rows, n] (or [rows, channels, n]) at ``rate`` Hz -> float32 [batch, (channels,) samples] at the
    model's rate."""
    to_rate, samples = front_end["sample_rate"], front_end["samples"]
    width = x.shape[1] if x.ndim == 3 else 1
    try:
        peak = width * _waveform_peak(len(x), x.shape[-1], rate, to_rate, samples, limits)
    except AudioError as e:
        raise InvalidInput(f"sample_rate: {e}") from None
    big = np.abs(x).reshape(len(x), -1).max(axis=1) > _FLOAT32_MAX
    if big.any():
        i = int(np.argmax(big))
        raise InvalidInput(f"signals: signal {i} holds values beyond ±{_FLOAT32_MAX:.3g}, float32's range, which "
                           f"this model takes; scale it down")

    def chunks(batch: int) -> Iterator[np.ndarray]:
        for run in _runs(len(x), batch):
            yield np.stack([prepare(x[i], rate, to_rate, samples) for i in run])

    return Inputs(peak, "signals", chunks)


def audio_files(data: Sequence[bytes], front_end: dict, limits: Limits, channels: int = 1) -> Inputs:
    """Encoded WAV/FLAC/OGG files -> float32 [batch, (channels,) samples] at the model's rate; decodes only what the
    model uses. A one-channel model averages a file's channels; a multichannel one takes files of its own count."""
    to_rate, samples = front_end["sample_rate"], front_end["samples"]
    frames, peak = [], 0
    for i, d in enumerate(data):
        try:
            h = read_header(d)
            if channels > 1 and h.channels != channels:
                raise InvalidInput(f"audio[{i}]: the file has {h.channels} channel{'s' if h.channels > 1 else ''}; "
                                   f"this model takes {channels}")
            if h.frames > limits.max_signal_length:
                raise AudioError(f"its header says {h.frames:,} frames; this server's limit is "
                                 f"{limits.max_signal_length:,} per file (--max-signal-length)")
            use = min(h.frames, frames_needed(samples, h.rate, to_rate))
            peak = max(peak, 4 * use * (h.channels + 1)
                       + channels * _waveform_peak(len(data), use, h.rate, to_rate, samples, limits))
        except AudioError as e:
            raise AudioError(f"audio[{i}]: {e}") from None
        frames.append(use)

    def chunks(batch: int) -> Iterator[np.ndarray]:
        for run in _runs(len(data), batch):
            out = np.empty((len(run), *([channels] if channels > 1 else []), samples), dtype=np.float32)
            for j, i in enumerate(run):
                try:
                    wave, rate = read_audio(data[i], frames=max(1, frames[i]), mono=channels == 1)
                    out[j] = prepare(wave, rate, to_rate, samples)
                except AudioError as e:
                    raise AudioError(f"audio[{i}]: {e}") from None
            yield out

    return Inputs(peak, "audio", chunks)


def spectra(x: np.ndarray, contract: SpectrumContract, size: int, fft: Callable[[np.ndarray], np.ndarray],
            limits: Limits) -> Inputs:
    """Signals [rows, n] (several channels: [rows, channels, n]) -> spectrum images uint8 [batch, size, size, 3]
    drawn by the model's contract."""
    check_spectrum_range(x, contract.n)
    width = contract.channels
    per_row = width * (8 * contract.n + 24 * contract.bins) + 2 * size * size * 3  # other lengths: fit to n per chunk

    def chunks(batch: int) -> Iterator[np.ndarray]:
        for run in _runs(len(x), batch):
            rows = fit_to_contract(x[run.start:run.stop], contract).reshape(-1, contract.n)
            yield gray_to_rgb(magnitude_to_image(fft(rows), contract))

    return Inputs(min(len(x), limits.compute_batch) * per_row, "signals", chunks)
