"""How a server is run: every `sigop serve` flag's field and default, stated once.

Nothing here imports TensorFlow or gRPC, so the command line can show these
defaults without starting either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..limits import MiB, Limits
from ..operator.v1 import operator_pb2 as pb
from .batching import BatchConfig
from .shared_memory import SharedMemoryConfig

__all__ = ["ServerConfig", "OPERATOR_SERVICE"]

OPERATOR_SERVICE = pb.DESCRIPTOR.services_by_name["Operator"].full_name  # what health reports readiness for


@dataclass
class ServerConfig:
    graphs: Path
    address: str = "127.0.0.1:50051"
    fft_graph: Path | None = None  # the FFT when graphs/ has none: this export-fft folder, else exported at start-up
    model_name: str = ""  # the name of the one model a --graphs folder that is one model serves (KServe's MODEL_NAME)
    max_message_bytes: int = 64 * MiB  # gRPC's own default, 4 MiB, would refuse a 2^19-point signal
    workers: int = 8  # Operator calls computed at once; health and reflection have threads of their own
    grace_seconds: float = 30.0
    intra_op_threads: int = 0  # TensorFlow's intra-op threads and each LiteRT interpreter's (0: all cores)
    inter_op_threads: int = 0
    poll_seconds: float = 10.0  # how often graphs/ is rescanned for new or removed versions (0: never)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None  # set: clients need a certificate it signed (mutual TLS)
    token: str | None = None  # set: every call but health needs "authorization: Bearer <token>"
    metrics_address: str = ""  # host:port for Prometheus /metrics; empty: not exposed
    runtime: str = "auto"  # one of runtime.load.RUNTIMES
    precision: str = "float32"  # which LiteRT copy: float32 (model.tflite) or int8 (model.int8.tflite)
    batching: BatchConfig = field(default_factory=BatchConfig)  # for Classify and ClassifySignal
    limits: Limits = field(default_factory=Limits)
    shared_memory: SharedMemoryConfig = field(default_factory=SharedMemoryConfig)  # off unless given a directory
