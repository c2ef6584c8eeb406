"""Exceptions to gRPC status codes, in one place for every RPC.

An input can never surface as UNKNOWN or leak an internal message: a fault
the mapping does not know is INTERNAL with a generic message, and its
traceback goes to the log. Every message is cut to MAX_MESSAGE_BYTES here,
whatever built it: gRPC clients refuse trailers over 16 KiB (grpc-message
is percent-encoded, up to 3 bytes a byte), and a longer message would turn
the code the server chose into RESOURCE_EXHAUSTED on the client's side.
"""

from __future__ import annotations

import functools
import logging
import time

import grpc

from ..audio import AudioError
from ..images import ImageError
from ..inputs import InvalidInput, Unsupported
from ..limits import OverBudget, StreamIdle, StreamLimit, TooLarge
from .batching import Expired, QueueFull, Unloaded
from .core import Call
from .errors import ModelNotFound
from .shared_memory import RegionExists

__all__ = ["rpc", "rpc_stream", "call_of", "MAX_MESSAGE_BYTES"]

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 2048  # UTF-8; a status message's bound


def _bounded(message: str) -> str:
    """``message`` cut to MAX_MESSAGE_BYTES of UTF-8 (on a character boundary), saying that it was."""
    data = message.encode()
    if len(data) <= MAX_MESSAGE_BYTES:
        return message
    return data[:MAX_MESSAGE_BYTES - 40].decode(errors="ignore") + f"… (message cut from {len(data):,} bytes)"


_CODES = (
    ((InvalidInput, ImageError, AudioError, TooLarge), grpc.StatusCode.INVALID_ARGUMENT),
    ((ModelNotFound,), grpc.StatusCode.NOT_FOUND),
    ((RegionExists,), grpc.StatusCode.ALREADY_EXISTS),
    ((Unsupported,), grpc.StatusCode.FAILED_PRECONDITION),
    ((OverBudget, QueueFull, StreamLimit), grpc.StatusCode.RESOURCE_EXHAUSTED),
    ((Unloaded,), grpc.StatusCode.UNAVAILABLE),  # clients retry it, on this replica or another
    ((StreamIdle,), grpc.StatusCode.DEADLINE_EXCEEDED),  # the server's wait for the client's next message
)


def call_of(context: grpc.ServicerContext) -> Call:
    """The core's view of a call: its deadline and whether its client still waits."""
    remaining = context.time_remaining()  # no deadline: None or a huge number, depending on the version
    return Call(None if remaining is None or remaining > 1e6 else time.monotonic() + remaining, context.is_active)


def _abort(e: BaseException, context: grpc.ServicerContext, name: str) -> None:
    """End the call with e's status code (context.abort raises)."""
    if isinstance(e, Expired):
        context.abort(grpc.StatusCode.DEADLINE_EXCEEDED if context.is_active() else grpc.StatusCode.CANCELLED,
                      _bounded(str(e)))
    if context.code() is not None:  # context.abort() already chose the status
        raise e
    for types, code in _CODES:
        if isinstance(e, types):
            context.abort(code, _bounded(str(e)))
    if isinstance(e, MemoryError):
        context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "the server ran out of memory for this call")
    log.error("%s failed inside the server", name, exc_info=e)
    context.abort(grpc.StatusCode.INTERNAL, f"internal error in {name}; see the server log")


def rpc(handler):
    """Map the domain's exceptions to status codes; anything else is INTERNAL, logged with its traceback."""

    @functools.wraps(handler)
    def wrapped(self, request, context: grpc.ServicerContext):
        try:
            return handler(self, request, context)
        except Exception as e:
            _abort(e, context, handler.__name__)

    return wrapped


def rpc_stream(handler):
    """rpc for a handler that yields its responses: what it yielded before the failure has been sent."""

    @functools.wraps(handler)
    def wrapped(self, requests, context: grpc.ServicerContext):
        try:
            yield from handler(self, requests, context)
        except grpc.RpcError as e:
            if context.is_active():
                _abort(e, context, handler.__name__)
            # Reading the next request failed because the client cancelled or its deadline passed: nobody to answer.
            log.debug("%s ended by the client: %s", handler.__name__, context.code() or "cancelled")
        except Exception as e:
            _abort(e, context, handler.__name__)

    return wrapped
