"""Waveform front ends as TensorFlow ops, inside every exported waveform model.

A model that takes waveforms carries its front end in its graph, so the
server, TensorFlow Serving and training all compute features with the same
ops. Every op has a LiteRT builtin (no ``x[..., None]``, whose StridedSlice
form the converter refuses; FFTs of power-of-two lengths only; MFCC's DCT as a
matrix, not tf.signal's complex FFT), so each model that carries a front end
also runs as model.tflite. Each front end scales its output to [0, 1] per
example:

- ``waveform``: the samples themselves, shape [samples, 1]; with
  ``normalize`` each signal is scaled to mean 0, std 1 over its length (up to
  its last non-zero sample, so zero padding stays zero). MiniRocket-style
  models take it unnormalised: their biases are fitted to the signals' level.
- ``power_spectrum``: the Hann-windowed one-sided power spectrum of the whole
  signal (zero-padded to ``spectrum_length``) in dB below its own peak,
  clipped at ``top_db`` — shape [bins, 1]; the 1-D spectral CNN's input
  (seed 002).
- ``log_mel``: STFT power on ``mel_bins`` mel bands, in dB below the clip's
  peak, clipped at ``top_db`` — shape [frames, mel_bins, 1].
- ``mfcc``: the first ``mfccs`` cepstral coefficients of the natural-log mel
  spectrogram (seed 001 uses 13), each normalised over time (mean 0, std 1;
  CMVN) and mapped from [-3, 3] to [0, 1] — shape [frames, mfccs, 1].

``to_image`` draws a 2-D feature as seed 001 does for an ImageNet backbone:
frequency up the rows (low at the bottom), time across, resized bilinearly to
size x size, replicated to three channels, values 0-255.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # annotations only: TensorFlow is imported where ops are built
    from .tfenv import tf

__all__ = ["FrontEnd", "KINDS"]

KINDS = ("power_spectrum", "log_mel", "mfcc", "waveform")


_COMMON = {"kind", "sample_rate", "samples", "version"}  # and "channels" when there are several
_FRAMES = {"frame_length", "frame_step", "fft_length", "mel_bins", "fmin", "fmax"}
_FIELDS = {"waveform": {"normalize"}, "power_spectrum": {"fft_length", "top_db"},
           "log_mel": _FRAMES | {"top_db"}, "mfcc": _FRAMES | {"mfccs"}}


@dataclass(frozen=True)
class FrontEnd:
    kind: str = "log_mel"
    sample_rate: float = 16000  # Hz; any positive rate (a sensor's 0.1 Hz; 1 for signals with no declared rate)
    samples: int = 16000  # every waveform is padded or truncated to this length first
    frame_length: int = 400  # 25 ms at 16 kHz
    frame_step: int = 160  # 10 ms
    fft_length: int = 512
    mel_bins: int = 64
    mfccs: int = 13
    fmin: float = 20.0
    fmax: float = 0.0  # 0: the Nyquist frequency
    top_db: float = 80.0
    normalize: bool = True  # waveform: per-signal mean 0, std 1
    version: int = 1
    channels: int = 1  # sensor axes, taken as [batch, channels, samples] when more than one
    channel_names: tuple[str, ...] = ()  # as the data named them (a CSV header, signals.json)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"front end {self.kind!r} is not one of {KINDS}")
        if self.channels < 1 or (self.channel_names and len(self.channel_names) != self.channels):
            raise ValueError(f"front end needs at least one channel and a name for each, if any: got {self.channels}, "
                             f"{list(self.channel_names)}")
        if self.samples < 1 or not 0 < self.sample_rate < float("inf"):
            raise ValueError(f"front end needs samples >= 1 and a positive sample_rate, got {self.samples}, {self.sample_rate}")
        if self.kind in ("log_mel", "mfcc") and self.samples < self.frame_length:
            raise ValueError(f"{self.samples} samples are fewer than one {self.frame_length}-sample frame")

    def to_json(self) -> dict:
        """The fields this kind computes with: a manifest describes only what its model has."""
        out = {k: v for k, v in asdict(self).items() if k in _COMMON | _FIELDS[self.kind]}
        if self.channels > 1:  # one channel: manifests as before
            out = {**out, "channels": self.channels, **({"channel_names": list(self.channel_names)}
                                                         if self.channel_names else {})}
        return out

    @classmethod
    def from_json(cls, d: dict) -> "FrontEnd":
        fe = cls(**{**d, "channel_names": tuple(d.get("channel_names", ()))})
        if fe.version != 1:
            raise ValueError(f"front end version {fe.version} is not supported (this sigop computes version 1)")
        return fe

    @property
    def frames(self) -> int:
        return 1 + (self.samples - self.frame_length) // self.frame_step

    @property
    def spectrum_length(self) -> int:
        """power_spectrum's FFT length: ``fft_length`` when it covers the signal (the signal zero-padded to it;
        sigop train picks the next power of two, which LiteRT's FFT needs), else ``samples``."""
        return self.fft_length if self.fft_length >= self.samples else self.samples

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One example as the model takes it: [samples], or [channels, samples]."""
        return (self.channels, self.samples) if self.channels > 1 else (self.samples,)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one example's features, one feature channel per signal channel, last."""
        if self.kind == "power_spectrum":
            return (self.spectrum_length // 2 + 1, self.channels)
        if self.kind == "waveform":
            return (self.samples, self.channels)
        return (self.frames, self.mel_bins if self.kind == "log_mel" else self.mfccs, self.channels)

    def __call__(self, waveforms: tf.Tensor) -> tf.Tensor:
        """float32 [batch, (channels,) samples] -> features [batch, *shape] in [0, 1].

        Every channel goes through the same ops; waveforms and MFCCs are normalised per channel, spectra in dB
        below the peak of all channels together (the axes' relative levels are part of what a sensor says)."""
        from .tfenv import tf

        x = tf.convert_to_tensor(waveforms, tf.float32)
        c = self.channels
        flat = tf.reshape(x, [-1, self.samples]) if c > 1 else x  # [batch * channels, samples]
        if self.kind == "waveform":
            f = _normalized(flat) if self.normalize else flat
        elif self.kind == "power_spectrum":
            window = tf.signal.hann_window(self.samples, periodic=True)
            f = tf.square(tf.abs(tf.signal.rfft(flat * window, [self.spectrum_length])))
        else:
            stft = tf.signal.stft(flat, self.frame_length, self.frame_step, self.fft_length,
                                  window_fn=tf.signal.hann_window, pad_end=False)
            mel = tf.signal.linear_to_mel_weight_matrix(self.mel_bins, self.fft_length // 2 + 1, self.sample_rate,
                                                        self.fmin, self.fmax or self.sample_rate / 2)
            f = tf.tensordot(tf.square(tf.abs(stft)), mel, 1)  # [batch * channels, frames, mel_bins]
            if self.kind == "mfcc":
                mfcc = tf.tensordot(tf.math.log(f + 1e-6), _dct2(self.mel_bins, self.mfccs), 1)
                mean, var = tf.nn.moments(mfcc, axes=[1], keepdims=True)
                f = tf.clip_by_value(((mfcc - mean) / tf.sqrt(var + 1e-6) + 3.0) / 6.0, 0.0, 1.0)
        if c > 1:
            inner = self.shape[:-1]
            f = tf.reshape(f, [-1, c, *inner])
            f = tf.transpose(f, [0, *range(2, 2 + len(inner)), 1])  # channels last: [batch, *inner, channels]
        else:
            f = tf.expand_dims(f, -1)
        if self.kind in ("power_spectrum", "log_mel"):
            f = _db_below_peak(f, self.top_db, axes=list(range(1, len(self.shape) + 1)))
        return f

    def to_image(self, features: tf.Tensor, size: int) -> tf.Tensor:
        """2-D features [batch, frames, bands, channels] -> RGB images [batch, size, size, 3] in [0, 255]: each
        channel a band of rows, the first on top, low frequencies at the bottom of each band."""
        from .tfenv import tf

        if self.kind in ("power_spectrum", "waveform"):
            raise ValueError(f"the {self.kind} front end is 1-D; draw it with the spectrum renderer instead")
        bands = self.shape[1]
        upright = tf.reverse(tf.transpose(features, [0, 3, 2, 1]), axis=[2])  # [batch, channels, bands (high first), frames]
        stacked = tf.reshape(upright, [-1, self.channels * bands, self.frames, 1])
        image = tf.image.resize(stacked, [size, size], method="bilinear") * 255.0
        return tf.tile(image, [1, 1, 1, 3])


def _db_below_peak(power: "tf.Tensor", top_db: float, axes: list[int]) -> "tf.Tensor":
    from .tfenv import tf

    db = 10.0 * tf.math.log(power + 1e-20) / tf.math.log(10.0)
    below = db - tf.reduce_max(db, axis=axes, keepdims=True)
    return (tf.maximum(below, -top_db) + top_db) / top_db


def _dct2(bins: int, keep: int) -> "np.ndarray":
    """The first ``keep`` columns of tf.signal.mfccs_from_log_mel_spectrograms's DCT-II as a matrix: the same
    coefficients, without the complex FFT slice LiteRT has no kernel for."""
    n, k = np.arange(bins)[:, None], np.arange(keep)[None, :]
    return (2 * np.cos(np.pi * k * (2 * n + 1) / (2 * bins)) / np.sqrt(2 * bins)).astype(np.float32)


def _normalized(x: "tf.Tensor") -> "tf.Tensor":
    """Each row to mean 0, std 1 over its samples up to the last non-zero one; the padding after it stays 0."""
    from .tfenv import tf

    positions = tf.range(tf.shape(x)[1])[None, :]
    last = tf.reduce_max(tf.cast(tf.not_equal(x, 0.0), tf.int32) * (positions + 1), axis=1, keepdims=True)
    mask = tf.cast(positions < tf.maximum(last, 1), tf.float32)
    count = tf.reduce_sum(mask, axis=1, keepdims=True)
    mean = tf.reduce_sum(x * mask, axis=1, keepdims=True) / count
    std = tf.sqrt(tf.reduce_sum(tf.square((x - mean) * mask), axis=1, keepdims=True) / count)
    return (x - mean) / (std + 1e-8) * mask
