"""A benchmark's view of a server's Prometheus metrics: one method's call count and time sums."""

from __future__ import annotations

import socket
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

__all__ = ["free_port", "scrape"]


def free_port() -> int:
    """A port nobody listens on now (for --metrics-address; another process could take it first, which a bench
    tolerates)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port: int, method: str) -> dict[str, float]:
    """Calls of ``method`` and their summed whole-call and in-graph seconds, from /metrics on ``port``."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    out = {"request_count": 0.0, "request_sum": 0.0, "compute_sum": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("method") != method:
                continue
            if sample.name == "sigop_request_seconds_count":
                out["request_count"] += sample.value
            elif sample.name == "sigop_request_seconds_sum":
                out["request_sum"] += sample.value
            elif sample.name == "sigop_compute_seconds_sum":
                out["compute_sum"] += sample.value
    return out
