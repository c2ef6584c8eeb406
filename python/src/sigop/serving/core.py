"""The serving core: models found, inputs planned, graphs run, scores returned — no transport in sight.

A front end (the gRPC service today; any other wire protocol beside it)
turns its messages into arrays and calls the core: ``classifier()`` resolves
a model by name and version and gives its input plan; ``classify()`` runs a
plan's inputs ``limits.compute_batch`` at a time under a reservation from
the server-wide memory budget, through the model's batcher when batching is
on, and returns ``Scores``: probabilities and, for models that have one, the
unknown score and whether it is over the model's threshold; ``fft()`` runs the FFT graph;
``stream_slot()`` holds one of the stream slots. Errors are the domain's
(``InvalidInput``, ``Unsupported``, ``ModelNotFound``, ``OverBudget`` …);
each front end maps them to its own status codes.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from ..inputs import Inputs, InvalidInput, check_spectrum_range
from ..limits import Limits, MemoryBudget, StreamLimit, clip
from ..manifest import DEFAULT_FFT_MODEL
from ..plan import InputPlan
from .batching import BatchConfig, Batcher
from .errors import ModelNotFound
from .metrics import Metrics

if TYPE_CHECKING:  # the core runs whatever the repository holds; it needs neither TensorFlow nor LiteRT itself
    from ..runtime.load import Model
    from .repository import ModelRepository

__all__ = ["Call", "Served", "Scores", "Core", "top_k"]

@dataclass(frozen=True)
class Call:
    """What the core needs of a caller: when it stops waiting (time.monotonic(), None: never) and whether it
    still waits."""

    deadline: float | None = None
    is_active: Callable[[], bool] = lambda: True


@dataclass(frozen=True)
class Served:
    """One model version as a call resolved it: the name and version that answer, the model, its input plan."""

    name: str
    version: int
    model: Model
    plan: InputPlan

    @property
    def labels(self) -> list[str]:
        return self.model.manifest.details["labels"]

    @property
    def unknown_threshold(self) -> float | None:
        """The calibrated threshold of the model's unknown score; None: it has none (exported before sigop had it)."""
        record = self.model.manifest.details.get("unknown")
        return float(record["threshold"]) if record and "unknown" in self.model.manifest.outputs else None

    @property
    def outputs(self) -> list[str]:
        return ["probabilities"] + (["unknown"] if self.unknown_threshold is not None else [])


@dataclass(frozen=True)
class Scores:
    """A classification of inputs: probabilities [inputs, labels]; unknown scores [inputs] and their threshold for a
    model that has them, else None."""

    probabilities: np.ndarray
    unknown: np.ndarray | None = None
    threshold: float | None = None

    @property
    def is_unknown(self) -> np.ndarray | None:
        return None if self.unknown is None else self.unknown > self.threshold

    def __len__(self) -> int:
        return len(self.probabilities)


def top_k(probabilities: np.ndarray, k: int) -> np.ndarray:
    """Indices of each row's k best scores, best first (k = 0: every label); ties keep label order."""
    if k < 0:
        raise InvalidInput(f"top_k is {k}; expected 0 (all labels) or more")
    n = probabilities.shape[1]
    return np.argsort(-probabilities, axis=1, kind="stable")[:, :n if k == 0 else min(k, n)]


