"""`sigop serve`'s options and the ServerConfig they make; every default comes from the dataclass that uses it."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["add_serve_parser", "serve_config"]


def serve_config(args: argparse.Namespace):
    """The ServerConfig that `sigop serve` flags ask for."""
    from .limits import MiB, Limits
    from .serving.batching import BatchConfig
    from .serving.config import ServerConfig
    from .serving.security import read_token
    from .serving.shared_memory import SharedMemoryConfig

    return ServerConfig(
        graphs=Path(args.graphs), fft_graph=Path(args.fft_graph) if args.fft_graph else None,
        model_name=args.model_name, address=args.address, max_message_bytes=args.max_message_mib * MiB,
        workers=args.workers, grace_seconds=args.grace, intra_op_threads=args.intra_op_threads,
        inter_op_threads=args.inter_op_threads, poll_seconds=args.poll_seconds,
        tls_cert=args.tls_cert, tls_key=args.tls_key, tls_client_ca=args.tls_client_ca,
        token=read_token(Path(args.token_file)) if args.token_file else None,
        metrics_address=args.metrics_address, runtime=args.runtime, precision=args.precision,
        batching=BatchConfig(max_batch=args.batch_max_size, max_delay=args.batch_timeout_ms / 1000,
                             max_queue=args.batch_max_queue),
        limits=Limits(max_signal_length=args.max_signal_length, max_batch=args.max_batch,
                      max_image_pixels=args.max_image_pixels, compute_batch=args.compute_batch,
                      inflight_bytes=args.max_inflight_mib * MiB, max_streams=args.max_streams,
                      stream_first_message_seconds=args.stream_first_message_seconds,
                      stream_idle_seconds=args.stream_idle_seconds),
        shared_memory=SharedMemoryConfig(Path(args.shared_memory_dir) if args.allow_shared_memory else None,
                                         args.max_shared_memory_regions, args.max_shared_memory_mib * MiB),
    )


def _serve(args: argparse.Namespace) -> int:
    from .serving.server import configure_logging, serve

    configure_logging(args.log_level)
    config = serve_config(args)
    try:
        return serve(config)
    except OSError as e:  # before serving: a used port, a bad address, no graphs
        print(f"sigop serve: {e}", file=sys.stderr)
        return 1


def add_serve_parser(sub) -> None:
    """The serve subcommand. Nothing imported here starts TensorFlow or gRPC."""
    from .limits import MiB, Limits
    from .runtime import RUNTIMES
    from .runtime.litert import PRECISIONS
    from .serving.batching import BatchConfig
    from .serving.config import ServerConfig

    serve_defaults = ServerConfig(graphs=Path())
    S, L, B = serve_defaults, Limits(), BatchConfig()
    s = sub.add_parser("serve", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                       help="serve every graph under --graphs over gRPC")
    s.add_argument("--graphs", default="graphs",
                   help="folder of exported graphs, or one model's folder (KServe's /mnt/models)")
    s.add_argument("--model-name", default=os.environ.get("MODEL_NAME", ""), help="name of the model when --graphs is "
                   "one model's folder (default: $MODEL_NAME, else the manifest's name)")
    s.add_argument("--address", default=S.address, help="host:port to listen on; port 0 picks a free one")
    s.add_argument("--max-message-mib", type=int, default=S.max_message_bytes // MiB,
                   help="max gRPC message size, both ways")
    s.add_argument("--max-signal-length", type=int, default=L.max_signal_length,
                   help="max samples per signal, or frames per sound file by its header")
    s.add_argument("--max-batch", type=int, default=L.max_batch, help="max signals, images or files per call")
    s.add_argument("--max-image-pixels", type=int, default=L.max_image_pixels,
                   help="max pixels per image, checked from its header before decoding")
    s.add_argument("--compute-batch", type=int, default=L.compute_batch,
                   help="inputs decoded and run per graph call: bounds a call's memory")
    s.add_argument("--max-inflight-mib", type=int, default=L.inflight_bytes // MiB,
                   help="decoded input all calls may hold at once; beyond it calls get RESOURCE_EXHAUSTED")
    s.add_argument("--max-streams", type=int, default=L.max_streams,
                   help="ClassifyStream calls open at once, below --workers (each holds a worker while open; "
                   "0: half the workers); beyond it streams get RESOURCE_EXHAUSTED")
    s.add_argument("--stream-first-message-seconds", type=float, default=L.stream_first_message_seconds,
                   help="a stream whose config has not arrived this long after it opened ends with "
                   "DEADLINE_EXCEEDED, freeing its slot")
    s.add_argument("--stream-idle-seconds", type=float, default=L.stream_idle_seconds,
                   help="a stream that sends nothing for this long ends with DEADLINE_EXCEEDED, freeing its slot")
    s.add_argument("--workers", type=int, default=S.workers,
                   help="Operator calls computed at once; health and reflection have threads of their own")
    s.add_argument("--grace", type=float, default=S.grace_seconds, help="seconds in-flight calls get at shutdown")
    s.add_argument("--runtime", choices=RUNTIMES, default=S.runtime,
                   help="what runs classifiers: auto = MiniRocket on compiled loops (minirocket.npz), others on LiteRT "
                   "(model.tflite) where the manifest lists a usable copy, else TensorFlow (graph.pb); tf = TensorFlow "
                   "only; lite = LiteRT or the model does not load; compiled = MiniRocket's compiled form or the "
                   "model does not load. The FFT always runs on TensorFlow")
    s.add_argument("--precision", choices=PRECISIONS, default=S.precision,
                   help="the LiteRT copy to serve: float32 (model.tflite) or int8 (model.int8.tflite; auto falls "
                   "back to float32, then TensorFlow)")
    s.add_argument("--intra-op-threads", type=int, default=S.intra_op_threads,
                   help="TensorFlow intra-op threads, and threads per LiteRT interpreter (0: all cores)")
    s.add_argument("--inter-op-threads", type=int, default=S.inter_op_threads,
                   help="TensorFlow inter-op threads (0: all cores)")
    s.add_argument("--poll-seconds", type=float, default=S.poll_seconds,
                   help="rescan --graphs for new and removed versions this often; 0: only on SIGHUP")
    s.add_argument("--tls-cert", type=Path, help="PEM certificate chain: serve TLS (with --tls-key)")
    s.add_argument("--tls-key", type=Path, help="PEM private key of --tls-cert")
    s.add_argument("--tls-client-ca", type=Path, help="PEM CA: require client certificates it signed (mutual TLS)")
    s.add_argument("--token-file", help="file holding a bearer token every call but health must carry")
    s.add_argument("--batch-max-size", type=int, default=B.max_batch,
                   help="dynamic batching for Classify/ClassifySignal: inputs per graph call (0: off)")
    s.add_argument("--batch-timeout-ms", type=float, default=B.max_delay * 1000,
                   help="longest a request waits for others to fill its batch")
    s.add_argument("--batch-max-queue", type=int, default=B.max_queue,
                   help="inputs waiting at most; beyond it calls get RESOURCE_EXHAUSTED")
    s.add_argument("--metrics-address", default=S.metrics_address,
                   help="host:port (or :port for every interface) to expose Prometheus /metrics on, "
                   "e.g. 127.0.0.1:9464 (empty: off)")
    M = serve_defaults.shared_memory
    s.add_argument("--allow-shared-memory", action="store_true",
                   help="let clients on this host pass signals and spectra through files in --shared-memory-dir "
                   "instead of the wire (RegisterSharedMemory; the Go client's WithSharedMemory)")
    s.add_argument("--shared-memory-dir", default="/dev/shm", help="the only folder shared-memory files may be in")
    s.add_argument("--max-shared-memory-regions", type=int, default=M.max_regions,
                   help="shared-memory regions registered at once")
    s.add_argument("--max-shared-memory-mib", type=int, default=M.max_bytes // MiB,
                   help="shared memory registered at once, all regions together")
    s.add_argument("--fft-graph", default=os.environ.get("SIGOP_FFT_GRAPH", ""),
                   help="folder sigop export-fft wrote, served as 'fft' when --graphs has none (default: "
                   "$SIGOP_FFT_GRAPH, else the same graph exported at start-up)")
    s.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    s.set_defaults(func=_serve)
