"""Build and run the gRPC server: Operator service, Open Inference Protocol, health, reflection.

Health answers NOT_SERVING until every graph is loaded and warmed up (the
first call into a fresh graph is several times slower than the next), and goes
back to NOT_SERVING as soon as shutdown starts so balancers stop sending.
Health and reflection run on threads of their own (see health.py), so probes
are answered at once however busy the workers are. A port is never shared:
a second server on a used port fails before it says it is listening.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import signal
import sys
import threading
from concurrent import futures
from dataclasses import replace
from typing import Callable

import grpc
from grpc_health.v1 import health_pb2

from ..inference import open_inference_grpc_pb2_grpc as oip_grpc
from ..operator.v1 import operator_pb2_grpc as pb_grpc
from ..runtime.fft import use_fft_folder
from .config import OPERATOR_SERVICE, ServerConfig
from .health import SERVICE_NAME as HEALTH_SERVICE
from .health import Health
from .core import Core
from .interceptors import MalformedRequests, MetricsInterceptor
from .metrics import Metrics, parse_address
from .oip_plane import Plane
from .oip_service import SERVICE_NAME as INFERENCE_SERVICE
from .oip_service import InferenceService
from .reflection import add_reflection
from .repository import ModelRepository
from .security import TokenAuth, server_credentials
from .service import OperatorService
from .shared_memory import SharedMemory

__all__ = ["ServerConfig", "Server", "serve", "OPERATOR_SERVICE"]

log = logging.getLogger(__name__)

SWEEP_SECONDS = 2.0  # how soon a gone client's shared memory is released (register and status calls sweep at once)


class Server:
    """A started sigop server; ``port`` is the bound port (useful with :0)."""

    def __init__(self, config: ServerConfig):
        self.config = config
        config.limits.check(config.batching)
        if config.limits.max_streams >= config.workers:
            raise ValueError(f"--max-streams {config.limits.max_streams} must stay below --workers {config.workers}: "
                             f"each open stream holds a worker, and unary calls need one too")
        # Streams may hold half the workers unless told otherwise: the other half stay for unary calls.
        limits = config.limits if config.limits.max_streams else replace(config.limits, max_streams=config.workers // 2)
        warm_batch = max(config.limits.compute_batch, config.batching.max_batch if config.batching.enabled else 1)
        if config.fft_graph:
            use_fft_folder(config.fft_graph)
        self.models = ModelRepository(config.graphs, intra_op_threads=config.intra_op_threads,
                                      inter_op_threads=config.inter_op_threads, warm_batch=warm_batch,
                                      runtime=config.runtime, precision=config.precision,
                                      model_name=config.model_name)
        metrics_host_port = parse_address(config.metrics_address, "--metrics-address") if config.metrics_address else None
        options = [
            ("grpc.max_send_message_length", config.max_message_bytes),
            ("grpc.max_receive_message_length", config.max_message_bytes),
            # gRPC sets SO_REUSEPORT by default: a second server on a used port would bind
            # and silently take part of the new connections.
            ("grpc.so_reuseport", 0),
        ]
        self.metrics = Metrics()
        # Outermost first: the metrics see every call, refused ones included.
        interceptors = [MetricsInterceptor(self.metrics, computing=(OPERATOR_SERVICE, INFERENCE_SERVICE))]
        interceptors += [TokenAuth(config.token)] if config.token else []
        interceptors += [MalformedRequests()]  # innermost: only the method's handler parses its requests
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="worker"),
                                 options=options, interceptors=interceptors)
        self.core = Core(self.models, limits, self.metrics, config.batching)
        self.shared_memory = SharedMemory(config.shared_memory)
        self.service = OperatorService(self.core, self.shared_memory)
        pb_grpc.add_OperatorServicer_to_server(self.service, self._grpc)
        self.health = Health()
        self.health.add_to_server(self._grpc)
        # The Open Inference Protocol on the same port: ready exactly when health says SERVING.
        serving = lambda: self.health.status() == health_pb2.HealthCheckResponse.SERVING  # noqa: E731
        self.inference = InferenceService(Plane(self.core), serving)
        oip_grpc.add_GRPCInferenceServiceServicer_to_server(self.inference, self._grpc)
        add_reflection(self._grpc, (OPERATOR_SERVICE, INFERENCE_SERVICE, HEALTH_SERVICE), self.health.pool)
        self._set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
        if config.tls_cert or config.tls_key:
            if not (config.tls_cert and config.tls_key):
                raise ValueError("TLS needs both a certificate and its key")
            creds = server_credentials(config.tls_cert, config.tls_key, config.tls_client_ca)
            bind = lambda: self._grpc.add_secure_port(config.address, creds)  # noqa: E731
        elif config.tls_client_ca:
            raise ValueError("a client CA (mutual TLS) needs the server's own certificate and key too")
        else:
            bind = lambda: self._grpc.add_insecure_port(config.address)  # noqa: E731
        try:
            self.port = bind()
        except RuntimeError:  # grpcio raises a bare "Failed to bind"
            self.port = 0
        if self.port == 0:
            raise OSError(f"cannot listen on {config.address}: the address is in use (another server?) or not "
                          f"this machine's")
        host = config.address.rsplit(":", 1)[0]
        self.address = f"{host}:{self.port}"
        if metrics_host_port is not None:  # bound now, so a bad or used port fails before anyone is told we listen
            self.metrics_port = self.metrics.serve_http(*metrics_host_port)
        self._stopped = threading.Event()
        self._poller: threading.Thread | None = None

    def _set_health(self, status: int) -> None:
        for name in ("", OPERATOR_SERVICE, INFERENCE_SERVICE):
            self.health.set(name, status)

    def start(self, on_listening: Callable[[str], None] | None = None) -> "Server":
        """Listen, warm the graphs up, then report SERVING.

        ``on_listening`` is called with the bound address as soon as the port
        accepts calls, before warm-up: readiness is the health service's to say.
        """
        self._grpc.start()
        if on_listening is not None:
            on_listening(self.address)
        self.models.refresh()  # loads and warms up every graph
        if not self.models.on_disk():  # an empty or wrong --graphs is a mistake, even though the FFT is built in
            self.stop(0)
            raise FileNotFoundError(f"no loadable graph (folder with manifest.json) under {self.config.graphs}")
        self._count_models()
        if self.config.metrics_address:
            log.info("metrics on http://%s:%d/metrics", self.config.metrics_address.rpartition(":")[0] or "0.0.0.0",
                     self.metrics_port)
        self._set_health(health_pb2.HealthCheckResponse.SERVING)
        log.info("serving %s on %s", ", ".join(self.models.names()), self.address)
        if self.config.poll_seconds > 0:
            self._poller = threading.Thread(target=self._poll, name="graphs-poller", daemon=True)
            self._poller.start()
        if self.config.shared_memory.enabled:
            threading.Thread(target=self._sweep, name="shared-memory-sweeper", daemon=True).start()
        return self

    def _sweep(self) -> None:
        """Release the shared-memory regions of clients that have gone, every few seconds."""
        while not self._stopped.wait(SWEEP_SECONDS):
            if released := self.shared_memory.sweep():
                log.info("released %d shared-memory region(s) of clients that have gone", released)

    def reload(self) -> None:
        """Rescan graphs/ now (SIGHUP, or the poller)."""
        try:
            if self.models.refresh():
                log.info("models now: %s", ", ".join(self.models.names()))
                self._count_models()
                self.core.release_unloaded()
                _release_memory()
        except Exception:  # a reload must never take the server down
            log.exception("reloading %s failed; serving what was loaded", self.config.graphs)

    def _count_models(self) -> None:
        self.metrics.models_loaded.set(
            sum(s.model is not None for versions in self.models.status().values() for s in versions.values()))

    def _poll(self) -> None:
        while not self._stopped.wait(self.config.poll_seconds):
            self.reload()

    def stop(self, grace: float | None = None) -> None:
        """Refuse new calls, let in-flight ones finish within ``grace`` seconds."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.health.enter_graceful_shutdown()
        self._grpc.stop(self.config.grace_seconds if grace is None else grace).wait()
        self.core.close()
        self.shared_memory.close()
        self.models.close()
        self.metrics.close()
        self.health.close()
        log.info("stopped")


def _release_memory() -> None:
    """Free replaced graphs now and hand the memory back to the system.

    TensorFlow graphs are full of reference cycles, so a replaced one would
    wait for some later full collection; and glibc keeps freed memory in
    per-thread arenas unless asked to trim them, so RSS would grow with
    every reload even once the graph is gone.
    """
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def serve(config: ServerConfig) -> int:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    server = Server(config)
    done = threading.Event()

    def on_signal(signum, _frame):
        log.info("%s: finishing in-flight calls (grace %.0fs)", signal.Signals(signum).name, config.grace_seconds)
        threading.Thread(target=lambda: (server.stop(), done.set()), daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # SIGHUP rescans graphs/ at once instead of waiting for the next poll.
    signal.signal(signal.SIGHUP, lambda *_: threading.Thread(target=server.reload, daemon=True).start())
    # One machine-readable line on stdout; everything else is logged to stderr.
    server.start(on_listening=lambda addr: print(f"sigop: listening on {addr}", flush=True))
    done.wait()
    return 0


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        stream=sys.stderr, level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
