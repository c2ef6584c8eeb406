"""Server reflection resolves every symbol a client asks for, over grpc.reflection.v1 and v1alpha alike."""

import shutil

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2

from sigop.serving.server import Server, ServerConfig

REQUEST, RESPONSE = reflection_pb2.ServerReflectionRequest, reflection_pb2.ServerReflectionResponse


@pytest.fixture(scope="module")
def address(tmp_path_factory, fft_graph_dir):
    graphs = tmp_path_factory.mktemp("reflection")
    shutil.copytree(fft_graph_dir, graphs / "fft")
    server = Server(ServerConfig(graphs=graphs, address="127.0.0.1:0", poll_seconds=0)).start()
    yield server.address
    server.stop(0)


def ask(address: str, version: str, **request) -> RESPONSE:
    with grpc.insecure_channel(address) as channel:
        call = channel.stream_stream(f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
                                     request_serializer=REQUEST.SerializeToString,
                                     response_deserializer=RESPONSE.FromString)
        (reply,) = list(call(iter([REQUEST(**request)]), timeout=30))
    return reply


SYMBOLS = {  # symbol -> the file that must come back first
    "sigop.operator.v1.Operator": "sigop/operator/v1/operator.proto",
    "sigop.operator.v1.Operator.FFT": "sigop/operator/v1/operator.proto",  # a method: "Symbol not found" before
    "sigop.operator.v1.FFTRequest.signals": "sigop/operator/v1/operator.proto",  # a field
    "sigop.operator.v1.Spectrum.SPECTRUM_COMPLEX": "sigop/operator/v1/operator.proto",  # an enum value
    "grpc.health.v1.Health.Check": "grpc_health/v1/health.proto",
    "inference.GRPCInferenceService.ModelInfer": "sigop/inference/open_inference_grpc.proto",
    "inference.ModelInferRequest.InferInputTensor": "sigop/inference/open_inference_grpc.proto",
    "grpc.reflection.v1.ServerReflection.ServerReflectionInfo": "grpc/reflection/v1/reflection.proto",
    "grpc.reflection.v1alpha.ServerReflection": "grpc_reflection/v1alpha/reflection.proto",
}


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_every_symbol_resolves_to_its_file(address, version):
    for symbol, file in SYMBOLS.items():
        reply = ask(address, version, file_containing_symbol=symbol)
        assert reply.WhichOneof("message_response") == "file_descriptor_response", (symbol, reply)
        first = descriptor_pb2.FileDescriptorProto.FromString(reply.file_descriptor_response.file_descriptor_proto[0])
        assert first.name == file, symbol


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_services_are_listed_and_unknown_symbols_are_not_found(address, version):
    listed = {s.name for s in ask(address, version, list_services="").list_services_response.service}
    assert {"sigop.operator.v1.Operator", "grpc.health.v1.Health", "inference.GRPCInferenceService",
            "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"} <= listed
    for symbol in ("sigop.operator.v1.Operator.NoSuchMethod", "sigop.operator.v1.FFTRequest.nope", "no.such.Thing"):
        reply = ask(address, version, file_containing_symbol=symbol)
        assert reply.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0], symbol


def test_the_v1_descriptor_is_v1alpha_renamed(address):
    reply = ask(address, "v1", file_by_filename="grpc/reflection/v1/reflection.proto")
    v1 = descriptor_pb2.FileDescriptorProto.FromString(reply.file_descriptor_response.file_descriptor_proto[0])
    alpha = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(alpha)
    assert v1.package == "grpc.reflection.v1" and v1.service[0].method[0].input_type == ".grpc.reflection.v1.ServerReflectionRequest"
    assert [(m.name, [(f.name, f.number, f.type) for f in m.field]) for m in v1.message_type] == \
        [(m.name, [(f.name, f.number, f.type) for f in m.field]) for m in alpha.message_type]
