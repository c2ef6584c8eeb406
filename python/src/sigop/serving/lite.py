"""A classifier served by LiteRT, and the choice between it and the frozen graph.

``LiteModel`` answers like ``FrozenGraph`` (``model(x, ["probabilities"])``)
from the folder's ``model.tflite`` or ``model.int8.tflite``. Each interpreter
runs on ``threads`` cores, and XNNPACK's threads spin while they wait for
work. So LiteRT calls run at most cores / threads at a time across the
process; the rest wait, without the GIL, for a slot. An unbounded number would
starve the health service's threads: with 4 workers each running an interpreter on 2
cores, health checks took 270 ms. Interpreters are not thread-safe, so a call
that holds a slot borrows one from the model's pool, which never grows past
the slots.

``load_model`` applies ``--runtime``: ``tf`` always runs graph.pb; ``lite``
runs the LiteRT copy or fails to load; ``auto`` runs the LiteRT copy when
there is a usable one and says in the status why not otherwise. The FFT is
float64 and always runs on TensorFlow.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from ..lite import LiteInterpreter, LiteUnavailable, lite_content, machine_threads
from ..manifest import Manifest
from .config import RUNTIMES
from .frozen import FrozenGraph

__all__ = ["LiteModel", "Model", "load_model"]

log = logging.getLogger(__name__)

_slots: dict[int, threading.BoundedSemaphore] = {}  # per thread count: LiteRT calls that may run at once
_slots_lock = threading.Lock()


def _cpu_slots(threads: int) -> threading.BoundedSemaphore:
    with _slots_lock:
        if threads not in _slots:
            _slots[threads] = threading.BoundedSemaphore(max(1, machine_threads() // threads))
        return _slots[threads]


class LiteModel:
    """A classifier's LiteRT copy with its manifest, callable like FrozenGraph."""

    def __init__(self, folder: Path, manifest: Manifest, precision: str = "float32", threads: int = 0):
        self.folder, self.manifest, self.precision = Path(folder), manifest, precision
        self.runtime = f"litert {precision}"
        self._content = lite_content(self.folder, manifest, precision)
        self._threads = threads or machine_threads()
        self._running = _cpu_slots(self._threads)
        self._idle: queue.LifoQueue[LiteInterpreter] = queue.LifoQueue()  # last returned first: its shape is warm
        self._idle.put(LiteInterpreter(self._content, self._threads))  # a broken file fails the load, not a call

    def __call__(self, x: np.ndarray, outputs: Sequence[str]) -> dict[str, np.ndarray]:
        if list(outputs) != ["probabilities"]:
            raise ValueError(f"a LiteRT classifier computes probabilities only, not {list(outputs)}")
        with self._running:
            try:
                interpreter = self._idle.get_nowait()
            except queue.Empty:
                interpreter = LiteInterpreter(self._content, self._threads)
            try:
                return {"probabilities": interpreter(x)}  # get_tensor already copied it out
            finally:
                self._idle.put(interpreter)

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait()
            except queue.Empty:
                return


Model = FrozenGraph | LiteModel  # what the repository serves; both answer model(x, outputs) -> {name: array}


def load_model(folder: Path, *, runtime: str = "auto", precision: str = "float32", intra_op_threads: int = 0,
               inter_op_threads: int = 0) -> tuple[Model, str]:
    """The model to serve from ``folder`` and a note for its status: why it is not on the LiteRT copy asked for."""
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime {runtime!r} is not one of {RUNTIMES}")
    manifest = Manifest.read(folder)
    notes: list[str] = []
    if manifest.kind == "classifier" and runtime != "tf":
        # auto steps down: int8, float32, then the graph; lite serves the precision asked for or nothing
        for p in [precision] + (["float32"] if runtime == "auto" and precision != "float32" else []):
            try:
                return LiteModel(folder, manifest, p, intra_op_threads), "; ".join(notes)
            except Exception as e:  # unavailable, or a file LiteRT cannot load: the graph still can
                if runtime == "lite":
                    raise
                why = str(e) if isinstance(e, LiteUnavailable) else f"the LiteRT model did not load: {type(e).__name__}: {e}"
                notes.append(f"not on LiteRT {p}: {why}")
                log.log(logging.INFO if isinstance(e, LiteUnavailable) else logging.WARNING, "%s: %s", folder, notes[-1])
    return (FrozenGraph(folder, intra_op_threads=intra_op_threads, inter_op_threads=inter_op_threads, manifest=manifest),
            "; ".join(notes))
