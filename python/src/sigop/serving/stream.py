"""Streams: a long signal cut into windows as it arrives, each classified, label changes reported.

A stream holds at most one window plus one chunk of samples: ``Windows``
keeps only what a future window still needs. ``StreamSession`` is a stream
over the serving core, without transport: the gRPC front end feeds it
decoded chunks and turns its results into replies. Every window goes through the
same input path and the same batcher as a ClassifySignal call of that
window, so its scores are those ClassifySignal would give; ``events.Smoother``
turns them into label changes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from ..audio import MAX_RATE, MIN_RATE
from ..inputs import InvalidInput
from .core import Call, Core, top_k
from .events import Event, Smoother, hold_windows, unknown_hold_windows

__all__ = ["Windows", "StreamSettings", "WindowResult", "StreamSession", "MAX_SMOOTHING"]

MAX_SMOOTHING = 1024  # windows a stream's scores may be averaged over: each is held until it leaves the average
MAX_HOP = float(2**53)  # samples between windows: beyond it a sample count is no longer exact in float64
MAX_HOLD = 2**31 - 1  # hops a new label may have to hold before its event


class Windows:
    """Samples in, (start sample, window) out: windows of ``length`` every ``hop`` samples, of every channel
    together (a window is [length], or [channels, length] for several)."""

    def __init__(self, length: int, hop: int, channels: int = 1):
        if length < 1 or hop < 1:
            raise ValueError(f"window length {length} and hop {hop} must be at least one sample")
        self.length, self.hop, self.channels = length, hop, channels
        self._buffer = np.empty((channels, 0))
        self._offset = 0  # the stream index of _buffer[0]
        self._next = 0  # where the next window starts
        self.received = 0

    def feed(self, samples: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
        """Add samples; then the windows they complete, one at a time. A chunk that completes many windows (a long
        chunk, a short hop) holds one window's copy at a time, never all of them: a hop of one sample would
        otherwise make one chunk of n samples into n windows in memory at once."""
        chunk = np.asarray(samples, dtype=np.float64).reshape(self.channels, -1)
        self._buffer = np.concatenate([self._buffer, chunk], axis=1)
        self.received += chunk.shape[1]
        self._drop_passed()
        return self._completed()

    def _completed(self) -> Iterator[tuple[int, np.ndarray]]:
        while self._next + self.length <= self._offset + self._buffer.shape[1]:
            i, start = self._next - self._offset, self._next
            window = self._shaped(self._buffer[:, i:i + self.length].copy())
            self._next += self.hop
            self._drop_passed()
            yield start, window

    def _drop_passed(self) -> None:
        """Forget the samples before the next window's start: no later window needs them."""
        drop = min(self._next - self._offset, self._buffer.shape[1])
        self._buffer, self._offset = self._buffer[:, drop:], self._offset + drop

    def finish(self) -> list[tuple[int, np.ndarray]]:
        """At the stream's end: a stream shorter than one window is that window, zero-padded (as ClassifySignal
        pads a short signal); a longer stream's remainder after its last window gives none."""
        if self._next > 0 or self.received == 0:
            return []
        return [(0, self._shaped(np.pad(self._buffer, [(0, 0), (0, self.length - self._buffer.shape[1])])))]

    def _shaped(self, window: np.ndarray) -> np.ndarray:
        return window[0] if self.channels == 1 else window

    @property
    def held(self) -> int:
        """Samples held per channel."""
        return self._buffer.shape[1]


@dataclass(frozen=True)
class StreamSettings:
    """What a stream asks for (its first message), in the units of the model's rate."""

    model: str = ""
    version: int = 0
    sample_rate: float = 0.0  # 0: the model's own; a model without one (spectrum, no declared rate): the stream's clock
    hop: float = 0.0  # seconds (samples for a stream without a rate); 0: one window
    top_k: int = 0
    smoothing_windows: int = 0
    min_duration: float = 0.0
    threshold: float = 0.0
    unknown_events: bool = False  # "unknown" events from the model's unknown score


@dataclass(frozen=True)
class WindowResult:
    """One window's scores: its span in samples and seconds, probabilities over the labels, the top-k indices."""

    start: int
    end: int
    start_seconds: float
    end_seconds: float
    probabilities: np.ndarray
    best: np.ndarray
    unknown: float | None = None  # the window's unknown score, for a model with one
    threshold: float | None = None


