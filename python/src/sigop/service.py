"""The Operator gRPC service: requests in, frozen graphs run, responses out."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import grpc

import numpy as np

from .dataset import decode_image, gray_to_rgb
from .frozen import FrozenGraph
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
        response = pb.FFTResponse(model_spec=_spec(model))
        for name, values in result.items():
            encode_into(getattr(response, name), values, one_d)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "FFT model=%s shape=%s outputs=%s decode_ms=%.3f compute_ms=%.3f encode_ms=%.3f",
                model.manifest.name, list(x.shape), ",".join(outputs),
                1e3 * (t1 - t0), 1e3 * (t2 - t1), 1e3 * (time.perf_counter() - t2),
            )
        return response

    def _classifier(self, spec: pb.ModelSpec, context: grpc.ServicerContext) -> FrozenGraph:
        if not spec.name:
            names = sorted(n for n, m in self._models.items() if m.manifest.kind == "classifier")
            if len(names) != 1:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                              f"model_spec.name is required: this server has classifiers {names}")
            spec = pb.ModelSpec(name=names[0], version=spec.version)
        return self._model(spec, "", "classifier", context)

    def _ranked(self, model: FrozenGraph, images: np.ndarray, top_k: int, context) -> list[pb.Classification]:
        if top_k < 0:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"top_k is {top_k}; expected 0 (all labels) or more")
        probs = model(images, ["probabilities"])["probabilities"]
        labels = model.manifest.details["labels"]
        k = len(labels) if top_k == 0 else min(top_k, len(labels))
        out = []
        for row in probs:
            best = np.argsort(-row, kind="stable")[:k]
            out.append(pb.Classification(classes=[pb.Class(label=labels[i], score=float(row[i])) for i in best]))
        return out

    def Classify(self, request: pb.ClassifyRequest, context: grpc.ServicerContext) -> pb.ClassifyResponse:
        model = self._classifier(request.model_spec, context)
        if not request.images:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "images: empty; expected at least one PNG or JPEG image")
        if len(request.images) > self._limits.max_batch:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          f"images: {len(request.images)} exceed this server's limit of {self._limits.max_batch} per call")
        size = model.manifest.details["image_size"]
        batch = np.empty((len(request.images), size, size, 3), dtype=np.uint8)
        for i, data in enumerate(request.images):
            try:
                batch[i] = decode_image(data, size)
            except ValueError as e:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"images[{i}]: {e}")
        return pb.ClassifyResponse(model_spec=_spec(model),
                                   classifications=self._ranked(model, batch, request.top_k, context))

    def ClassifySignal(self, request: pb.ClassifySignalRequest, context: grpc.ServicerContext) -> pb.ClassifySignalResponse:
        model = self._classifier(request.model_spec, context)
        details = model.manifest.details
        if "spectrum_contract" not in details:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                          f"model {model.manifest.name!r} was trained on images without a spectrum contract; "
                          f"send images with Classify")
        contract = SpectrumContract.from_json(details["spectrum_contract"])
        fft_name = details.get("fft_model", DEFAULT_FFT_MODEL)
        fft = self._models.get(fft_name)
        if fft is None or fft.manifest.kind != "fft":
            context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                          f"model {model.manifest.name!r} needs the FFT model {fft_name!r}, which is not loaded")
        try:
            x, _ = decode_signals(request.signals, max_length=self._limits.max_signal_length,
                                  max_batch=self._limits.max_batch)
        except InvalidInput as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        if x.shape[1] != contract.n:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          f"signals: length n={x.shape[1]} does not fit model {model.manifest.name!r}, whose spectrum "
                          f"contract expects n={contract.n} samples per signal")
        magnitude = fft(x, ["magnitude"])["magnitude"]
        images = gray_to_rgb(magnitude_to_image(magnitude, contract))
        return pb.ClassifySignalResponse(model_spec=_spec(model),
                                         classifications=self._ranked(model, images, request.top_k, context))


def _spec(model: FrozenGraph) -> pb.ModelSpec:
    return pb.ModelSpec(name=model.manifest.name, version=model.manifest.version)
