"""gRPC interceptors: every unary call counted, timed and, when it fails, logged."""

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
    """Counts and times every unary call, and those of ``computing`` services in flight; logs each at DEBUG and
    every failure at WARNING."""

    def __init__(self, metrics: Metrics, computing: tuple[str, ...] = ()):
        self._m = metrics
        self._computing = computing  # services whose calls count as in flight (not health's, not reflection's)

    def intercept_service(self, continuation, details):
        handler = continuation(details)
        if handler is None or handler.request_streaming or handler.response_streaming:
            return handler
        service, _, method = details.method.lstrip("/").rpartition("/")
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
                seconds = time.perf_counter() - start
                code = _code_name(context, raised)
                self._m.requests.labels(method, code).inc()
                self._m.latency.labels(method).observe(seconds)
                if code != "OK":
                    log.warning("rpc=%s code=%s ms=%.3f peer=%s details=%r", method, code, 1e3 * seconds,
                                context.peer(), _text(context.details()))
                elif log.isEnabledFor(logging.DEBUG):
                    log.debug("rpc=%s code=OK ms=%.3f peer=%s", method, 1e3 * seconds, context.peer())

        # A behaviour may name its own thread pool (health does); the wrapper must keep it.
        observed.experimental_thread_pool = getattr(inner, "experimental_thread_pool", None)
        return grpc.unary_unary_rpc_method_handler(
            observed, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)
