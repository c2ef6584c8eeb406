"""ClassifyStream: a long signal cut into windows as it arrives, each classified, label changes reported.

A stream holds at most one window plus one chunk of samples: ``Windows``
keeps only what a future window still needs. Every window goes through the
same input path and the same batcher as a ClassifySignal call of that
window, so its scores are those ClassifySignal would give. ``Smoother``
turns window scores into events: scores averaged over the last k windows,
the top label ("none" below the threshold), and a change reported once the
new label has held for the minimum duration.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..inputs import InvalidInput
from ..operator.v1 import operator_pb2 as pb
from .wire import decode_signals

__all__ = ["Windows", "Smoother", "Event", "hold_windows", "classify_stream", "MAX_SMOOTHING"]

MAX_SMOOTHING = 1024  # windows a stream's scores may be averaged over: each is held until it leaves the average


class Windows:
    """Samples in, (start sample, window) out: windows of ``length`` every ``hop`` samples."""

    def __init__(self, length: int, hop: int):
        if length < 1 or hop < 1:
            raise ValueError(f"window length {length} and hop {hop} must be at least one sample")
        self.length, self.hop = length, hop
        self._buffer = np.empty(0)
        self._offset = 0  # the stream index of _buffer[0]
        self._next = 0  # where the next window starts
        self.received = 0

    def feed(self, samples: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
        """Add samples; then the windows they complete, one at a time. A chunk that completes many windows (a long
        chunk, a short hop) holds one window's copy at a time, never all of them: a hop of one sample would
        otherwise make one chunk of n samples into n windows in memory at once."""
        self._buffer = np.concatenate([self._buffer, np.asarray(samples, dtype=np.float64).reshape(-1)])
        self.received += samples.size
        self._drop_passed()
        return self._completed()

    def _completed(self) -> Iterator[tuple[int, np.ndarray]]:
        while self._next + self.length <= self._offset + self._buffer.size:
            i, start = self._next - self._offset, self._next
            window = self._buffer[i:i + self.length].copy()
            self._next += self.hop
            self._drop_passed()
            yield start, window

    def _drop_passed(self) -> None:
        """Forget the samples before the next window's start: no later window needs them."""
        drop = min(self._next - self._offset, self._buffer.size)
        self._buffer, self._offset = self._buffer[drop:], self._offset + drop

    def finish(self) -> list[tuple[int, np.ndarray]]:
        """At the stream's end: a stream shorter than one window is that window, zero-padded (as ClassifySignal
        pads a short signal); a longer stream's remainder after its last window gives none."""
        if self._next > 0 or self.received == 0:
            return []
        return [(0, np.pad(self._buffer, (0, self.length - self._buffer.size)))]

    @property
    def held(self) -> int:
        return self._buffer.size


@dataclass(frozen=True)
class Event:
    label: str
    start: float  # seconds (or samples, for a model without a rate)
    score: float
    previous: str
    previous_start: float


class Smoother:
    """Window scores in, label changes out."""

    def __init__(self, labels: list[str], *, windows: int = 1, hold_windows: int = 1, threshold: float = 0.0,
                 hop: float = 1.0, window: float = 1.0):
        self.labels, self.threshold, self.hop, self.window = labels, threshold, hop, window
        self._recent: deque[np.ndarray] = deque(maxlen=max(1, windows))
        self._hold = max(1, hold_windows)
        self._current: str | None = None
        self._since = 0.0  # when _current began
        self._candidate: str | None = None
        self._first = 0.0  # the candidate's first window start
        self._count = 0

    def push(self, scores: np.ndarray, start: float) -> Event | None:
        self._recent.append(np.asarray(scores, dtype=np.float64))
        mean = np.mean(self._recent, axis=0)
        best = int(np.argmax(mean))
        label = self.labels[best] if mean[best] >= self.threshold else "none"
        if label == self._current:
            self._candidate = None
            return None
        if label != self._candidate:
            self._candidate, self._first, self._count = label, start, 0
        self._count += 1
        if self._count < self._hold:
            return None
        # A window's label flips when its middle crosses the change; a k-window average flips (k-1)/2 hops later.
        lag = (len(self._recent) - 1) / 2 * self.hop
        start = self._first if self._current is None else max(0.0, self._first + self.window / 2 - lag)
        event = Event(label, start, float(mean[best]), self._current or "", self._since)
        self._current, self._since, self._candidate = label, start, None
        return event