class Core:
    def __init__(self, models: ModelRepository, limits: Limits = Limits(), metrics: Metrics | None = None,
                 batching: BatchConfig = BatchConfig()):
        self.models, self.limits, self.metrics, self.batching = models, limits, metrics or Metrics(), batching
        self._budget = MemoryBudget(limits.inflight_bytes)
        # One batcher per loaded model object: a version reloaded while streams still use the old one gets a batcher
        # of its own, and neither evicts the other. Streams hold their model; its batcher goes with the last of them.
        self._batchers: dict[int, tuple[Served, Batcher]] = {}  # by id(model)
        self._holds: dict[int, int] = {}  # streams using each model, by id(model)
        self._batchers_lock = threading.Lock()
        self._streams = threading.BoundedSemaphore(limits.max_streams)

    # ---- finding models -----------------------------------------------------------------------------------

    def _get(self, name: str, version: int, kind: str) -> tuple[Model, int]:
        model, version = self.models.get(name, version)
        if model.manifest.kind != kind:
            raise InvalidInput(f"model {clip(name)} is a {model.manifest.kind} model, not {kind}")
        return model, version

    def classifier(self, name: str = "", version: int = 0) -> Served:
        """The classifier a call names (empty: the only one), at ``version`` (0: the newest)."""
        if not name:
            names = self.models.names("classifier")
            if len(names) != 1:
                raise InvalidInput(f"model_spec.name is required: this server has classifiers {names}")
            name = names[0]
        model, version = self._get(name, version, "classifier")
        fft = None
        if model.manifest.draws_spectra:
            fft = self._magnitude(model.manifest.details.get("fft_model", DEFAULT_FFT_MODEL))
        return Served(name, version, model, InputPlan(model.manifest, self.limits, fft, name))

    def _magnitude(self, fft_name: str):
        """rows -> |X[k]| through the loaded FFT graph, or None when it is not loaded (the plan says so)."""
        try:
            fft, _ = self._get(fft_name, 0, "fft")
        except (ModelNotFound, InvalidInput):
            return None
        return lambda rows: self._run(fft, fft_name, "render", rows, ["magnitude"])["magnitude"]

    # ---- running graphs -----------------------------------------------------------------------------------

    def _run(self, model: Model, name: str, method: str, x: np.ndarray, outputs: Sequence[str]) -> dict:
        start = time.perf_counter()
        out = model(x, outputs)
        self.metrics.compute.labels(name, method).observe(time.perf_counter() - start)
        return out

    def fft(self, name: str, version: int, x: np.ndarray, outputs: Sequence[str]) -> tuple[str, int, dict]:
        """The named outputs of an FFT graph for signals x [rows, n]: (name, version that answered, outputs)."""
        name = name or DEFAULT_FFT_MODEL
        model, version = self._get(name, version, "fft")
        check_spectrum_range(x)
        with self._budget.reserve(x.nbytes * (3 + len(outputs)), "this FFT call"):
            return name, version, self._run(model, name, "FFT", x, outputs)

    def classify(self, served: Served, given: Inputs, method: str, call: Call = Call()) -> Scores:
        """Scores of the inputs: they run compute_batch at a time, within a reservation from the memory budget."""
        out = []
        with self._budget.reserve(given.peak_bytes, f"this {method} call"):
            for start, x in given.chunks(self.limits.compute_batch):
                answers = self._answers(served, method, x, call)  # probabilities, then the unknown score if any
                finite = np.isfinite(answers).all(axis=1)
                if not finite.all():
                    i = start + int(np.argmin(finite))
                    raise InvalidInput(f"{given.field}[{i}]: the model's scores for it are not finite; its values "
                                       f"lie far outside the range the model was trained on")
                out.append(answers)
        answers = np.concatenate(out)
        threshold = served.unknown_threshold
        if threshold is None:
            return Scores(answers)
        scores = Scores(answers[:, :-1], answers[:, -1], threshold)
        histogram = self.metrics.unknown_score.labels(served.name)
        for u in scores.unknown:
            histogram.observe(float(u))
        self.metrics.unknown_answers.labels(served.name).inc(int(scores.is_unknown.sum()))
        return scores

    def _answers(self, served: Served, method: str, x: np.ndarray, call: Call) -> np.ndarray:
        if not self.batching.enabled or not self._in_use(served):
            # A call that resolved a version just before it was reloaded drains on it, unbatched: a batcher made
            # for it now would outlive it.
            return self._columns(served, method, x)
        return self._batcher(served).submit(x, call.deadline, call.is_active)

    def _columns(self, served: Served, method: str, x: np.ndarray) -> np.ndarray:
        """[inputs, labels (+ 1)]: probabilities, and the unknown score as a last column (one array: what a batcher
        splits among its callers)."""
        out = self._run(served.model, served.name, method, x, served.outputs)
        if "unknown" not in out:
            return out["probabilities"]
        return np.concatenate([out["probabilities"], np.asarray(out["unknown"], np.float32)[:, None]], axis=1)

    def _in_use(self, served: Served) -> bool:
        """The model is what its name and version serve now, or a stream still holds it."""
        with self._batchers_lock:
            if self._holds.get(id(served.model)):
                return True
        try:
            return self.models.get(served.name, served.version)[0] is served.model
        except ModelNotFound:
            return False

    # ---- batching -----------------------------------------------------------------------------------------

    def _batcher(self, served: Served) -> Batcher:
        """The batcher of this loaded model (a reloaded version, a new model object, gets a new one)."""
        key = id(served.model)
        with self._batchers_lock:
            entry = self._batchers.get(key)
            if entry is None:  # the entry holds the model, so no other model can take its id meanwhile
                queue, size = self.metrics.queue.labels(served.name), self.metrics.batch_size.labels(served.name)

                def observe(waits: list[float], inputs: int) -> None:
                    for w in waits:
                        queue.observe(w)
                    size.observe(inputs)

                run = lambda x: self._columns(served, "batch", x)  # noqa: E731
                entry = (served, Batcher(run, self.batching, observe, name=f"batcher-{served.name}-{served.version}"))
                self._batchers[key] = entry
        return entry[1]

    def release_unloaded(self) -> None:
        """Stop the batchers of models that were reloaded or removed and that no stream still uses, so their graphs
        can be freed."""
        unloaded = []
        with self._batchers_lock:
            for key, (served, batcher) in list(self._batchers.items()):
                try:
                    current, _ = self.models.get(served.name, served.version)
                except ModelNotFound:
                    current = None
                if current is not served.model and not self._holds.get(key):
                    unloaded.append(batcher)
                    del self._batchers[key]
        for batcher in unloaded:  # outside the lock: closing waits for each worker's queued calls
            batcher.close()

    @contextmanager
    def holding(self, served: Served):
        """Keep ``served``'s model (and its batcher) for the block, through reloads: a stream answers from the
        version it opened with until it ends."""
        key = id(served.model)
        with self._batchers_lock:
            self._holds[key] = self._holds.get(key, 0) + 1
        try:
            yield
        finally:
            with self._batchers_lock:
                self._holds[key] -= 1
                if not self._holds[key]:
                    del self._holds[key]
            self.release_unloaded()

    # ---- streams ------------------------------------------------------------------------------------------

    @contextmanager
    def stream_slot(self):
        """Hold one of the server's stream slots for the block; StreamLimit when all are taken."""
        if not self._streams.acquire(blocking=False):
            raise StreamLimit(f"{self.limits.max_streams} streams are open, this server's limit (--max-streams, "
                              f"below --workers); retry later or on another replica")
        self.metrics.streams_open.inc()
        try:
            yield
        finally:
            self.metrics.streams_open.dec()
            self._streams.release()

    def close(self) -> None:
        with self._batchers_lock:
            batchers = [b for _, b in self._batchers.values()]
            self._batchers.clear()
        for batcher in batchers:
            batcher.close()
