"""The Operator gRPC service: protobuf in, the serving core, protobuf out.

Each handler decodes its request into arrays, calls the core (core.py) and
encodes the answer; status.py maps the domain's exceptions to status codes.
No input logic lives here: what a model takes is its input plan's (plan.py).
"""

from __future__ import annotations

import json
import logging

import grpc
import numpy as np

from ..inputs import InvalidInput
from ..limits import clip
from ..plan import InputPlan
from ..operator.v1 import operator_pb2 as pb
from ..operator.v1 import operator_pb2_grpc as pb_grpc
from .arrivals import within
from .core import Core, Scores, Served, top_k
from .errors import ModelNotFound
from .shared_memory import SharedMemory
from .status import call_of, rpc, rpc_stream
from .events import Event
from .stream import StreamSession, StreamSettings, WindowResult
from .wire import decode_signals, encode_into, encode_shared

__all__ = ["OperatorService"]

log = logging.getLogger(__name__)

_SPECTRUM_OUTPUTS = {
    pb.SPECTRUM_UNSPECIFIED: ("magnitude",),
    pb.SPECTRUM_MAGNITUDE: ("magnitude",),
    pb.SPECTRUM_COMPLEX: ("real", "imag"),
}


def _spec(served: Served) -> pb.ModelSpec:
    return pb.ModelSpec(name=served.name, version=served.version)


def _classification(probabilities: np.ndarray, best: np.ndarray, labels: list[str], unknown: float | None = None,
                    threshold: float | None = None) -> pb.Classification:
    out = pb.Classification(classes=[pb.Class(label=labels[i], score=float(probabilities[i])) for i in best])
    if unknown is not None:
        out.unknown_score, out.unknown = float(unknown), bool(unknown > threshold)
    return out


def _classifications(served: Served, scores: Scores, k: int) -> list[pb.Classification]:
    p = scores.probabilities
    unknown = [None] * len(p) if scores.unknown is None else scores.unknown
    return [_classification(row, best, served.labels, u, scores.threshold) for row, best, u in zip(p, top_k(p, k), unknown)]


_SPECTRUM_ORDER = ("magnitude", "real", "imag")  # how parts follow each other in a shared-memory output


