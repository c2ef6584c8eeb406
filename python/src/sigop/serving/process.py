"""Run a real ``sigop serve`` as a child process, for benchmarks and tests (Go has go/serverproc).

Readiness is observed, never guessed: the server binds port 0, prints the
address on its first stdout line, and ``start`` then follows the health
service's Watch stream until the Operator service is SERVING. The server's
log is kept line by line, and its memory and threads can be read from /proc.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from .config import OPERATOR_SERVICE

__all__ = ["ServerProcess"]

LISTENING = "sigop: listening on "


class ServerProcess:
    def __init__(self, sigop: str | Path, graphs: str | Path, *args: str, timeout: float = 300):
        """Start ``sigop serve --graphs graphs *args`` on a free port; return once health says SERVING."""
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([str(sigop), "serve", "--graphs", str(graphs), "--address", "127.0.0.1:0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.log: list[str] = []
        self._log_changed = threading.Condition()
        threading.Thread(target=self._read_log, daemon=True).start()
        line = self.proc.stdout.readline()
        if not line.startswith(LISTENING):
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"server did not start: {line!r}; its log:\n" + "\n".join(self.log[-20:]))
        self.address = line[len(LISTENING):].strip()
        with grpc.insecure_channel(self.address) as channel:
            watch = health_pb2_grpc.HealthStub(channel).Watch(
                health_pb2.HealthCheckRequest(service=OPERATOR_SERVICE), timeout=timeout, wait_for_ready=True)
            for reply in watch:
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    watch.cancel()
                    break

    def _read_log(self) -> None:
        for line in self.proc.stderr:
            with self._log_changed:
                self.log.append(line.rstrip("\n"))
                self._log_changed.notify_all()

    def wait_for_log(self, text: str, after: int = 0, timeout: float = 120) -> int:
        """Wait until a log line from index ``after`` on contains ``text``; returns the index after it."""
        def found():
            return next((i + 1 for i in range(after, len(self.log)) if text in self.log[i]), None)

        with self._log_changed:
            if not self._log_changed.wait_for(lambda: found() is not None or self.proc.poll() is not None, timeout):
                raise TimeoutError(f"no log line with {text!r} within {timeout}s")
            index = found()
        if index is None:
            raise RuntimeError(f"server exited ({self.proc.returncode}) before logging {text!r}")
        return index

    @property
    def pid(self) -> int:
        return self.proc.pid

    def status(self, field: str) -> int:
        """A number from /proc/<pid>/status: VmRSS and VmHWM (peak) in KiB, Threads."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise KeyError(field)

    def mib(self, field: str = "VmRSS") -> float:
        return self.status(field) / 1024

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM (graceful), SIGKILL after ``timeout``; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
