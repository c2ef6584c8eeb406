"""sigop's models as the Open Inference Protocol sees them: metadata, readiness, inference — no protobuf here.

Every classifier and FFT graph is a model. A classifier takes one input
tensor, whichever a call sends: ``signals`` (FP64 or FP32, [batch, n] or
[batch, channels, n], at the model's rate unless the ``sample_rate``
parameter says otherwise), ``images`` (BYTES of encoded PNG/JPEG, or UINT8
RGB pixels [batch, size, size, 3]) or ``audio`` (BYTES of WAV/FLAC/OGG files).
Its metadata lists the one a generic client should send (signals where the
model takes them); the ``also_accepts`` property lists the rest. Outputs:
``probabilities`` FP32 [batch, labels], ``label`` BYTES [batch] (the best),
and, for models with an unknown score, ``unknown`` FP32 and ``is_unknown``
BOOL [batch]. Triton's classification extension turns any of them into
``"score:index:label"`` strings of the k best.
The FFT graph takes ``signals`` FP64/FP32 [n] or [batch, n] and gives
``magnitude``, ``real`` and ``imag`` FP64.

Inputs go through the same input plan, limits, batching and errors as the
Operator service's, so the same signals give the same scores.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from ..inputs import Inputs, InvalidInput
from ..limits import clip, clip_list
from ..manifest import MAX_VERSION_DIGITS, parse_version
from .core import Call, Core, Served, top_k
from .signal_checks import check_finite, signal_shape

__all__ = ["Plane", "Tensor", "TensorSpec", "ModelView", "Output", "version_number"]

PLATFORM = "sigop"
FFT_OUTPUTS = ("magnitude", "real", "imag")


@dataclass(frozen=True)
class Tensor:
    """One decoded tensor: numeric values as an array of ``shape``, or BYTES as a flat list of elements."""

    name: str
    datatype: str
    shape: list[int]
    values: np.ndarray | list[bytes]
    parameters: dict


@dataclass(frozen=True)
class TensorSpec:
    name: str
    datatype: str
    shape: list[int]


@dataclass(frozen=True)
class ModelView:
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Output:
    """A requested output: its name and, for the classification extension, how many classes (0: all)."""

    name: str
    classes: int | None = None

    @classmethod
    def asked(cls, name: str, parameters: dict) -> "Output":
        """An output as a request names it, with its parameters (``classification``: k)."""
        return cls(name, _int(parameters, "classification"))


def version_number(version: str) -> int:
    """The protocol's version string as sigop's number ("" or "0": the newest)."""
    if not version:
        return 0
    number = parse_version(version)
    if number is None:
        raise InvalidInput(f"model_version {clip(version)}: expected a version number (1-{MAX_VERSION_DIGITS} digits "
                           f"0-9), or empty or 0 for the newest")
    return number


def _signals_spec(served: Served) -> TensorSpec:
    c = served.plan.channels
    return TensorSpec("signals", "FP64", [-1, c, -1] if c > 1 else [-1, -1])


class Plane:
    """The protocol's operations on the serving core."""

    def __init__(self, core: Core):
        self.core = core

    def kind(self, name: str, version: int) -> str:
        if not name:
            raise InvalidInput("model_name is required; ListModels or the server's graphs folder names the models")
        model, _ = self.core.models.get(name, version)
        return model.manifest.kind

    def ready(self, name: str, version: str) -> bool:
        """Whether the model (and version) is loaded; a malformed name or version is InvalidInput, as elsewhere."""
        number = version_number(version)
        try:
            self.kind(name, number)
            return True
        except KeyError:  # ModelNotFound is a KeyError
            return False

    def metadata(self, name: str, version: str) -> ModelView:
        versions = [str(v) for v, s in sorted(self.core.models.status().get(name, {}).items()) if s.model is not None]
        number = version_number(version)
        if self.kind(name, number) == "fft":
            return ModelView(name, versions, PLATFORM, [TensorSpec("signals", "FP64", [-1, -1])],
                             [TensorSpec(o, "FP64", [-1, -1]) for o in FFT_OUTPUTS],
                             {"kind": "fft", "also_accepts": "signals as FP32, or 1-D [n]"})
        served = self.core.classifier(name, number)
        labels = served.labels
        outputs = [TensorSpec("probabilities", "FP32", [-1, len(labels)]), TensorSpec("label", "BYTES", [-1])]
        if served.unknown_threshold is not None:
            outputs += [TensorSpec("unknown", "FP32", [-1]), TensorSpec("is_unknown", "BOOL", [-1])]
        plan, size = served.plan, served.model.manifest.details.get("image_size")
        pixels = f"images: UINT8 [-1, {size}, {size}, 3] (RGB pixels)"
        if plan.takes_waveforms:
            inputs, also = [_signals_spec(served)], ["signals as FP32", "audio: BYTES [-1] (WAV, FLAC or OGG files)"]
        elif served.model.manifest.draws_spectra:
            inputs, also = [_signals_spec(served)], ["signals as FP32", "images: BYTES [-1] (PNG or JPEG)", pixels]
        else:
            inputs, also = [TensorSpec("images", "BYTES", [-1])], [pixels]
        form = plan.form()  # as ListModels reports it
        properties = {"kind": "classifier", "runtime": served.model.runtime, "labels": json.dumps(labels),
                      "also_accepts": "; ".join(also), "input_form": form.form,
                      # a spectrum model draws by FFT bin: it has no rate to resample from, and refuses one
                      "parameters": "sample_rate (Hz), top_k" if form.sample_rate else "top_k"}
        if form.channels:
            properties["channels"] = str(form.channels)
            properties["samples"] = str(form.samples)
        if form.channel_names:
            properties["channel_names"] = json.dumps(list(form.channel_names))
        if form.sample_rate:
            properties["sample_rate"] = f"{form.sample_rate:g}"
        if served.unknown_threshold is not None:
            properties["unknown_threshold"] = f"{served.unknown_threshold:.9g}"
        return ModelView(name, versions, PLATFORM, inputs, outputs, properties)

    def infer(self, name: str, version: str, inputs: list[Tensor], parameters: dict, outputs: list[Output],
              call: Call) -> tuple[int, list[tuple[str, np.ndarray | list[bytes], list[int]]]]:
        """(version that answered, [(output name, values, shape)]) for one request."""
        if len(inputs) != 1:
            raise InvalidInput(f"model {clip(name)} takes exactly one input tensor; got {len(inputs)}: "
                               f"{clip_list((t.name for t in inputs), each=clip)}")
        number = version_number(version)
        if self.kind(name, number) == "fft":
            return self._fft(name, number, inputs[0], outputs)
        served = self.core.classifier(name, number)
        scores = self.core.classify(served, self._given(served, inputs[0], parameters.get("sample_rate")),
                                    "ModelInfer", call)
        columns = {"probabilities": np.asarray(scores.probabilities, np.float32),  # FP32, as its metadata says
                   "label": [served.labels[i].encode() for i in scores.probabilities.argmax(axis=1)]}
        if scores.unknown is not None:
            columns |= {"unknown": np.asarray(scores.unknown, np.float32), "is_unknown": scores.is_unknown}
        default_k = _int(parameters, "top_k")
        wanted = outputs or [Output(o) for o in columns]
        out = []
        for o in wanted:
            if o.name not in columns:
                raise InvalidInput(f"output {clip(o.name)}: model {clip(name)} has outputs {list(columns)}")
            k = o.classes if o.classes is not None else (default_k if o.name == "probabilities" else None)
            values = columns[o.name]
            if k is None:
                out.append((o.name, values, list(np.shape(values))))
            else:
                out.append(_classification(o.name, values, served.labels, k))
        return served.version, out

    def _given(self, served: Served, t: Tensor, rate) -> Inputs:
        plan = served.plan
        if rate is not None and (isinstance(rate, (bool, str)) or not np.isfinite(rate) or rate < 0):
            raise InvalidInput(f"parameter sample_rate {clip(str(rate))}: expected a number of Hz > 0")
        if t.name == "signals":
            return plan.signals(self._signals(t, channels=True)[0], rate or 0)
        if t.name == "images" and t.datatype == "BYTES":
            return plan.images(t.values)
        if t.name == "images" and t.datatype == "UINT8":
            return plan.pixels(t.values)
        if t.name == "audio" and t.datatype == "BYTES":
            return plan.audio(t.values)
        raise InvalidInput(f"input {clip(t.name)} ({t.datatype}): model {clip(served.name)} takes 'signals' "
                           f"(FP64 or FP32), 'images' (BYTES of PNG/JPEG, or UINT8 pixels) or 'audio' (BYTES of "
                           f"sound files), as its metadata says")

    def _signals(self, t: Tensor, channels: bool) -> tuple[np.ndarray, bool]:
        if t.name != "signals":
            raise InvalidInput(f"input {clip(t.name)}: this model takes 'signals'")
        if t.datatype not in ("FP64", "FP32"):
            raise InvalidInput(f"input 'signals': datatype {t.datatype}; expected FP64 or FP32")
        limits = self.core.limits
        shape, one_d = signal_shape(t.shape, max_length=limits.max_signal_length, max_batch=limits.max_batch,
                                    channels=channels)
        x = np.asarray(t.values, np.float64).reshape(shape)
        check_finite(x, one_d)
        return x, one_d

    def _fft(self, name: str, version: int, t: Tensor, outputs: list[Output]):
        names = [o.name for o in outputs] or list(FFT_OUTPUTS)
        for o in outputs:
            if o.name not in FFT_OUTPUTS:
                raise InvalidInput(f"output {clip(o.name)}: the FFT model has outputs {list(FFT_OUTPUTS)}")
            if o.classes is not None:
                raise InvalidInput(f"output {clip(o.name)}: classification applies to classifiers, not the FFT")
        x, one_d = self._signals(t, channels=False)
        _, answered, result = self.core.fft(name, version, x, names)
        return answered, [(o, result[o], list(result[o].shape[1:] if one_d else result[o].shape)) for o in names]


def _int(parameters: dict, key: str) -> int | None:
    value = parameters.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"parameter {key} {clip(str(value))}: expected an integer >= 0, a number of classes "
                           f"(0: every label)")
    return value


def _classification(name: str, values: np.ndarray, labels: list[str], k: int):
    """Triton's classification extension: each row's k best as "score:index:label" (k = 0: all)."""
    if np.ndim(values) != 2:
        raise InvalidInput(f"output {name!r}: classification needs a score per label; ask it of 'probabilities'")
    best = top_k(values, k)
    strings = [f"{float(row[i]):.9g}:{i}:{labels[i]}".encode() for row, order in zip(values, best) for i in order]
    return name, strings, [len(values), best.shape[1]]