class OperatorService(pb_grpc.OperatorServicer):
    def __init__(self, core: Core, shared: SharedMemory):
        self._core = core
        self._shared = shared

    def _signals(self, t: pb.Float64Tensor, channels: bool = False, shared: bool = True) -> tuple[np.ndarray, bool]:
        limits = self._core.limits
        return decode_signals(t, max_length=limits.max_signal_length, max_batch=limits.max_batch, channels=channels,
                              shared=self._shared if shared else None)

    @rpc
    def FFT(self, request: pb.FFTRequest, context: grpc.ServicerContext) -> pb.FFTResponse:
        outputs: list[str] = []
        for s in request.spectra or [pb.SPECTRUM_MAGNITUDE]:
            if s not in _SPECTRUM_OUTPUTS:
                raise InvalidInput(f"spectra: unknown Spectrum value {s}")
            outputs += [o for o in _SPECTRUM_OUTPUTS[s] if o not in outputs]
        x, one_d = self._signals(request.signals)
        name, version, result = self._core.fft(request.model_spec.name, request.model_spec.version, x, outputs)
        response = pb.FFTResponse(model_spec=pb.ModelSpec(name=name, version=version))
        if request.HasField("output"):
            parts = [(getattr(response, o), result[o]) for o in _SPECTRUM_ORDER if o in result]
            encode_shared(parts, one_d, self._shared, request.output)
            return response
        for output, values in result.items():
            encode_into(getattr(response, output), values, one_d)
        return response

    @rpc
    def Classify(self, request: pb.ClassifyRequest, context: grpc.ServicerContext) -> pb.ClassifyResponse:
        served = self._core.classifier(request.model_spec.name, request.model_spec.version)
        scores = self._core.classify(served, served.plan.images(request.images), "Classify", call_of(context))
        return pb.ClassifyResponse(model_spec=_spec(served),
                                   classifications=_classifications(served, scores, request.top_k))

    @rpc
    def ClassifySignal(self, request: pb.ClassifySignalRequest, context: grpc.ServicerContext) -> pb.ClassifySignalResponse:
        served = self._core.classifier(request.model_spec.name, request.model_spec.version)
        given = served.plan.signals(self._signals(request.signals, channels=True)[0], request.sample_rate)
        scores = self._core.classify(served, given, "ClassifySignal", call_of(context))
        return pb.ClassifySignalResponse(model_spec=_spec(served),
                                         classifications=_classifications(served, scores, request.top_k))

    @rpc
    def ClassifyAudio(self, request: pb.ClassifyAudioRequest, context: grpc.ServicerContext) -> pb.ClassifyAudioResponse:
        served = self._core.classifier(request.model_spec.name, request.model_spec.version)
        scores = self._core.classify(served, served.plan.audio(request.audio), "ClassifyAudio", call_of(context))
        return pb.ClassifyAudioResponse(model_spec=_spec(served),
                                        classifications=_classifications(served, scores, request.top_k))

    @rpc_stream
    def ClassifyStream(self, requests, context: grpc.ServicerContext):
        with self._core.stream_slot():
            limits = self._core.limits
            requests = within(requests, limits.stream_first_message_seconds, limits.stream_idle_seconds)
            first = next(requests, None)
            if first is None:
                return
            if first.WhichOneof("kind") != "config":
                raise InvalidInput("the first message must carry config (StreamConfig: model, rate, hop, smoothing)")
            c = first.config
            session = StreamSession(self._core, StreamSettings(
                c.model_spec.name, c.model_spec.version, c.sample_rate, c.hop, c.top_k, c.smoothing_windows,
                c.min_duration, c.threshold, c.unknown_events), call_of(context))
            with self._core.holding(session.served):  # its version, through reloads, until it ends
                spec = _spec(session.served)
                for i, request in enumerate(requests, start=1):
                    if request.WhichOneof("kind") != "samples":
                        raise InvalidInput(f"message {i}: after the config every message carries samples")
                    try:
                        x, _ = self._signals(request.samples, shared=False)
                        results = session.feed(x)
                    except InvalidInput as e:
                        raise InvalidInput(f"message {i}: {e}") from None
                    for result in results:
                        yield _stream_reply(spec, session.served.labels, result)
                for result in session.finish():
                    yield _stream_reply(spec, session.served.labels, result)

    @rpc
    def ListModels(self, request: pb.ListModelsRequest, context: grpc.ServicerContext) -> pb.ListModelsResponse:
        status = self._core.models.status()
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
                    if s.model.manifest.kind == "classifier":
                        form = InputPlan(s.model.manifest).form()
                        v.input_form, v.channels, v.sample_rate, v.samples = (
                            form.form, form.channels, form.sample_rate, form.samples)
                        v.channel_names.extend(form.channel_names)
        return out

    @rpc
    def RegisterSharedMemory(self, request: pb.RegisterSharedMemoryRequest, context: grpc.ServicerContext
                             ) -> pb.RegisterSharedMemoryResponse:
        r = request.region
        self._shared.register(r.name, r.key, r.offset, r.byte_size)
        return pb.RegisterSharedMemoryResponse()

    @rpc
    def UnregisterSharedMemory(self, request: pb.UnregisterSharedMemoryRequest, context: grpc.ServicerContext
                               ) -> pb.UnregisterSharedMemoryResponse:
        self._shared.unregister(request.name)
        return pb.UnregisterSharedMemoryResponse()

    @rpc
    def SharedMemoryStatus(self, request: pb.SharedMemoryStatusRequest, context: grpc.ServicerContext
                           ) -> pb.SharedMemoryStatusResponse:
        regions = [pb.SharedMemoryRegion(name=r.name, key=r.key, offset=r.offset, byte_size=r.size)
                   for r in self._shared.status()]
        config = self._shared.config
        return pb.SharedMemoryStatusResponse(regions=regions, max_regions=config.max_regions,
                                             max_bytes=config.max_bytes)


def _stream_reply(spec: pb.ModelSpec, labels: list[str], r: WindowResult | Event) -> pb.ClassifyStreamResponse:
    if isinstance(r, Event):
        return pb.ClassifyStreamResponse(model_spec=spec, event=pb.StreamEvent(
            label=r.label, start_sample=int(r.start), start_seconds=r.start_seconds or 0.0, score=r.score,
            previous=r.previous, previous_start_sample=int(r.previous_start),
            previous_start_seconds=r.previous_start_seconds or 0.0))
    return pb.ClassifyStreamResponse(model_spec=spec, window=pb.StreamWindow(
        start_sample=r.start, end_sample=r.end, start_seconds=r.start_seconds, end_seconds=r.end_seconds,
        classification=_classification(r.probabilities, r.best, labels, r.unknown, r.threshold)))
