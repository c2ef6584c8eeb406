"""inference.GRPCInferenceService (the Open Inference Protocol) beside the Operator service, on the same port.

Each handler is a few lines: the codec (oip_codec.py) turns tensors into
arrays, the plane (oip_plane.py) runs them through the serving core, the
codec writes the answer. Errors are the same exceptions as the Operator
service's and get the same status codes (status.py).
"""

from __future__ import annotations

from typing import Callable

import grpc

from .. import __version__
from ..inference import open_inference_grpc_pb2 as pb
from ..inference import open_inference_grpc_pb2_grpc as pb_grpc
from .oip_codec import decode_inputs, encode_output, parameter, tensor_parameters
from .oip_plane import ModelView, Output, Plane
from .status import call_of, rpc

__all__ = ["InferenceService", "SERVICE_NAME", "EXTENSIONS"]

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["GRPCInferenceService"].full_name
EXTENSIONS = ["classification"]


def _tensors(specs) -> list[pb.ModelMetadataResponse.TensorMetadata]:
    return [pb.ModelMetadataResponse.TensorMetadata(name=t.name, datatype=t.datatype, shape=t.shape) for t in specs]


class InferenceService(pb_grpc.GRPCInferenceServiceServicer):
    def __init__(self, plane: Plane, ready: Callable[[], bool]):
        self._plane, self._ready = plane, ready

    @rpc
    def ServerLive(self, request, context) -> pb.ServerLiveResponse:
        return pb.ServerLiveResponse(live=True)

    @rpc
    def ServerReady(self, request, context) -> pb.ServerReadyResponse:
        return pb.ServerReadyResponse(ready=self._ready())

    @rpc
    def ModelReady(self, request: pb.ModelReadyRequest, context) -> pb.ModelReadyResponse:
        return pb.ModelReadyResponse(ready=self._ready() and self._plane.ready(request.name, request.version))

    @rpc
    def ServerMetadata(self, request, context) -> pb.ServerMetadataResponse:
        return pb.ServerMetadataResponse(name="sigop", version=__version__, extensions=EXTENSIONS)

    @rpc
    def ModelMetadata(self, request: pb.ModelMetadataRequest, context) -> pb.ModelMetadataResponse:
        m: ModelView = self._plane.metadata(request.name, request.version)
        return pb.ModelMetadataResponse(name=m.name, versions=m.versions, platform=m.platform,
                                        inputs=_tensors(m.inputs), outputs=_tensors(m.outputs),
                                        properties=m.properties)

    @rpc
    def ModelInfer(self, request: pb.ModelInferRequest, context: grpc.ServicerContext) -> pb.ModelInferResponse:
        limits = self._plane.core.limits
        inputs = decode_inputs(request, max_elements=limits.max_batch * limits.max_signal_length)
        parameters = {k: parameter(v) for k, v in request.parameters.items()}
        outputs = [Output.asked(o.name, tensor_parameters(o, "output")) for o in request.outputs]
        version, answers = self._plane.infer(request.model_name, request.model_version, inputs, parameters, outputs,
                                             call_of(context))
        response = pb.ModelInferResponse(model_name=request.model_name, model_version=str(version), id=request.id)
        raw = bool(request.raw_input_contents)  # answer as asked: raw for raw, typed (JSON numbers in grpcurl) else
        for name, values, shape in answers:
            encode_output(response, name, values, shape, raw)
        return response
