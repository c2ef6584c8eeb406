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


_COMMON = {"kind", "sample_rate", "samples", "version"}
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

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"front end {self.kind!r} is not one of {KINDS}")
        if self.samples < 1 or not 0 < self.sample_rate < float("inf"):
            raise ValueError(f"front end needs samples >= 1 and a positive sample_rate, got {self.samples}, {self.sample_rate}")
        if self.kind in ("log_mel", "mfcc") and self.samples < self.frame_length:
            raise ValueError(f"{self.samples} samples are fewer than one {self.frame_length}-sample frame")

    def to_json(self) -> dict:
        """The fields this kind computes with: a manifest describes only what its model has."""
        return {k: v for k, v in asdict(self).items() if k in _COMMON | _FIELDS[self.kind]}

    @classmethod
    def from_json(cls, d: dict) -> "FrontEnd":
        fe = cls(**d)
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
    def shape(self) -> tuple[int, ...]:
        """Shape of one example's features, channel last."""
        if self.kind == "power_spectrum":
            return (self.spectrum_length // 2 + 1, 1)
        if self.kind == "waveform":
            return (self.samples, 1)
        return (self.frames, self.mel_bins if self.kind == "log_mel" else self.mfccs, 1)

    def __call__(self, waveforms: tf.Tensor) -> tf.Tensor:
        """float32 [batch, samples] -> features [batch, *shape] in [0, 1]."""
        from .tfenv import tf

        x = tf.convert_to_tensor(waveforms, tf.float32)
        if self.kind == "waveform":
            return tf.expand_dims(_normalized(x) if self.normalize else x, -1)
        if self.kind == "power_spectrum":
            window = tf.signal.hann_window(self.samples, periodic=True)
            power = tf.square(tf.abs(tf.signal.rfft(x * window, [self.spectrum_length])))
            return tf.expand_dims(_db_below_peak(power, self.top_db, axes=[1]), -1)
        stft = tf.signal.stft(x, self.frame_length, self.frame_step, self.fft_length,
                              window_fn=tf.signal.hann_window, pad_end=False)
        mel = tf.signal.linear_to_mel_weight_matrix(self.mel_bins, self.fft_length // 2 + 1, self.sample_rate,
                                                    self.fmin, self.fmax or self.sample_rate / 2)
        mel_power = tf.tensordot(tf.square(tf.abs(stft)), mel, 1)  # [batch, frames, mel_bins]
        if self.kind == "log_mel":
            return tf.expand_dims(_db_below_peak(mel_power, self.top_db, axes=[1, 2]), -1)
        mfcc = tf.tensordot(tf.math.log(mel_power + 1e-6), _dct2(self.mel_bins, self.mfccs), 1)
        mean, var = tf.nn.moments(mfcc, axes=[1], keepdims=True)
        z = (mfcc - mean) / tf.sqrt(var + 1e-6)
        return tf.expand_dims(tf.clip_by_value((z + 3.0) / 6.0, 0.0, 1.0), -1)

    def to_image(self, features: tf.Tensor, size: int) -> tf.Tensor:
        """2-D features [batch, frames, bands, 1] -> RGB images [batch, size, size, 3] in [0, 255]."""
        from .tfenv import tf

        if self.kind in ("power_spectrum", "waveform"):
            raise ValueError(f"the {self.kind} front end is 1-D; draw it with the spectrum renderer instead")
        upright = tf.reverse(tf.transpose(features, [0, 2, 1, 3]), axis=[1])  # [batch, bands (high first), frames, 1]
        image = tf.image.resize(upright, [size, size], method="bilinear") * 255.0
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
