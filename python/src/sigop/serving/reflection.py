"""gRPC server reflection, both ``grpc.reflection.v1`` and ``v1alpha``, resolving every symbol.

grpcio-reflection's servicer asks the protobuf pool for the file holding a
symbol, and the pool (upb) knows services, messages and enums but not their
members: ``describe sigop.operator.v1.Operator.FFT`` was "Symbol not found",
so grpcurl and ghz could not call a method by reflection alone. Here a
member (a method, a field, an enum value, a nested type) resolves to the file
of the service, message or enum that holds it, as grpc-go and grpc-java do.

grpcio-reflection also serves only ``v1alpha``, while current clients ask for
``v1`` first. The two services carry the same messages under two package
names (grpc's reflection.proto was promoted unchanged), so ``v1`` is answered
by the same servicer, its requests read and replies written with the v1alpha
classes, and its file descriptor is v1alpha's renamed, so ``describe`` of the
v1 service works too.
"""

from __future__ import annotations

from concurrent import futures

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection, reflection_pb2
from grpc_reflection.v1alpha._base import BaseReflectionServicer

__all__ = ["V1_SERVICE", "V1ALPHA_SERVICE", "add_reflection"]

V1ALPHA_SERVICE = reflection.SERVICE_NAME
V1_SERVICE = "grpc.reflection.v1.ServerReflection"
_V1_FILE = "grpc/reflection/v1/reflection.proto"


def _v1_descriptor(pool: descriptor_pool.DescriptorPool) -> None:
    """Add grpc.reflection.v1's file to ``pool``: v1alpha's, renamed (idempotent)."""
    try:
        pool.FindFileByName(_V1_FILE)
        return
    except KeyError:
        pass
    proto = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(proto)
    proto.name, proto.package = _V1_FILE, "grpc.reflection.v1"
    proto.ClearField("options")
    alpha, v1 = ".grpc.reflection.v1alpha.", ".grpc.reflection.v1."
    for message in proto.message_type:
        for field in message.field:
            if field.HasField("type_name"):
                field.type_name = field.type_name.replace(alpha, v1)
    for service in proto.service:
        for method in service.method:
            method.input_type = method.input_type.replace(alpha, v1)
            method.output_type = method.output_type.replace(alpha, v1)
    pool.Add(proto)


class _Servicer(reflection.ReflectionServicer):
    """grpcio-reflection's servicer, with members of services, messages and enums resolved to their file."""

    def _file_containing_symbol(self, request, fully_qualified_name):
        return super()._file_containing_symbol(request, self._owner(fully_qualified_name))

    def _owner(self, name: str) -> str:
        """``name`` if the pool knows it; else the enclosing service, message or enum that has it as a member."""
        pool = self._pool
        try:
            pool.FindFileContainingSymbol(name)
            return name
        except KeyError:
            pass
        parent, _, member = name.rpartition(".")
        for find, has in ((pool.FindServiceByName, lambda d: member in d.methods_by_name),
                          (pool.FindMessageTypeByName, lambda d: member in d.fields_by_name
                           or member in d.nested_types_by_name or member in d.enum_types_by_name
                           or member in d.oneofs_by_name),
                          (pool.FindEnumTypeByName, lambda d: member in d.values_by_name)):
            try:
                if has(find(parent)):
                    return parent
            except KeyError:
                continue
        return name  # unknown: the servicer answers NOT_FOUND


def add_reflection(server: grpc.Server, services: tuple[str, ...], pool: futures.ThreadPoolExecutor) -> None:
    """Serve reflection v1 and v1alpha for ``services`` (and themselves), on ``pool`` rather than the workers."""
    _v1_descriptor(descriptor_pool.Default())
    servicer = _Servicer(tuple(services) + (V1_SERVICE, V1ALPHA_SERVICE))

    def info(request_iterator, context):
        return servicer.ServerReflectionInfo(request_iterator, context)

    info.experimental_thread_pool = pool
    handler = grpc.stream_stream_rpc_method_handler(info, reflection_pb2.ServerReflectionRequest.FromString,
                                                    reflection_pb2.ServerReflectionResponse.SerializeToString)
    server.add_generic_rpc_handlers(tuple(grpc.method_handlers_generic_handler(name, {"ServerReflectionInfo": handler})
                                          for name in (V1_SERVICE, V1ALPHA_SERVICE)))