class StreamSession:
    """A stream's windows and smoothing over the serving core: samples in, window results and events out.

    Every window goes through the model's input plan and ``core.classify``, as a
    ClassifySignal call of that window would."""

    def __init__(self, core: Core, settings: StreamSettings, call: Call):
        self._core, self._call = core, call
        self.served = core.classifier(settings.model, settings.version)
        plan = self.served.plan
        # A waveform model takes samples at a rate (resampled from the stream's); a spectrum model draws them by FFT
        # bin at any rate, and a waveform model trained without a rate takes them as they come, so there the
        # stream's rate is only its clock: windows and events in seconds.
        given = settings.sample_rate if plan.declares_rate else 0
        self._rate = plan.rate(given, "config.sample_rate") if plan.takes_waveforms else None
        self.clock = self._rate if plan.declares_rate else _clock(settings.sample_rate)
        self.length = plan.window(self._rate)
        if self.length < 1:
            fe = plan.details["front_end"]
            raise InvalidInput(f"config.sample_rate {self._rate:g} Hz makes the model's window ({fe['samples']} "
                               f"samples at {fe['sample_rate']:g} Hz) shorter than one sample; expected at least "
                               f"{fe['sample_rate'] / fe['samples']:g} Hz")
        unit = self.clock or 1.0  # without a rate, times are in samples
        units = "samples" if self.clock is None else "seconds"
        _finite_at_least_zero("hop", settings.hop, f"0 (one window) or a positive number of {units}")
        _finite_at_least_zero("min_duration", settings.min_duration, f"0 or a positive number of {units}")
        if settings.hop * unit > MAX_HOP:
            raise InvalidInput(f"config.hop {settings.hop:g} {units} is {settings.hop * unit:.3g} samples at "
                               f"{unit:g} Hz; expected at most 2^53 samples ({MAX_HOP / unit:.3g} {units})")
        hop = int(round(settings.hop * unit)) if settings.hop else self.length
        if hop < 1:
            raise InvalidInput(f"config.hop {settings.hop:g} is less than one sample at {unit:g} Hz")
        if settings.min_duration / (hop / unit) > MAX_HOLD:
            raise InvalidInput(f"config.min_duration {settings.min_duration:g} {units} is more than {MAX_HOLD} hops "
                               f"of {hop / unit:g} {units}; expected at most {MAX_HOLD * hop / unit:.3g} {units}")
        if not 0 <= settings.smoothing_windows <= MAX_SMOOTHING or settings.top_k < 0 or not 0 <= settings.threshold <= 1:
            raise InvalidInput(f"config: smoothing_windows must be 0 to {MAX_SMOOTHING}, top_k >= 0, threshold in "
                               f"[0, 1]; got {settings.smoothing_windows}, {settings.top_k}, {settings.threshold:g}")
        self._top_k = settings.top_k
        self.channels = plan.channels
        self._windows = Windows(self.length, hop, self.channels)
        hold = hold_windows(settings.min_duration, hop / unit)
        self._smoother = Smoother(self.served.labels, windows=settings.smoothing_windows, threshold=settings.threshold,
                                  hop=hop, window=self.length, hold_windows=hold,  # in samples
                                  unknown_threshold=self.served.unknown_threshold if settings.unknown_events else None,
                                  unknown_hold_windows=unknown_hold_windows(hold, self.length, hop,
                                                                            settings.smoothing_windows))
        self._done = core.metrics.stream_windows.labels(self.served.name)
        self._latency = core.metrics.stream_window_seconds.labels(self.served.name)

    def feed(self, samples: np.ndarray) -> Iterator[WindowResult | Event]:
        """The results of the windows these samples ([k], or [channels, k]) complete, each followed by the event it
        sets off, if any. A chunk of the wrong channels is refused here, before any window is made."""
        rows = samples.shape[0] if samples.ndim == 2 else 1
        if rows != self.channels:
            names = self.served.plan.channel_names
            raise InvalidInput(f"samples: {rows} rows, but model {self.served.name!r} takes {self.channels} "
                               f"channel{'s' if self.channels > 1 else ''}{f' ({names})' if names else ''}: send "
                               + (f"chunks [{self.channels}, k]" if self.channels > 1 else "chunks [k]"))
        return self._fed(samples, time.perf_counter())

    def _fed(self, samples: np.ndarray, arrived: float) -> Iterator[WindowResult | Event]:
        for start, window in self._windows.feed(samples):
            yield from self._classified(start, window, arrived)

    def finish(self) -> Iterator[WindowResult | Event]:
        """At the stream's end: a stream shorter than one window is that window, zero-padded."""
        for start, window in self._windows.finish():
            yield from self._classified(start, window, time.perf_counter())

    def _classified(self, start: int, window: np.ndarray, arrived: float) -> Iterator[WindowResult | Event]:
        given = self.served.plan.signals(window[None], self._rate or 0, "config.sample_rate")
        scores = self._core.classify(self.served, given, "ClassifyStream", self._call)
        probs, unknown = scores.probabilities[0], None if scores.unknown is None else float(scores.unknown[0])
        clock = self.clock or math.inf  # without a rate: 0 seconds
        yield WindowResult(start, start + self.length, start / clock, (start + self.length) / clock, probs,
                           top_k(probs[None], self._top_k)[0], unknown, scores.threshold)
        self._done.inc()
        self._latency.observe(time.perf_counter() - arrived)
        event = self._smoother.push(probs, start, unknown)
        if event is not None:
            yield self._timed(event)

    def _timed(self, event: Event) -> Event:
        """The event in samples, with seconds beside them when the stream has a rate."""
        start, previous = round(event.start), round(event.previous_start)
        if self.clock is None:
            return replace(event, start=start, previous_start=previous)
        return replace(event, start=start, previous_start=previous, start_seconds=start / self.clock,
                       previous_start_seconds=previous / self.clock)


def _clock(rate: float) -> float | None:
    """A rate-less model's stream's own rate (config.sample_rate): its times in seconds; 0: none, times in samples."""
    if not rate:
        return None
    if not MIN_RATE <= rate <= MAX_RATE:  # also NaN
        raise InvalidInput(f"config.sample_rate is {rate:g} Hz; expected 0 (times in samples) or a positive rate up "
                           f"to {MAX_RATE / 1e6:g} MHz, the clock of this stream's windows and events")
    return float(rate)


def _finite_at_least_zero(field: str, value: float, expected: str) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise InvalidInput(f"config.{field} is {value:g}; expected {expected}")
