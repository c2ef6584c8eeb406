"""grpc.health.v1 that never blocks gRPC's event thread and never waits behind work.

Why not grpcio-health-checking's HealthServicer: its ``set`` sends every
watcher its update while holding the lock that a Watch stream's close
callback takes, and that callback runs on the server's one event-loop
thread. A client closing a Watch while the status changes (as a replica turns
SERVING on a busy machine) then deadlocks the whole server: it accepts
connections and answers nothing, and balanced clients hang on it until their
deadlines. Here the lock only guards the tables; sends happen outside it,
each watcher serialised by its own lock and always sent the newest status.

Check and Watch run on a small thread pool of their own, so a server whose
workers are all busy computing still answers its probes at once.
"""

from __future__ import annotations

import threading
from concurrent import futures

import grpc
from grpc_health.v1 import health_pb2

__all__ = ["Health", "SERVICE_NAME"]

SERVICE_NAME = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN


class _Watcher:
    def __init__(self, service: str, send):
        self.service, self._send = service, send
        self._lock = threading.Lock()
        self._sent = None

    def update(self, status_of) -> None:
        """Send the service's current status unless this watcher has it already."""
        with self._lock:
            status = status_of(self.service)
            if status != self._sent:
                self._sent = status
                self._send(health_pb2.HealthCheckResponse(status=status))


class Health:
    def __init__(self, threads: int = 2):
        self._lock = threading.Lock()  # guards the two tables below, never held while sending
        self._status: dict[str, int] = {}
        self._watchers: set[_Watcher] = set()
        self._shutting_down = False
        self.pool = futures.ThreadPoolExecutor(max_workers=threads, thread_name_prefix="health")

    def add_to_server(self, server: grpc.Server) -> None:
        """Register Check and Watch, each run on this servicer's own thread pool."""
        def check(request, context):
            return self.Check(request, context)

        def watch(request, context, send_response_callback=None):
            return self.Watch(request, context, send_response_callback)

        # grpcio runs a handler on the pool its behaviour names (_select_thread_pool_for_behavior),
        # and a non-blocking Watch returns at once instead of holding a thread for the stream's life.
        check.experimental_thread_pool = watch.experimental_thread_pool = self.pool
        watch.experimental_non_blocking = True
        request, response = health_pb2.HealthCheckRequest.FromString, health_pb2.HealthCheckResponse.SerializeToString
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, {
            "Check": grpc.unary_unary_rpc_method_handler(check, request, response),
            "Watch": grpc.unary_stream_rpc_method_handler(watch, request, response),
        }),))

    def _status_of(self, service: str) -> int:
        with self._lock:
            return self._status.get(service, SERVICE_UNKNOWN)

    def status(self, service: str = "") -> int:
        """The service's status now (SERVICE_UNKNOWN for one never set)."""
        return self._status_of(service)

    def Check(self, request, context):
        with self._lock:
            status = self._status.get(request.service)
        if status is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        return health_pb2.HealthCheckResponse(status=status)

    def Watch(self, request, context, send_response_callback=None):
        if send_response_callback is None:
            raise RuntimeError("sigop's health Watch needs grpcio's non-blocking streaming")
        watcher = _Watcher(request.service, send_response_callback)
        with self._lock:
            self._watchers.add(watcher)

        def closed():  # on gRPC's event thread: take the lock briefly, send nothing
            with self._lock:
                self._watchers.discard(watcher)

        context.add_callback(closed)
        watcher.update(self._status_of)

    def set(self, service: str, status: int) -> None:
        with self._lock:
            if self._shutting_down:
                return
            self._status[service] = status
            watchers = [w for w in self._watchers if w.service == service]
        for w in watchers:
            w.update(self._status_of)

    def enter_graceful_shutdown(self) -> None:
        """NOT_SERVING for every service from now on; later set() calls are ignored."""
        with self._lock:
            self._shutting_down = True
            self._status = {s: NOT_SERVING for s in self._status}
            watchers = list(self._watchers)
        for w in watchers:
            w.update(self._status_of)

    def close(self) -> None:
        self.pool.shutdown(wait=False)
