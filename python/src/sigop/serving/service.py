"""The Operator gRPC service: requests in, frozen graphs run, responses out.

Each RPC parses its request, asks sigop.inputs for the model's input, runs
the graph and builds the response. Handlers raise the domain's exceptions;
status.py turns them into status codes. Classifier inputs are decoded and run
``limits.compute_batch`` at a time under a reservation from the server-wide
memory budget (see limits.py and inputs.py).
"""

from __future__ import annotations

import json
import logging
import threading
import time

import grpc
import numpy as np

from .. import inputs
from ..audio import MAX_RATE, MIN_RATE
from ..inputs import InvalidInput
from ..limits import Limits, MemoryBudget, StreamLimit, clip
from ..manifest import DEFAULT_FFT_MODEL
from ..operator.v1 import operator_pb2 as pb
from ..operator.v1 import operator_pb2_grpc as pb_grpc
from ..render import SpectrumContract
from .batching import BatchConfig, Batcher
from .lite import Model
from .metrics import Metrics
from .repository import ModelNotFound, ModelRepository
from .status import Precondition, rpc, rpc_stream
from .stream import classify_stream
from .wire import decode_signals, encode_into

__all__ = ["OperatorService"]

log = logging.getLogger(__name__)



_SPECTRUM_OUTPUTS = {
    pb.SPECTRUM_UNSPECIFIED: ("magnitude",),
    pb.SPECTRUM_MAGNITUDE: ("magnitude",),
    pb.SPECTRUM_COMPLEX: ("real", "imag"),
}
_FLOAT64_MAX = float(np.finfo(np.float64).max)