def hold_windows(min_duration: float, hop: float) -> int:
    """Consecutive windows a new label must top: one per hop of min_duration, at least one."""
    return max(1, math.ceil(min_duration / hop - 1e-9))


def classify_stream(service, requests, context):
    """The ClassifyStream handler's body (service: the OperatorService whose input path and batcher it shares)."""
    first = next(requests, None)
    if first is None:
        return
    if first.WhichOneof("kind") != "config":
        raise InvalidInput("the first message must carry config (StreamConfig: model, rate, hop, smoothing)")
    cfg = first.config
    model, answered = service._classifier(cfg.model_spec)
    rate, length, model_input = service._signal_input(model, answered, cfg.sample_rate, "ClassifyStream")
    unit = rate or 1.0  # a spectrum model's times are in samples
    units = "samples" if rate is None else "seconds"
    _finite_at_least_zero("hop", cfg.hop, f"0 (one window) or a positive number of {units}")
    _finite_at_least_zero("min_duration", cfg.min_duration, f"0 or a positive number of {units}")
    hop = int(round(cfg.hop * unit)) if cfg.hop else length
    if hop < 1:
        raise InvalidInput(f"config.hop {cfg.hop:g} is less than one sample at {unit:g} Hz")
    if not 0 <= cfg.smoothing_windows <= MAX_SMOOTHING or cfg.top_k < 0 or not 0 <= cfg.threshold <= 1:
        raise InvalidInput(f"config: smoothing_windows must be 0 to {MAX_SMOOTHING}, top_k >= 0, threshold in [0, 1]; "
                           f"got {cfg.smoothing_windows}, {cfg.top_k}, {cfg.threshold:g}")
    labels = model.manifest.details["labels"]
    k = len(labels) if cfg.top_k == 0 else min(cfg.top_k, len(labels))
    windows = Windows(length, hop)
    smoother = Smoother(labels, windows=cfg.smoothing_windows, threshold=cfg.threshold, hop=hop / unit,
                        window=length / unit, hold_windows=hold_windows(cfg.min_duration, hop / unit))
    windows_done = service._metrics.stream_windows.labels(answered.name)
    latency = service._metrics.stream_window_seconds.labels(answered.name)
    for arrived, start, window in _windows(requests, windows, service._limits.max_signal_length):
        (full,) = service._classify(model, answered, "ClassifyStream", model_input(window[None]), 0, context)
        scores = dict((c.label, c.score) for c in full.classes)
        yield pb.ClassifyStreamResponse(model_spec=answered, window=pb.StreamWindow(
            start_sample=start, end_sample=start + length, start_seconds=start / unit,
            end_seconds=(start + length) / unit, classification=pb.Classification(classes=full.classes[:k])))
        windows_done.inc()
        latency.observe(time.perf_counter() - arrived)
        event = smoother.push(np.array([scores[label] for label in labels]), start / unit)
        if event is not None:
            yield pb.ClassifyStreamResponse(model_spec=answered, event=pb.StreamEvent(
                label=event.label, start_seconds=event.start, score=event.score, previous=event.previous,
                previous_start_seconds=event.previous_start))


def _finite_at_least_zero(field: str, value: float, expected: str) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise InvalidInput(f"config.{field} is {value:g}; expected {expected}")


def _windows(requests, windows: Windows, max_length: int):
    """(when its last sample arrived, start, samples) for each window the chunks fill, then the short stream's one."""
    for i, request in enumerate(requests, start=1):
        if request.WhichOneof("kind") != "samples":
            raise InvalidInput(f"message {i}: after the config every message carries samples")
        arrived = time.perf_counter()
        try:
            x, _ = decode_signals(request.samples, max_length=max_length, max_batch=1)
        except InvalidInput as e:
            raise InvalidInput(f"message {i}: {e}") from None
        for start, window in windows.feed(x[0]):
            yield arrived, start, window
    for start, window in windows.finish():
        yield time.perf_counter(), start, window
