"""Import TensorFlow quietly, with its thread pools configured first.

TensorFlow prints pages of start-up notes to stderr unless TF_CPP_MIN_LOG_LEVEL
is set before it is imported, and even then its libraries log a oneDNN note
through absl before absl reads that variable; so it loads with its native
stderr muted (quiet.py). Its thread pools can only be sized before the first
op runs. Every sigop module imports TensorFlow through here.
"""

from __future__ import annotations

from .quiet import native_stderr_muted

with native_stderr_muted():
    import tensorflow as tf  # noqa: E402

__all__ = ["tf", "session_config", "callable_options"]


def session_config(intra_op_threads: int = 0, inter_op_threads: int = 0) -> tf.compat.v1.ConfigProto:
    """A session config with the given thread counts (0 lets TensorFlow choose)."""
    return tf.compat.v1.ConfigProto(
        intra_op_parallelism_threads=intra_op_threads,
        inter_op_parallelism_threads=inter_op_threads,
        allow_soft_placement=True,
    )


def callable_options(feed: str, fetches: list[str]):
    """What ``Session._make_callable_from_options`` runs: one fed tensor, the fetched ones, by name."""
    from tensorflow.core.protobuf import config_pb2

    return config_pb2.CallableOptions(feed=[feed], fetch=fetches)
