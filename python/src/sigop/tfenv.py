"""Import TensorFlow quietly, with its thread pools configured first.

TensorFlow prints pages of start-up notes to stderr unless TF_CPP_MIN_LOG_LEVEL
is set before it is imported, and even then its libraries log a oneDNN note
through absl before absl reads that variable; so, unless the user asked for
TensorFlow's logs (TF_CPP_MIN_LOG_LEVEL=0), file descriptor 2 points at
/dev/null while it loads. A failed import still raises its Python exception.
Its thread pools can only be sized before the first op runs. Every sigop
module imports TensorFlow through here.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextmanager
def _native_stderr_muted(muted: bool):
    if not muted:
        yield
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


with _native_stderr_muted(os.environ["TF_CPP_MIN_LOG_LEVEL"] not in ("", "0")):
    import tensorflow as tf  # noqa: E402

__all__ = ["tf", "session_config"]


def session_config(intra_op_threads: int = 0, inter_op_threads: int = 0) -> tf.compat.v1.ConfigProto:
    """A session config with the given thread counts (0 lets TensorFlow choose)."""
    return tf.compat.v1.ConfigProto(
        intra_op_parallelism_threads=intra_op_threads,
        inter_op_parallelism_threads=inter_op_threads,
        allow_soft_placement=True,
    )
