"""The Operator gRPC service: requests in, frozen graphs run, responses out."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import grpc

from .frozen import FrozenGraph
from .operator.v1 import operator_pb2 as pb
from .operator.v1 import operator_pb2_grpc as pb_grpc
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
    def __init__(self, models: dict[str, FrozenGraph], limits: Limits = Limits()):
        self._models = models
        self._limits = limits

    def _model(self, spec: pb.ModelSpec, default: str, kind: str, context: grpc.ServicerContext) -> FrozenGraph:
        name = spec.name or default
        model = self._models.get(name)
        if model is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"model {name!r} is not loaded; loaded: {sorted(self._models)}")
        if model.manifest.kind != kind:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"model {name!r} is a {model.manifest.kind} model, not {kind}"
            )
        if spec.version not in (0, model.manifest.version):
            context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"model {name!r} has no version {spec.version}; loaded version: {model.manifest.version}",
            )
        return model

    def FFT(self, request: pb.FFTRequest, context: grpc.ServicerContext) -> pb.FFTResponse:
        model = self._model(request.model_spec, DEFAULT_FFT_MODEL, "fft", context)
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
        result = model(x, outputs)
        t2 = time.perf_counter()
        response = pb.FFTResponse(
            model_spec=pb.ModelSpec(name=model.manifest.name, version=model.manifest.version)
        )
        for name, values in result.items():
            encode_into(getattr(response, name), values, one_d)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "FFT model=%s shape=%s outputs=%s decode_ms=%.3f compute_ms=%.3f encode_ms=%.3f",
                model.manifest.name, list(x.shape), ",".join(outputs),
                1e3 * (t1 - t0), 1e3 * (t2 - t1), 1e3 * (time.perf_counter() - t2),
            )
        return response

    def Classify(self, request: pb.ClassifyRequest, context: grpc.ServicerContext) -> pb.ClassifyResponse:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "Classify: this server has no classifier yet")
