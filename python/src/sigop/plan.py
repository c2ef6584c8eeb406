"""One input plan per model: what a user has -> what the model takes, decided once, from its manifest.

``InputPlan(manifest, limits, fft)`` turns signals at a rate, sound files,
images, or a file by its suffix into the model's input batches
(``inputs.Inputs``). The server, ``sigop evaluate``, training's export check,
``sigop export-lite`` and warm-up all build their inputs here, so the same
condition gets the same error everywhere: ``InvalidInput`` for what is wrong
whatever the server holds (a rate for a model that has none),
``Unsupported`` for what this model cannot take (signals for a model trained
on plain images, images for a waveform model).

Spectrum-image models draw signals through ``fft`` (rows -> |X[k]|), the FFT
graph: the server's loaded one, or the built-in one (``runtime.fft``) in
evaluate and training, the same graph the server serves by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from . import inputs
from .audio import MAX_RATE, MIN_RATE
from .images import SUFFIXES as IMAGE_SUFFIXES
from .inputs import Inputs, InvalidInput, Unsupported
from .limits import Limits
from .manifest import DEFAULT_FFT_MODEL, Manifest
from .render import SpectrumContract
from .signals import SOUND_SUFFIXES, read_signal

__all__ = ["InputPlan", "InputForm", "Magnitude"]

Magnitude = Callable[[np.ndarray], np.ndarray]  # float64 signals [rows, n] -> |X[k]| [rows, n/2+1]


@dataclass(frozen=True)
class InputForm:
    """What one input of a classifier is, as every path reports it (ListModels, ModelMetadata, `sigop-client
    models`): ``form`` "waveform" (signals at the model's rate), "spectrum" (signals drawn as spectrum images by
    FFT bin: no rate) or "images"; channels of one signal (0: it takes no signals); the rate (0: none) and the
    samples of one window."""

    form: str
    channels: int
    channel_names: tuple[str, ...]
    sample_rate: float
    samples: int


class InputPlan:
    """How inputs become one model's input batches; ``name`` is what errors call the model."""

    def __init__(self, manifest: Manifest, limits: Limits = Limits(), fft: Magnitude | None = None,
                 name: str | None = None):
        self.manifest, self.limits, self.fft = manifest, limits, fft
        self.name = name or manifest.name
        self.details = manifest.details

    # ---- what the model takes -------------------------------------------------------------------------------

    @property
    def takes_waveforms(self) -> bool:
        return self.manifest.takes_waveforms

    @property
    def channels(self) -> int:
        """Channels of one signal: several for a model trained on sensor axes, else one."""
        if self.takes_waveforms:
            return self.details["front_end"].get("channels", 1)
        return self.details.get("spectrum_contract", {}).get("channels", 1)

    @property
    def channel_names(self) -> str:
        return ", ".join(self._channel_names())

    def _channel_names(self) -> list[str]:
        fe = self.details.get("front_end", {}) if self.takes_waveforms else self.details
        return list(fe.get("channel_names", []))

    @property
    def declares_rate(self) -> bool:
        """A waveform model trained at a stated rate (signals.json, a time column, a sound file's header); one
        trained without is taken at a nominal rate it cannot resample from, so it reports none."""
        return self.takes_waveforms and self.details.get("sample_rate_declared", True)

    def form(self) -> InputForm:
        """What one input is (InputForm), from the manifest alone."""
        if self.takes_waveforms:
            fe = self.details["front_end"]
            rate = float(fe["sample_rate"]) if self.declares_rate else 0.0
            return InputForm("waveform", self.channels, tuple(self._channel_names()), rate, int(fe["samples"]))
        if self.manifest.draws_spectra:
            return InputForm("spectrum", self.channels, tuple(self._channel_names()), 0.0, self._contract().n)
        return InputForm("images", 0, (), 0.0, 0)

    def shaped(self, x: np.ndarray, field: str = "signals") -> np.ndarray:
        """Signals as the model takes them, [rows, n] or [rows, channels, n]; another channel count is refused,
        naming both (never reshaped: a flattened or averaged signal is another signal)."""
        c, got = self.channels, (x.shape[1] if x.ndim == 3 else 1)
        if got == c:
            return x[:, 0] if x.ndim == 3 and c == 1 else x
        names = f" ({self.channel_names})" if self.channel_names else ""
        want = f"{c} channels{names} as [batch, {c}, n]" if c > 1 else "one channel as [batch, n] or [n]"
        raise InvalidInput(f"{field}: model {self.name!r} takes {want}; got {got} channel{'s' if got > 1 else ''}")

    def rate(self, given: float = 0, field: str = "sample_rate") -> float | None:
        """The rate signals sent at ``given`` Hz (0: the model's own) are taken at; None for a spectrum-image
        model, which draws spectra by FFT bin and has no rate."""
        given = given or 0
        if not self.takes_waveforms:
            if given:
                raise InvalidInput(f"{field} is {given:g} Hz, but model {self.name!r} draws spectra by FFT bin and "
                                   f"has no sample rate; send 0")
            return None
        front_end = self.details["front_end"]
        own = front_end["sample_rate"]
        if given and given != own and not self.details.get("sample_rate_declared", True):
            raise InvalidInput(f"{field} is {given:g} Hz, but model {self.name!r} was trained on signals without a "
                               f"declared sample rate (taken at a nominal {own:g} Hz), so it cannot resample; send 0")
        rate = given or own
        if not MIN_RATE <= rate <= MAX_RATE:  # also NaN
            raise InvalidInput(f"{field} is {given:g} Hz; expected 0 (the model's own {own:g} Hz) "
                               f"or a positive rate up to {MAX_RATE / 1e6:g} MHz")
        return rate

    def window(self, rate: float | None) -> int:
        """Samples of one model input, at ``rate`` (from ``rate()``)."""
        if rate is None:
            return self._contract().n
        front_end = self.details["front_end"]
        return int(round(front_end["samples"] * rate / front_end["sample_rate"]))

    # ---- what users send ------------------------------------------------------------------------------------

    def signals(self, x: np.ndarray, rate: float | None = 0, field: str = "sample_rate") -> Inputs:
        """Signals [rows, n] (or [rows, channels, n]) sent at ``rate`` Hz (0 or None: the model's own)."""
        x = self.shaped(x)
        resolved = self.rate(rate or 0, field)
        if resolved is not None:
            return inputs.waveforms(x, resolved, self.details["front_end"], self.limits)
        return inputs.spectra(x, self._contract(), self.details["image_size"], self._magnitude(), self.limits)

    def images(self, data: Sequence[bytes]) -> Inputs:
        """Encoded PNG or JPEG images."""
        if self.takes_waveforms:
            raise Unsupported(f"model {self.name!r} takes waveforms, not images; send signals or sound files")
        self._count(len(data), "images", "PNG or JPEG image")
        return inputs.images(data, self.details["image_size"], self.limits)

    def pixels(self, x: np.ndarray) -> Inputs:
        """Decoded RGB pixels uint8 [batch, size, size, 3], the model's own image size (no resizing)."""
        if self.takes_waveforms:
            raise Unsupported(f"model {self.name!r} takes waveforms, not images; send signals or sound files")
        size = self.details["image_size"]
        if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1:] != (size, size, 3):
            raise InvalidInput(f"images: {x.dtype} pixels of shape {list(x.shape)}; model {self.name!r} takes uint8 "
                               f"RGB pixels [batch, {size}, {size}, 3] (or encoded PNG or JPEG images)")
        self._count(len(x), "images", "image")
        return Inputs(0, "images", lambda batch: (x[i:i + batch] for i in range(0, len(x), batch)))

    def audio(self, data: Sequence[bytes]) -> Inputs:
        """Encoded WAV, FLAC or OGG files, at any rate."""
        if not self.takes_waveforms:
            raise Unsupported(f"model {self.name!r} takes {', '.join(self.manifest.inputs)}, not waveforms; sound "
                              f"files need a model trained with a waveform front end (log_mel, mfcc, power_spectrum, "
                              f"waveform)")
        self._count(len(data), "audio", "WAV, FLAC or OGG file")
        return inputs.audio_files(data, self.details["front_end"], self.limits, self.channels)

    def file(self, path: Path, rate: float | None = None) -> Inputs:
        """One file by its suffix: sound files (and CSVs with a time column) carry their rate; other signals are
        taken at ``rate`` (the data folder's signals.json; None: the model's own), which only waveform models use.
        A model trained with --mono averages a file's channels, as it was trained."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            return self.images([path.read_bytes()])
        if self.takes_waveforms and suffix in SOUND_SUFFIXES:
            return self.audio([path.read_bytes()])
        try:
            s = read_signal(path, None if self.details.get("mono") else self.channels)
            x = s.samples
            if x.shape[0] > 1 and (self.details.get("mono") or (suffix in SOUND_SUFFIXES and self.channels == 1)):
                x = x.mean(axis=0, keepdims=True)  # as the model was trained (sound: as mono models hear it)
            return self.signals(x[None], (s.rate or rate) if self.takes_waveforms else 0)
        except (InvalidInput, Unsupported) as e:
            raise type(e)(f"{path.name}: {e}") from None

    def files(self, paths: Iterable[Path], rate: float | None = None) -> np.ndarray:
        """Each file as one row of the model's input [len(paths), ...], made as ``file`` makes it."""
        return np.concatenate([next(self.file(p, rate).chunks(1))[1] for p in paths])

    # ---- inputs without data --------------------------------------------------------------------------------

    def blank(self, n: int) -> np.ndarray:
        """n all-zero inputs of the model's shape (warm-up)."""
        info = self._tensor()
        return np.zeros([n] + info.shape[1:], dtype=info.dtype)

    def noise(self, n: int, seed: int = 0) -> np.ndarray:
        """n random inputs of the model's shape, when no data is at hand: random pixels, or unit-variance noise."""
        info, rng = self._tensor(), np.random.default_rng(seed)
        shape = [n] + info.shape[1:]
        if info.dtype == "uint8":
            return rng.integers(0, 256, shape).astype(np.uint8)
        return rng.normal(size=shape).astype(info.dtype)

    # ---- parts ----------------------------------------------------------------------------------------------

    def _tensor(self):
        (info,) = self.manifest.inputs.values()
        if any(d is None for d in info.shape[1:]):
            raise ValueError(f"model {self.name!r} takes inputs of any length; it has no one input shape")
        return info

    def _contract(self) -> SpectrumContract:
        if "spectrum_contract" not in self.details:
            raise Unsupported(f"model {self.name!r} was trained on images without a spectrum contract, so it cannot "
                              f"draw signals; send PNG or JPEG images (Classify)")
        return SpectrumContract.from_json(self.details["spectrum_contract"])

    def _magnitude(self) -> Magnitude:
        if self.fft is None:
            fft_name = self.details.get("fft_model", DEFAULT_FFT_MODEL)
            raise Unsupported(f"model {self.name!r} needs the FFT model {fft_name!r}, which is not loaded")
        return self.fft

    def _count(self, n: int, field: str, expected: str) -> None:
        """At least one input, and no more than a call may carry."""
        if n == 0:
            raise InvalidInput(f"{field}: empty; expected at least one {expected}")
        if n > self.limits.max_batch:
            raise InvalidInput(f"{field}: {n} exceed this server's limit of {self.limits.max_batch} per call")