class OperatorService(pb_grpc.OperatorServicer):
    def __init__(self, models: ModelRepository, limits: Limits = Limits(), metrics: Metrics | None = None,
                 batching: BatchConfig = BatchConfig()):
        self._models = models
        self._limits = limits
        self._metrics = metrics or Metrics()
        self._batching = batching
        self._budget = MemoryBudget(limits.inflight_bytes)
        self._batchers: dict[tuple[str, int], tuple[Model, Batcher]] = {}
        self._batchers_lock = threading.Lock()
        self._streams = threading.BoundedSemaphore(limits.max_streams)

    # ---- batching ---------------------------------------------------------------------------------------------

    def _batcher(self, model: Model, spec: pb.ModelSpec) -> Batcher:
        """One batcher per loaded classifier version (a reloaded version gets a new one)."""
        key = (spec.name, spec.version)
        replaced = None
        with self._batchers_lock:
            entry = self._batchers.get(key)
            if entry is None or entry[0] is not model:
                replaced = entry
                queue, size = self._metrics.queue.labels(spec.name), self._metrics.batch_size.labels(spec.name)

                def observe(waits: list[float], inputs: int) -> None:
                    for w in waits:
                        queue.observe(w)
                    size.observe(inputs)

                run = lambda x: self._run(model, spec, "batch", x, ["probabilities"])["probabilities"]  # noqa: E731
                entry = (model, Batcher(run, self._batching, observe, name=f"batcher-{spec.name}-{spec.version}"))
                self._batchers[key] = entry
        if replaced is not None:  # outside the lock: closing waits for the old worker's queued calls
            replaced[1].close()
        return entry[1]

    def release_unloaded(self) -> None:
        """Stop the batchers of versions that were reloaded or removed, so their graphs can be freed."""
        unloaded = []
        with self._batchers_lock:
            for key, (model, batcher) in list(self._batchers.items()):
                try:
                    current, _ = self._models.get(*key)
                except ModelNotFound:
                    current = None
                if current is not model:
                    unloaded.append(batcher)
                    del self._batchers[key]
        for batcher in unloaded:  # outside the lock: closing waits for each worker's queued calls
            batcher.close()

    def close(self) -> None:
        with self._batchers_lock:
            batchers = [b for _, b in self._batchers.values()]
            self._batchers.clear()
        for batcher in batchers:
            batcher.close()

    # ---- running graphs ---------------------------------------------------------------------------------------

    def _run(self, model: Model, spec: pb.ModelSpec, method: str, x: np.ndarray, outputs) -> dict:
        start = time.perf_counter()
        out = model(x, outputs)
        self._metrics.compute.labels(spec.name, method).observe(time.perf_counter() - start)
        return out

    def _probabilities(self, model: Model, spec: pb.ModelSpec, method: str, x: np.ndarray,
                       context: grpc.ServicerContext) -> np.ndarray:
        if not self._batching.enabled:
            return self._run(model, spec, method, x, ["probabilities"])["probabilities"]
        remaining = context.time_remaining()  # no deadline: None or a huge number, depending on the version
        deadline = None if remaining is None or remaining > 1e6 else time.monotonic() + remaining
        return self._batcher(model, spec).submit(x, deadline, context.is_active)

    def _classify(self, model: Model, spec: pb.ModelSpec, method: str, given: inputs.Inputs, top_k: int,
                  context: grpc.ServicerContext) -> list[pb.Classification]:
        """Run the inputs compute_batch at a time, within a reservation from the memory budget."""
        if top_k < 0:
            raise InvalidInput(f"top_k is {top_k}; expected 0 (all labels) or more")
        labels = model.manifest.details["labels"]
        k = len(labels) if top_k == 0 else min(top_k, len(labels))
        out = []
        with self._budget.reserve(given.peak_bytes, f"this {method} call"):
            for start, x in given.chunks(self._limits.compute_batch):
                probs = self._probabilities(model, spec, method, x, context)
                finite = np.isfinite(probs).all(axis=1)
                if not finite.all():
                    i = start + int(np.argmin(finite))
                    raise InvalidInput(f"{given.field}[{i}]: the model's scores for it are not finite; its values "
                                       f"lie far outside the range the model was trained on")
                for row in probs:
                    best = np.argsort(-row, kind="stable")[:k]
                    out.append(pb.Classification(classes=[pb.Class(label=labels[i], score=float(row[i])) for i in best]))
        return out

    # ---- finding models ---------------------------------------------------------------------------------------

    def _model(self, spec: pb.ModelSpec, default: str, kind: str) -> tuple[Model, pb.ModelSpec]:
        """The model a request names, and the spec (with concrete version) to answer with."""
        name = spec.name or default
        model, version = self._models.get(name, spec.version)
        if model.manifest.kind != kind:
            raise InvalidInput(f"model {clip(name)} is a {model.manifest.kind} model, not {kind}")
        return model, pb.ModelSpec(name=name, version=version)

    def _classifier(self, spec: pb.ModelSpec) -> tuple[Model, pb.ModelSpec]:
        if not spec.name:
            names = self._models.names("classifier")
            if len(names) != 1:
                raise InvalidInput(f"model_spec.name is required: this server has classifiers {names}")
            spec = pb.ModelSpec(name=names[0], version=spec.version)
        return self._model(spec, "", "classifier")

    def _check_count(self, n: int, field: str, expected: str) -> None:
        """At least one input, and no more than a call may carry."""
        if n == 0:
            raise InvalidInput(f"{field}: empty; expected at least one {expected}")
        if n > self._limits.max_batch:
            raise InvalidInput(f"{field}: {n} exceed this server's limit of {self._limits.max_batch} per call")

    def _signals(self, t: pb.Float64Tensor) -> tuple[np.ndarray, bool]:
        return decode_signals(t, max_length=self._limits.max_signal_length, max_batch=self._limits.max_batch)

    # ---- RPCs ---------------------------------------------------------------------------------------------------

    @rpc
    def FFT(self, request: pb.FFTRequest, context: grpc.ServicerContext) -> pb.FFTResponse:
        model, answered = self._model(request.model_spec, DEFAULT_FFT_MODEL, "fft")
        outputs: list[str] = []
        for s in request.spectra or [pb.SPECTRUM_MAGNITUDE]:
            if s not in _SPECTRUM_OUTPUTS:
                raise InvalidInput(f"spectra: unknown Spectrum value {s}")
            outputs += [o for o in _SPECTRUM_OUTPUTS[s] if o not in outputs]
        t0 = time.perf_counter()
        x, one_d = self._signals(request.signals)
        peak = max(float(x.max()), -float(x.min()))
        if peak * x.shape[1] >= _FLOAT64_MAX:  # |X[k]| <= n * max|x|
            raise InvalidInput(f"signals: values up to {peak:.3g} over n={x.shape[1]} samples could overflow "
                               f"float64 in the spectrum (|X[k]| <= n * max|x| must stay below {_FLOAT64_MAX:.3g})")
        t1 = time.perf_counter()
        with self._budget.reserve(x.nbytes * (3 + len(outputs)), "this FFT call"):
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

    @rpc
    def Classify(self, request: pb.ClassifyRequest, context: grpc.ServicerContext) -> pb.ClassifyResponse:
        model, answered = self._classifier(request.model_spec)
        self._check_count(len(request.images), "images", "PNG or JPEG image")
        given = inputs.images(request.images, model.manifest.details["image_size"], self._limits)
        return pb.ClassifyResponse(model_spec=answered, classifications=self._classify(
            model, answered, "Classify", given, request.top_k, context))

    @rpc
    def ClassifySignal(self, request: pb.ClassifySignalRequest, context: grpc.ServicerContext) -> pb.ClassifySignalResponse:
        model, answered = self._classifier(request.model_spec)
        _, _, model_input = self._signal_input(model, answered, request.sample_rate, "ClassifySignal")
        given = model_input(self._signals(request.signals)[0])
        return pb.ClassifySignalResponse(model_spec=answered, classifications=self._classify(
            model, answered, "ClassifySignal", given, request.top_k, context))

    def _signal_input(self, model: Model, answered: pb.ModelSpec, sample_rate: float, method: str):
        """How samples sent at sample_rate (0: the model's own) become this classifier's input, checked and resolved
        once per call or stream: (their rate, or None for a spectrum model, which has none; the model's window in
        those samples; x -> Inputs). ClassifySignal and ClassifyStream share it, so a streamed window scores as the
        same samples sent alone."""
        details, field = model.manifest.details, "sample_rate" if method == "ClassifySignal" else "config.sample_rate"
        if model.manifest.takes_waveforms:
            front_end = details["front_end"]
            own = front_end["sample_rate"]
            rate = sample_rate or own
            if not MIN_RATE <= rate <= MAX_RATE:  # also NaN
                raise InvalidInput(f"{field} is {sample_rate:g} Hz; expected 0 (the model's own {own:g} Hz) "
                                   f"or a positive rate up to {MAX_RATE / 1e6:g} MHz")
            window = int(round(front_end["samples"] * rate / own))
            return rate, window, lambda x: inputs.waveforms(x, rate, front_end, self._limits)
        if sample_rate:
            raise InvalidInput(f"{field} is {sample_rate:g} Hz, but model {answered.name!r} draws spectra by FFT "
                               f"bin and has no sample rate; send 0")
        contract, magnitude = self._spectrum_drawing(answered, details, method)
        size = details["image_size"]
        return None, contract.n, lambda x: inputs.spectra(x, contract, size, magnitude, self._limits)

    def _spectrum_drawing(self, answered: pb.ModelSpec, details: dict, method: str):
        """The contract a spectrum-image model's images were drawn by, and its FFT graph's magnitude."""
        if "spectrum_contract" not in details:
            raise Precondition(f"model {answered.name!r} was trained on images without a spectrum contract; "
                               f"send images with Classify")
        fft_name = details.get("fft_model", DEFAULT_FFT_MODEL)
        try:
            fft, _ = self._models.get(fft_name)
        except ModelNotFound:
            fft = None
        if fft is None or fft.manifest.kind != "fft":
            raise Precondition(f"model {answered.name!r} needs the FFT model {fft_name!r}, which is not loaded")
        fft_spec = pb.ModelSpec(name=fft_name)
        magnitude = lambda rows: self._run(fft, fft_spec, method, rows, ["magnitude"])["magnitude"]  # noqa: E731
        return SpectrumContract.from_json(details["spectrum_contract"]), magnitude

    @rpc
    def ClassifyAudio(self, request: pb.ClassifyAudioRequest, context: grpc.ServicerContext) -> pb.ClassifyAudioResponse:
        model, answered = self._classifier(request.model_spec)
        if not model.manifest.takes_waveforms:
            raise Precondition(f"model {answered.name!r} takes {', '.join(model.manifest.inputs)}, not waveforms; "
                               f"ClassifyAudio needs a model trained with a waveform front end (log_mel, mfcc, "
                               f"power_spectrum, waveform)")
        self._check_count(len(request.audio), "audio", "WAV, FLAC or OGG file")
        given = inputs.audio_files(request.audio, model.manifest.details["front_end"], self._limits)
        return pb.ClassifyAudioResponse(model_spec=answered, classifications=self._classify(
            model, answered, "ClassifyAudio", given, request.top_k, context))

    @rpc_stream
    def ClassifyStream(self, requests, context: grpc.ServicerContext):
        if not self._streams.acquire(blocking=False):
            raise StreamLimit(f"{self._limits.max_streams} streams are open, this server's limit (--max-streams, "
                              f"below --workers); retry later or on another replica")
        self._metrics.streams_open.inc()
        try:
            yield from classify_stream(self, requests, context)
        finally:
            self._metrics.streams_open.dec()
            self._streams.release()

    @rpc
    def ListModels(self, request: pb.ListModelsRequest, context: grpc.ServicerContext) -> pb.ListModelsResponse:
        status = self._models.status()
        if request.name and request.name not in status:
            raise ModelNotFound(f"model {clip(request.name)} is not known; known: {sorted(status)}")
        out = pb.ListModelsResponse()
        for name in sorted(status) if not request.name else [request.name]:
            m = out.models.add(name=name)
            for version in sorted(status[name], reverse=True):
                s = status[name][version]
                v = m.versions.add(version=version, message=s.message,
                                   state=pb.ModelState.Value(f"MODEL_STATE_{s.state}"))
                if s.model is not None:
                    v.kind = s.model.manifest.kind
                    v.runtime = s.model.runtime
                    v.labels.extend(s.model.manifest.details.get("labels", []))
                    v.manifest_json = json.dumps(s.model.manifest.to_json())
        return out
