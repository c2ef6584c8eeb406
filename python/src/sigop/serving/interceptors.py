"""gRPC interceptors: every call counted, timed and, when it fails, logged; streams as unary calls are."""

from __future__ import annotations

import logging
import time

import grpc

from .metrics import Metrics

__all__ = ["MetricsInterceptor"]

log = logging.getLogger("sigop.requests")


def _text(details: str | bytes | None) -> str:
    """A status message as text: grpcio hands back the bytes it sent."""
    return details.decode(errors="replace") if isinstance(details, bytes) else (details or "")


def _code_name(context: grpc.ServicerContext, raised: bool) -> str:
    code = context.code()
    if code is None:
        return "UNKNOWN" if raised else "OK"
    return code.name


class MetricsInterceptor(grpc.ServerInterceptor):
    """Counts and times every call, and unary calls of ``computing`` services in flight (a stream's windows count
    as its own metrics say); logs each at DEBUG and every failure at WARNING. A stream of a ``computing`` service
    (ClassifyStream) is counted when it ends, under its method, with the code it ended with."""

    def __init__(self, metrics: Metrics, computing: tuple[str, ...] = ()):
        self._m = metrics
        self._computing = computing  # services whose calls count as in flight (not health's, not reflection's)

    def intercept_service(self, continuation, details):
        handler = continuation(details)
        if handler is None:
            return handler
        service, _, method = details.method.lstrip("/").rpartition("/")
        if handler.request_streaming and handler.response_streaming and service in self._computing:
            return self._stream(handler, method)
        if handler.request_streaming or handler.response_streaming:
            return handler  # reflection's streams and health's Watch: not the service's work, not counted
        inner = handler.unary_unary
        inflight = self._m.inflight if service in self._computing else None

        def observed(request, context):
            start = time.perf_counter()
            raised = False
            if inflight is not None:
                inflight.inc()
            try:
                return inner(request, context)
            except BaseException:
                raised = True
                raise
            finally:
                if inflight is not None:
                    inflight.dec()
                self._ended(method, context, raised, start)

        # A behaviour may name its own thread pool (health does); the wrapper must keep it.
        observed.experimental_thread_pool = getattr(inner, "experimental_thread_pool", None)
        return grpc.unary_unary_rpc_method_handler(
            observed, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)

    def _stream(self, handler, method: str):
        inner = handler.stream_stream

        def observed(requests, context):
            start, raised = time.perf_counter(), False
            try:
                yield from inner(requests, context)
            except BaseException as e:
                # A client that hangs up closes the generator (GeneratorExit): the stream was cancelled, not failed.
                raised = not isinstance(e, GeneratorExit)
                if not raised and context.code() is None:
                    context.set_code(grpc.StatusCode.CANCELLED)
                raise
            finally:
                self._ended(method, context, raised, start)

        return grpc.stream_stream_rpc_method_handler(
            observed, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)

    def _ended(self, method: str, context: grpc.ServicerContext, raised: bool, start: float) -> None:
        seconds = time.perf_counter() - start
        code = _code_name(context, raised)
        self._m.requests.labels(method, code).inc()
        self._m.latency.labels(method).observe(seconds)
        if code != "OK":
            log.warning("rpc=%s code=%s ms=%.3f peer=%s details=%r", method, code, 1e3 * seconds,
                        context.peer(), _text(context.details()))
        elif log.isEnabledFor(logging.DEBUG):
            log.debug("rpc=%s code=OK ms=%.3f peer=%s", method, 1e3 * seconds, context.peer())
