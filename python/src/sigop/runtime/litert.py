"""LiteRT (TensorFlow Lite) copies of a classifier: where they live, what the manifest says of them, running them.

``sigop train`` (and ``sigop export-lite``) converts a classifier's frozen
graph to ``model.tflite`` (float32) and, on request, ``model.int8.tflite``
(post-training int8 quantization, float32 in and out). The manifest's
``lite`` record holds, per precision, the file, its sha256, its input and
output tensors and how far its answers were from the graph's when checked;
or ``error``: why it could not be converted. The frozen graph stays the
reference: it is what TensorFlow Serving and the FFT run, and what a LiteRT
copy is checked against.

LiteRT interpreters are not thread-safe: a ``LiteInterpreter`` serves one
caller at a time. ``LiteModel`` answers like ``FrozenGraph``
(``model(x, ["probabilities"])``) from a pool of them. Each interpreter runs
on ``threads`` cores, and XNNPACK's threads spin while they wait for work, so
LiteRT calls run at most cores / threads at a time across the process; the
rest wait, without the GIL, for a slot. An unbounded number would starve a
server's health threads: with 4 workers each running an interpreter on 2
cores, health checks took 270 ms. The pool never grows past the slots.
"""

from __future__ import annotations

import os
import queue
import threading
from contextlib import nullcontext
from pathlib import Path
from typing import Sequence

import numpy as np

from ..manifest import Manifest, ManifestError, sha256_file
from ..quiet import native_stderr_muted

__all__ = ["PRECISIONS", "LITE_FILES", "LiteInterpreter", "LiteUnavailable", "machine_threads", "lite_content",
           "describe_tensors", "LiteModel"]

PRECISIONS = ("float32", "int8")
LITE_FILES = {"float32": "model.tflite", "int8": "model.int8.tflite"}


_delegate_noted = False  # LiteRT notes its XNNPACK delegate on stderr once per process, when it first applies it


def _until_the_delegate_is_noted():
    """Native stderr muted until the first interpreter has run (before that, at most a warm-up runs)."""
    return nullcontext() if _delegate_noted else native_stderr_muted()


class LiteUnavailable(RuntimeError):
    """A model has no usable LiteRT copy at the asked precision (why: the message)."""


def machine_threads() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def lite_content(folder: Path, manifest: Manifest, precision: str = "float32") -> bytes:
    """The bytes of the model's LiteRT copy, checked against the manifest's sha256; LiteUnavailable says why not."""
    if precision not in PRECISIONS:
        raise ValueError(f"LiteRT precision {precision!r} is not one of {PRECISIONS}")
    record = manifest.lite.get(precision)
    if not record:
        hint = " (train with --quantize int8, or sigop export-lite --quantize int8)" if precision == "int8" else \
            " (sigop export-lite converts it)"
        raise LiteUnavailable(f"no {precision} LiteRT model in the manifest{hint}")
    if "error" in record:
        raise LiteUnavailable(f"the {precision} LiteRT conversion failed: {record['error']}")
    if record.get("graph_sha256", manifest.sha256) != manifest.sha256:
        raise LiteUnavailable(f"{record['file']} was converted from another {manifest.graph}; "
                              f"sigop export-lite converts this one")
    path = Path(folder) / record["file"]
    if not path.is_file():
        raise LiteUnavailable(f"{record['file']} is missing")
    content = path.read_bytes()
    actual = sha256_file(path)
    if actual != record["sha256"]:
        raise ManifestError(f"{path}: sha256 is {actual}, manifest says {record['sha256']}")
    return content


def describe_tensors(details: list[dict]) -> dict[str, dict]:
    """What a device needs of an interpreter's tensors: dtype, shape (-1: any batch) and int8 quantization."""
    out = {}
    for d in details:
        entry = {"index": int(d["index"]), "dtype": np.dtype(d["dtype"]).name,
                 "shape": [int(v) for v in d["shape_signature"]]}
        scale, zero = d["quantization"]
        if scale:
            entry["quantization"] = {"scale": float(scale), "zero_point": int(zero)}
        out[d["name"]] = entry
    return out


class LiteInterpreter:
    """One LiteRT interpreter (XNNPACK on CPU) for a one-input model; one caller at a time. Calling it gives the
    probabilities; ``run`` gives the unknown score too, when the model has it (the output of rank 1)."""

    def __init__(self, content: bytes, threads: int = 0):
        from ai_edge_litert.interpreter import Interpreter

        with _until_the_delegate_is_noted():
            self._interpreter = Interpreter(model_content=content, num_threads=threads or machine_threads())
        (self._input,) = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        self._outputs = {("unknown" if len(o["shape_signature"]) == 1 else "probabilities"): o for o in outputs}
        if "probabilities" not in self._outputs or len(self._outputs) != len(outputs):
            raise LiteUnavailable(f"the LiteRT model's outputs {[o['name'] for o in outputs]} are not probabilities "
                                  f"[batch, labels] and at most one unknown score [batch]")
        self._dtype = np.dtype(self._input["dtype"])
        self._shape: tuple[int, ...] | None = None

    @property
    def input_details(self) -> list[dict]:
        return self._interpreter.get_input_details()

    @property
    def output_details(self) -> list[dict]:
        return self._interpreter.get_output_details()

    @property
    def tensor_details(self) -> list[dict]:
        return self._interpreter.get_tensor_details()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.run(x)["probabilities"]

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        global _delegate_noted
        x = np.ascontiguousarray(x, dtype=self._dtype)
        with _until_the_delegate_is_noted():
            if x.shape != self._shape:  # a new batch size: re-plan (tens of microseconds with XNNPACK)
                self._interpreter.resize_tensor_input(self._input["index"], x.shape)
                self._interpreter.allocate_tensors()
                self._shape = x.shape
            self._interpreter.set_tensor(self._input["index"], x)
            self._interpreter.invoke()
        _delegate_noted = True
        # get_tensor copies: the next call may reuse the buffers
        return {name: self._interpreter.get_tensor(o["index"]) for name, o in self._outputs.items()}


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
        unknown = set(outputs) - {"probabilities", "unknown"}
        if unknown:
            raise ValueError(f"a LiteRT classifier computes probabilities and its unknown score, not {sorted(unknown)}")
        with self._running:
            try:
                interpreter = self._idle.get_nowait()
            except queue.Empty:
                interpreter = LiteInterpreter(self._content, self._threads)
            try:
                answers = interpreter.run(x)
                if "unknown" in outputs and "unknown" not in answers:
                    raise ValueError(f"{self.folder}'s LiteRT copy has no unknown score: sigop export-lite converts "
                                     f"it again")
                return {o: answers[o] for o in outputs}
            finally:
                self._idle.put(interpreter)

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait()
            except queue.Empty:
                return
