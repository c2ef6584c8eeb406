"""The Operator gRPC service: requests in, frozen graphs run, responses out."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass

import grpc

import numpy as np

from .audio import AudioError, fit_length, read_audio, resample
from .dataset import decode_image, gray_to_rgb
from .batching import BatchConfig, Batcher, Expired, QueueFull
from .frozen import FrozenGraph
from .metrics import Metrics
from .models import ModelNotFound, ModelRepository
from .operator.v1 import operator_pb2 as pb
from .operator.v1 import operator_pb2_grpc as pb_grpc
from .render import SpectrumContract, magnitude_to_image
from .tensors import InvalidInput, decode_signals, encode_into

__all__ = ["Limits", "OperatorService", "DEFAULT_FFT_MODEL"]

log = logging.getLogger(__name__)

DEFAULT_FFT_MODEL = "fft"

_SPECTRUM_OUTPUTS = {
    pb.SPECTRUM_UNSPECIFIED: ("magnitude",),
    pb.SPECTRUM_MAGNITUDE: ("magnitude",),
    pb.SPECTRUM_COMPLEX: ("real", "imag"),
}


@dataclass(frozen=True)
class Limits:
    """Request limits; each breach is INVALID_ARGUMENT naming the limit."""

    max_signal_length: int = 1 << 22
    max_batch: int = 4096


class OperatorService(pb_grpc.OperatorServicer):
    def __init__(self, models: ModelRepository, limits: Limits = Limits(), metrics: Metrics | None = None,
                 batching: BatchConfig = BatchConfig()):
        self._models = models
        self._limits = limits
        self._metrics = metrics or Metrics()
        self._batching = batching
        self._batchers: dict[tuple[str, int], tuple[FrozenGraph, Batcher]] = {}
        self._batchers_lock = threading.Lock()

    def _batcher(self, model: FrozenGraph, spec: pb.ModelSpec) -> Batcher:
        """One batcher per loaded classifier version (a reloaded version gets a new one)."""
        key = (spec.name, spec.version)
        with self._batchers_lock:
            entry = self._batchers.get(key)
            if entry is None or entry[0] is not model:
                queue, size = self._metrics.queue.labels(spec.name), self._metrics.batch_size.labels(spec.name)

                def observe(waits: list[float], images: int) -> None:
                    for w in waits:
                        queue.observe(w)
                    size.observe(images)

                run = lambda x: self._run(model, spec, "batch", x, ["probabilities"])["probabilities"]  # noqa: E731
                entry = (model, Batcher(run, self._batching, observe, name=f"batcher-{spec.name}-{spec.version}"))
                self._batchers[key] = entry
            return entry[1]

    def _probabilities(self, model: FrozenGraph, spec: pb.ModelSpec, method: str, images: np.ndarray,
                       context: grpc.ServicerContext) -> np.ndarray:
        if not self._batching.enabled:
            return self._run(model, spec, method, images, ["probabilities"])["probabilities"]
        remaining = context.time_remaining()  # no deadline: None or a huge number, depending on the version
        deadline = None if remaining is None or remaining > 1e6 else time.monotonic() + remaining
        try:
            return self._batcher(model, spec).submit(images, deadline, context.is_active)
        except QueueFull as e:
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(e))
        except Expired as e:
            context.abort(grpc.StatusCode.DEADLINE_EXCEEDED if context.is_active() else grpc.StatusCode.CANCELLED,
                          str(e))

    def _run(self, model: FrozenGraph, spec: pb.ModelSpec, method: str, x: np.ndarray, outputs) -> dict:
        start = time.perf_counter()
        out = model(x, outputs)
        self._metrics.compute.labels(spec.name, method).observe(time.perf_counter() - start)
        return out

    def _model(self, spec: pb.ModelSpec, default: str, kind: str, context: grpc.ServicerContext) -> tuple[FrozenGraph, pb.ModelSpec]:
        """The model a request names, and the spec (with concrete version) to answer with."""
        name = spec.name or default
        try:
            model, version = self._models.get(name, spec.version)
        except ModelNotFound as e:
            context.abort(grpc.StatusCode.NOT_FOUND, str(e))
        if model.manifest.kind != kind:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"model {name!r} is a {model.manifest.kind} model, not {kind}")
        return model, pb.ModelSpec(name=name, version=version)

    def FFT(self, request: pb.FFTRequest, context: grpc.ServicerContext) -> pb.FFTResponse:
        model, answered = self._model(request.model_spec, DEFAULT_FFT_MODEL, "fft", context)
        outputs: list[str] = []
        for s in request.spectra or [pb.SPECTRUM_MAGNITUDE]:
            if s not in _SPECTRUM_OUTPUTS:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"spectra: unknown Spectrum value {s}")
            outputs += [o for o in _SPECTRUM_OUTPUTS[s] if o not in outputs]
        t0 = time.perf_counter()
        try:
            x, one_d = decode_signals(
                request.signals, max_length=self._limits.max_signal_length, max_batch=self._limits.max_batch
            )
        except InvalidInput as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        t1 = time.perf_counter()
        result = self._run(model, answered, "FFT", x, outputs)
        t2 = time.perf_counter()
        response = pb.FFTResponse(model_spec=answered)
        for name, values in result.items():
            encode_into(getattr(response, name), values, one_d)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "FFT model=%s version=%d shape=%s outputs=%s decode_ms=%.3f compute_ms=%.3f encode_ms=%.3f",
                answered.name, answered.version, list(x.shape), ",".join(outputs),
                1e3 * (t1 - t0), 1e3 * (t2 - t1), 1e3 * (time.perf_counter() - t2),
            )
        return response

    def _classifier(self, spec: pb.ModelSpec, context: grpc.ServicerContext) -> tuple[FrozenGraph, pb.ModelSpec]:
        if not spec.name:
            names = self._models.names("classifier")
            if len(names) != 1:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                              f"model_spec.name is required: this server has classifiers {names}")
            spec = pb.ModelSpec(name=names[0], version=spec.version)
        return self._model(spec, "", "classifier", context)

    def _ranked(self, model: FrozenGraph, spec: pb.ModelSpec, method: str, images: np.ndarray, top_k: int,
                context) -> list[pb.Classification]:
        if top_k < 0:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"top_k is {top_k}; expected 0 (all labels) or more")
        probs = self._probabilities(model, spec, method, images, context)
        labels = model.manifest.details["labels"]
        k = len(labels) if top_k == 0 else min(top_k, len(labels))
        out = []
        for row in probs:
            best = np.argsort(-row, kind="stable")[:k]
            out.append(pb.Classification(classes=[pb.Class(label=labels[i], score=float(row[i])) for i in best]))
        return out

    def _check_count(self, files, field: str, expected: str, context: grpc.ServicerContext) -> None:
        """At least one encoded file, and no more than a call may carry."""
        if not files:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{field}: empty; expected at least one {expected}")
        if len(files) > self._limits.max_batch:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          f"{field}: {len(files)} exceed this server's limit of {self._limits.max_batch} per call")

    def Classify(self, request: pb.ClassifyRequest, context: grpc.ServicerContext) -> pb.ClassifyResponse:
        model, answered = self._classifier(request.model_spec, context)
        self._check_count(request.images, "images", "PNG or JPEG image", context)
        size = model.manifest.details["image_size"]
        batch = np.empty((len(request.images), size, size, 3), dtype=np.uint8)
        for i, data in enumerate(request.images):
            try:
                batch[i] = decode_image(data, size)
            except ValueError as e:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"images[{i}]: {e}")
        return pb.ClassifyResponse(model_spec=answered,
                                   classifications=self._ranked(model, answered, "Classify", batch, request.top_k, context))

    def ClassifySignal(self, request: pb.ClassifySignalRequest, context: grpc.ServicerContext) -> pb.ClassifySignalResponse:
        model, answered = self._classifier(request.model_spec, context)
        details = model.manifest.details
        if model.manifest.takes_waveforms:
            try:
                x, _ = decode_signals(request.signals, max_length=self._limits.max_signal_length,
                                      max_batch=self._limits.max_batch)
            except InvalidInput as e:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
            own = details["front_end"]["sample_rate"]
            rate = request.sample_rate or own
            if not 1 <= rate <= 1e7:  # also NaN
                context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                              f"sample_rate is {request.sample_rate:g} Hz; expected 0 (the model's own {own} Hz) "
                              f"or a rate from 1 Hz to 10 MHz")
            waves = self._waveforms(model, [(row, rate) for row in x], "signals", context)
            return pb.ClassifySignalResponse(
                model_spec=answered,
                classifications=self._ranked(model, answered, "ClassifySignal", waves, request.top_k, context))
        if request.sample_rate:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          f"sample_rate is {request.sample_rate:g} Hz, but model {answered.name!r} draws spectra by "
                          f"FFT bin and has no sample rate; send 0")
        if "spectrum_contract" not in details:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                          f"model {answered.name!r} was trained on images without a spectrum contract; "
                          f"send images with Classify")
        contract = SpectrumContract.from_json(details["spectrum_contract"])
        fft_name = details.get("fft_model", DEFAULT_FFT_MODEL)
        try:
            fft, _ = self._models.get(fft_name)
        except ModelNotFound:
            fft = None
        if fft is None or fft.manifest.kind != "fft":
            context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                          f"model {answered.name!r} needs the FFT model {fft_name!r}, which is not loaded")
        try:
            x, _ = decode_signals(request.signals, max_length=self._limits.max_signal_length,
                                  max_batch=self._limits.max_batch)
        except InvalidInput as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        if x.shape[1] != contract.n:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          f"signals: length n={x.shape[1]} does not fit model {answered.name!r}, whose spectrum "
                          f"contract expects n={contract.n} samples per signal")
        magnitude = self._run(fft, pb.ModelSpec(name=fft_name), "ClassifySignal", x, ["magnitude"])["magnitude"]
        images = gray_to_rgb(magnitude_to_image(magnitude, contract))
        return pb.ClassifySignalResponse(model_spec=answered,
                                         classifications=self._ranked(model, answered, "ClassifySignal", images, request.top_k,
                                                                     context))

    def ClassifyAudio(self, request: pb.ClassifyAudioRequest, context: grpc.ServicerContext) -> pb.ClassifyAudioResponse:
        model, answered = self._classifier(request.model_spec, context)
        if not model.manifest.takes_waveforms:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                          f"model {answered.name!r} takes {', '.join(model.manifest.inputs)}, not waveforms; "
                          f"ClassifyAudio needs a model trained with a waveform front end (log_mel, mfcc, "
                          f"power_spectrum)")
        self._check_count(request.audio, "audio", "WAV, FLAC or OGG file", context)
        decoded = []
        for i, data in enumerate(request.audio):
            try:
                x, rate = read_audio(data)
            except AudioError as e:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"audio[{i}]: {e}")
            if x.size > self._limits.max_signal_length:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                              f"audio[{i}]: {x.size} samples exceed this server's limit of "
                              f"{self._limits.max_signal_length} per signal")
            decoded.append((x, rate))
        waves = self._waveforms(model, decoded, "audio", context)
        return pb.ClassifyAudioResponse(
            model_spec=answered,
            classifications=self._ranked(model, answered, "ClassifyAudio", waves, request.top_k, context))

    @staticmethod
    def _waveforms(model: FrozenGraph, signals: list[tuple[np.ndarray, float]], field: str,
                   context: grpc.ServicerContext) -> np.ndarray:
        """Signals at their rates -> the model's float32 [batch, samples] at its rate."""
        fe = model.manifest.details["front_end"]
        out = np.empty((len(signals), fe["samples"]), dtype=np.float32)
        for i, (x, rate) in enumerate(signals):
            try:
                out[i] = fit_length(resample(x, rate, fe["sample_rate"]), fe["samples"])
            except AudioError as e:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{field}[{i}]: {e}")
        return out

    def ListModels(self, request: pb.ListModelsRequest, context: grpc.ServicerContext) -> pb.ListModelsResponse:
        status = self._models.status()
        if request.name and request.name not in status:
            context.abort(grpc.StatusCode.NOT_FOUND, f"model {request.name!r} is not known; known: {sorted(status)}")
        out = pb.ListModelsResponse()
        for name in sorted(status) if not request.name else [request.name]:
            m = out.models.add(name=name)
            for version in sorted(status[name], reverse=True):
                s = status[name][version]
                v = m.versions.add(version=version, message=s.message,
                                   state=pb.ModelState.Value(f"MODEL_STATE_{s.state}"))
                if s.model is not None:
                    v.kind = s.model.manifest.kind
                    v.labels.extend(s.model.manifest.details.get("labels", []))
                    v.manifest_json = json.dumps(s.model.manifest.to_json())
        return out
