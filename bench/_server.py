"""Start a real `sigop serve` for a benchmark and wait on its health check."""

from __future__ import annotations

import subprocess

from sigop.serving.process import ServerProcess

__all__ = ["start_server"]


def start_server(sigop: str, graphs: str, extra: tuple[str, ...] = ()) -> tuple[subprocess.Popen, str]:
    """Start `sigop serve` (with extra flags) on a free port; return once health says SERVING."""
    server = ServerProcess(sigop, graphs, "--log-level", "WARNING", *extra)
    return server.proc, server.address
