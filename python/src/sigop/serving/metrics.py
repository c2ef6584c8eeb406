"""Prometheus metrics: what the serving core and the gRPC front end count and time.

Exposed on their own HTTP port (sigop serve --metrics-address):

- ``sigop_requests_total{method,code}``: calls by RPC and status code;
- ``sigop_request_seconds{method}``: whole-call latency;
- ``sigop_compute_seconds{model,method}``: time inside a graph (method: the RPC; ``batch`` for a batcher's
  merged run; ``render`` for the FFT graph drawing a spectrum model's images);
- ``sigop_queue_seconds{model}``: time a request waited for a batch;
- ``sigop_batch_size{model}``: requests merged into one graph call;
- ``sigop_inflight_calls``: unary Operator and Open Inference Protocol calls computing now (deploy/'s autoscaler
  scales on it);
- ``sigop_models_loaded``: model versions serving;
- ``sigop_streams_open``, ``sigop_stream_windows_total{model}``, ``sigop_stream_window_seconds{model}``: streams;
- ``sigop_unknown_score{model}``: the unknown score of every input a model with one classified (its threshold
  is near 1: scores are in units of the calibration's 95th percentile), so drift shows;
- ``sigop_unknown_answers_total{model}``: inputs over their model's threshold;
- ``process_*``: the server process's memory, CPU and file descriptors (prometheus-client's process collector).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, start_http_server

__all__ = ["Metrics", "parse_address"]

_UNKNOWN_BUCKETS = (0.25, 0.5, 0.75, 0.9, 1, 1.1, 1.25, 1.5, 2, 3, 5, 10)
_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)
        self.requests = Counter("sigop_requests", "Calls by RPC and status code", ["method", "code"], registry=r)
        self.latency = Histogram("sigop_request_seconds", "Whole-call latency", ["method"], buckets=_LATENCY_BUCKETS,
                                 registry=r)
        self.compute = Histogram("sigop_compute_seconds", "Time inside a graph", ["model", "method"],
                                 buckets=_LATENCY_BUCKETS, registry=r)
        self.queue = Histogram("sigop_queue_seconds", "Time a request waited for a batch", ["model"],
                               buckets=_LATENCY_BUCKETS, registry=r)
        self.batch_size = Histogram("sigop_batch_size", "Requests merged into one graph call", ["model"],
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128), registry=r)
        self.inflight = Gauge("sigop_inflight_calls", "Unary Operator and Open Inference Protocol calls being "
                              "computed now (at most --workers); what the HorizontalPodAutoscaler in deploy/ scales on",
                              registry=r)
        self.models_loaded = Gauge("sigop_models_loaded", "Model versions serving", registry=r)
        self.streams_open = Gauge("sigop_streams_open", "ClassifyStream calls open", registry=r)
        self.stream_windows = Counter("sigop_stream_windows", "Windows classified in streams", ["model"], registry=r)
        self.stream_window_seconds = Histogram(
            "sigop_stream_window_seconds", "From a window's last sample arriving to its result being sent", ["model"],
            buckets=_LATENCY_BUCKETS, registry=r)
        self.unknown_score = Histogram("sigop_unknown_score", "Unknown score of each classified input (above the "
                                       "model's threshold, near 1: unlike its training data)", ["model"],
                                       buckets=_UNKNOWN_BUCKETS, registry=r)
        self.unknown_answers = Counter("sigop_unknown_answers", "Inputs over their model's unknown threshold",
                                       ["model"], registry=r)
        self._http = None

    def serve_http(self, host: str, port: int) -> int:
        """Expose /metrics on host:port (port 0 picks one); returns the port. Raises OSError if it cannot bind."""
        try:
            self._http, _ = start_http_server(port, addr=host, registry=self.registry)
        except OSError as e:
            raise OSError(f"cannot serve metrics on {host}:{port}: {e.strerror or e}") from None
        return self._http.server_port

    def close(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None


def parse_address(address: str, flag: str) -> tuple[str, int]:
    """'host:port', ':port' (every interface) or '[::1]:port' -> (host, port); ValueError names the flag."""
    host, sep, port = address.rpartition(":")
    if not sep or not (port.isascii() and port.isdigit()) or len(port) > 5 or int(port) > 65535:
        raise ValueError(f"{flag} {address!r}: expected host:port or :port (port 0-65535)")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)
