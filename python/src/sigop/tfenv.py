"""Import TensorFlow quietly, with its thread pools configured first.

TensorFlow prints pages of start-up notes to stderr unless TF_CPP_MIN_LOG_LEVEL
is set before it is imported, and its thread pools can only be sized before
the first op runs. Every sigop module imports TensorFlow through here.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

__all__ = ["tf", "session_config"]


def session_config(intra_op_threads: int = 0, inter_op_threads: int = 0) -> tf.compat.v1.ConfigProto:
    """A session config with the given thread counts (0 lets TensorFlow choose)."""
    return tf.compat.v1.ConfigProto(
        intra_op_parallelism_threads=intra_op_threads,
        inter_op_parallelism_threads=inter_op_threads,
        allow_soft_placement=True,
    )
