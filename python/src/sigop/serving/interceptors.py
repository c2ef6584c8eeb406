"""gRPC interceptors: every call counted, timed and, when it fails, logged (streams as unary calls are); a request
whose bytes do not parse is INVALID_ARGUMENT, not grpcio's INTERNAL."""

from __future__ import annotations

import logging
import time

import grpc

from .metrics import Metrics

__all__ = ["MetricsInterceptor", "MalformedRequests"]

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


class _Malformed:
    """A request message whose bytes did not parse: what the tolerant deserializer hands the behaviour."""

    def __init__(self, error: Exception):
        self.error = error


def _tolerant(deserialize):
    def parse(data: bytes):
        try:
            return deserialize(data)
        except Exception as e:  # protobuf's DecodeError: truncated, a wrong wire type, a string not UTF-8
            return _Malformed(e)

    return parse


def _refuse(context: grpc.ServicerContext, request: _Malformed) -> None:
    context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                  f"the request is not a valid protobuf message of this method's type ({type(request.error).__name__}"
                  f"; strings must be UTF-8)")


class MalformedRequests(grpc.ServerInterceptor):
    """grpcio answers a request it cannot deserialize with INTERNAL ("Exception deserializing request!"), the
    code for a server fault; this parses with the method's own deserializer and, when that fails, ends the call
    with INVALID_ARGUMENT instead (in a stream, at the message that failed)."""

    def intercept_service(self, continuation, details):
        handler = continuation(details)
        if handler is None or handler.request_deserializer is None:
            return handler
        kind = ("stream" if handler.request_streaming else "unary") + "_" + \
            ("stream" if handler.response_streaming else "unary")
        inner = getattr(handler, kind)
        if handler.request_streaming:
            def behaviour(requests, context, *args, **kwargs):
                def checked():
                    for r in requests:
                        if isinstance(r, _Malformed):
                            _refuse(context, r)
                        yield r
                return inner(checked(), context, *args, **kwargs)
        else:
            def behaviour(request, context, *args, **kwargs):  # health's non-blocking Watch takes a callback too
                if isinstance(request, _Malformed):
                    _refuse(context, request)
                return inner(request, context, *args, **kwargs)
        for name in ("experimental_thread_pool", "experimental_non_blocking"):  # how grpcio runs the behaviour
            if hasattr(inner, name):
                setattr(behaviour, name, getattr(inner, name))
        return handler._replace(request_deserializer=_tolerant(handler.request_deserializer), **{kind: behaviour})
