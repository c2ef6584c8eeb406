"""Start a real `sigop serve` for a benchmark and wait on its health check."""

from __future__ import annotations

import subprocess

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sigop.server import OPERATOR_SERVICE

__all__ = ["start_server"]


def start_server(sigop: str, graphs: str, extra: tuple[str, ...] = ()) -> tuple[subprocess.Popen, str]:
    """Start `sigop serve` (with extra flags) on a free port; return once health says SERVING."""
    proc = subprocess.Popen(
        [sigop, "serve", "--graphs", graphs, "--address", "127.0.0.1:0", "--log-level", "WARNING", *extra],
        stdout=subprocess.PIPE, text=True,
    )
    line = proc.stdout.readline()
    if not line.startswith("sigop: listening on "):
        proc.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    address = line.split()[-1]
    with grpc.insecure_channel(address) as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service=OPERATOR_SERVICE), timeout=300, wait_for_ready=True
        )
        for reply in watch:
            if reply.status == health_pb2.HealthCheckResponse.SERVING:
                watch.cancel()
                break
    return proc, address
