"""Native libraries' start-up notes kept off the terminal, unless the user asks for them.

TensorFlow and LiteRT write notes to file descriptor 2 from C++ before any
logging setting of theirs applies ("oneDNN custom operations are on",
"Created TensorFlow Lite XNNPACK delegate"); they would bury a command's own
output. TF_CPP_MIN_LOG_LEVEL=0 asks for them and turns this off.
"""

from __future__ import annotations

import logging
import os
import sys
from contextlib import contextmanager

__all__ = ["native_stderr_muted", "loggers_at_warning"]

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextmanager
def native_stderr_muted():
    """File descriptor 2 points at /dev/null for the block (Python exceptions still propagate)."""
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2") in ("", "0"):
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


@contextmanager
def loggers_at_warning(*names: str):
    """Python loggers (absl's, TensorFlow's) say only warnings and errors for the block."""
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)
