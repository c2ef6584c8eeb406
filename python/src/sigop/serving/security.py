"""Transport security and bearer-token authentication for the server."""

from __future__ import annotations

import hmac
from pathlib import Path

import grpc

__all__ = ["TokenAuth", "server_credentials", "read_token", "HEALTH_SERVICE_PREFIX"]

HEALTH_SERVICE_PREFIX = "/grpc.health.v1.Health/"


def read_token(path: Path) -> str:
    """A token from a file (so it never shows in `ps`); surrounding whitespace is dropped."""
    token = Path(path).read_text().strip()
    if not token:
        raise ValueError(f"token file {path} is empty")
    return token


def server_credentials(cert: Path, key: Path, client_ca: Path | None = None) -> grpc.ServerCredentials:
    """TLS with the server's certificate; with client_ca, clients must present a certificate it signed (mTLS)."""
    return grpc.ssl_server_credentials(
        [(Path(key).read_bytes(), Path(cert).read_bytes())],
        root_certificates=Path(client_ca).read_bytes() if client_ca else None,
        require_client_auth=client_ca is not None,
    )


def _deny(handler: grpc.RpcMethodHandler, message: str) -> grpc.RpcMethodHandler:
    def abort(request_or_iterator, context):
        context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(abort)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(abort)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(abort)
    return grpc.unary_unary_rpc_method_handler(abort)


class TokenAuth(grpc.ServerInterceptor):
    """Require ``authorization: Bearer <token>`` on every call but health checks.

    Health stays open so load balancers and Kubernetes probes need no secret;
    it reveals only SERVING or NOT_SERVING. The comparison takes the same
    time whatever the token, so timing tells an attacker nothing.
    """

    def __init__(self, token: str, exempt: tuple[str, ...] = (HEALTH_SERVICE_PREFIX,)):
        self._expected = f"Bearer {token}".encode()
        self._exempt = exempt

    def intercept_service(self, continuation, details):
        handler = continuation(details)
        if handler is None or details.method.startswith(self._exempt):
            return handler
        got = next((v for k, v in details.invocation_metadata if k == "authorization"), None)
        if got is None:
            return _deny(handler, "missing authorization metadata: expected 'authorization: Bearer <token>'")
        if not hmac.compare_digest(got.encode() if isinstance(got, str) else got, self._expected):
            return _deny(handler, "invalid bearer token")
        return handler
