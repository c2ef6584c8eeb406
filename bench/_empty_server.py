"""The floor of a Python gRPC call: a server whose one method takes and returns nothing.

It runs grpcio as `sigop serve` does (a thread pool of the same size, the
same message options), so a sigop call's latency minus this one's is what
sigop itself adds.
"""

from __future__ import annotations

from concurrent import futures

import grpc

from sigop.serving.config import ServerConfig

__all__ = ["start_empty_server", "METHOD"]

SERVICE, NAME = "sigop.bench.Empty", "Call"
METHOD = f"/{SERVICE}/{NAME}"  # sigop-bench empty calls it


def start_empty_server() -> tuple[grpc.Server, str]:
    config = ServerConfig(graphs=None)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=config.workers),
                         options=[("grpc.max_send_message_length", config.max_message_bytes),
                                  ("grpc.max_receive_message_length", config.max_message_bytes),
                                  ("grpc.so_reuseport", 0)])
    empty = grpc.unary_unary_rpc_method_handler(lambda request, context: b"")  # bytes in and out: nothing parsed
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, {NAME: empty})])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"
