"""The ``sigop`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__all__ = ["main"]


def _export_fft(args: argparse.Namespace) -> int:
    from .fftgraph import export_fft

    manifest = export_fft(Path(args.out), name=args.name)
    print(f"wrote {Path(args.out) / manifest.graph} (sha256 {manifest.sha256[:12]}…) and manifest.json")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .server import ServerConfig, configure_logging, serve
    from .service import Limits

    configure_logging(args.log_level)
    config = ServerConfig(
        graphs=Path(args.graphs),
        address=args.address,
        max_message_bytes=args.max_message_mib << 20,
        workers=args.workers,
        grace_seconds=args.grace,
        intra_op_threads=args.intra_op_threads,
        inter_op_threads=args.inter_op_threads,
        limits=Limits(max_signal_length=args.max_signal_length, max_batch=args.max_batch),
    )
    return serve(config)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sigop", description="Signal operators as frozen TensorFlow graphs over gRPC.")
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser("export-fft", help="export the FFT as a frozen graph with its manifest")
    e.add_argument("--out", default="graphs/fft", help="output folder (default: graphs/fft)")
    e.add_argument("--name", default="fft", help="model name recorded in the manifest (default: fft)")
    e.set_defaults(func=_export_fft)

    s = sub.add_parser("serve", help="serve every graph under --graphs over gRPC")
    s.add_argument("--graphs", default="graphs", help="folder of exported graphs (default: graphs)")
    s.add_argument("--address", default="127.0.0.1:50051", help="host:port to listen on; port 0 picks a free one")
    s.add_argument("--max-message-mib", type=int, default=64, help="max gRPC message size, both ways (default: 64)")
    s.add_argument("--max-signal-length", type=int, default=1 << 22, help="max samples per signal (default: 4194304)")
    s.add_argument("--max-batch", type=int, default=4096, help="max signals per call (default: 4096)")
    s.add_argument("--workers", type=int, default=8, help="concurrent RPC worker threads (default: 8)")
    s.add_argument("--grace", type=float, default=30.0, help="seconds in-flight calls get at shutdown (default: 30)")
    s.add_argument("--intra-op-threads", type=int, default=0, help="TensorFlow intra-op threads (0: all cores)")
    s.add_argument("--inter-op-threads", type=int, default=0, help="TensorFlow inter-op threads (0: all cores)")
    s.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR (default: INFO)")
    s.set_defaults(func=_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
