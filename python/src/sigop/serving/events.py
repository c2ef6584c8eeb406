"""Label changes from window scores: ``Smoother`` averages the last k windows' scores, takes the top label
("none" below the threshold; "unknown" when the model's unknown score, averaged alike, is over its calibrated
threshold) and reports a change once the new label has held for its windows ("unknown" longer: also through the
windows a change between two known classes blurs). No model, no transport: a stream feeds it scores."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

__all__ = ["Event", "Smoother", "hold_windows", "unknown_hold_windows"]


@dataclass(frozen=True)
class Event:
    """A change of label. ``Smoother`` gives times in the units it was built with; a stream's are in samples, with
    the seconds beside them when the stream has a rate (the model's, or its config's for a spectrum model)."""

    label: str
    start: float
    score: float
    previous: str
    previous_start: float
    start_seconds: float | None = None
    previous_start_seconds: float | None = None


class Smoother:
    """Window scores in, label changes out.

    "unknown" is tracked beside the known labels: while the smoothed unknown
    score is over its threshold for fewer than ``unknown_hold_windows`` windows,
    the known labels change as they would without it, so the windows that
    straddle a change between two classes neither delay it nor flicker "unknown"."""

    def __init__(self, labels: list[str], *, windows: int = 1, hold_windows: int = 1, threshold: float = 0.0,
                 hop: float = 1.0, window: float = 1.0, unknown_threshold: float | None = None,
                 unknown_hold_windows: int = 1):
        """``unknown_hold_windows``: windows "unknown" must hold (at least ``hold_windows``): unknown_hold_windows()."""
        self.labels, self.threshold, self.hop, self.window = labels, threshold, hop, window
        self.unknown_threshold = unknown_threshold
        self._unknown_hold = max(1, hold_windows, unknown_hold_windows)
        self._recent: deque[np.ndarray] = deque(maxlen=max(1, windows))
        self._unknown: deque[float] = deque(maxlen=max(1, windows))
        self._hold = max(1, hold_windows)
        self._current: str | None = None
        self._since = 0.0  # when _current began
        self._candidate: str | None = None
        self._first = 0.0  # the candidate's first window start
        self._count = 0
        self._over = 0  # consecutive windows whose smoothed unknown score is over its threshold
        self._over_first = 0.0  # the first of them

    def push(self, scores: np.ndarray, start: float, unknown: float | None = None) -> Event | None:
        """A window's probabilities (and unknown score, for a model with one) from ``start``."""
        self._recent.append(np.asarray(scores, dtype=np.float64))
        mean = np.mean(self._recent, axis=0)
        best = int(np.argmax(mean))
        label, score = (self.labels[best] if mean[best] >= self.threshold else "none"), float(mean[best])
        if unknown is not None and self.unknown_threshold is not None:
            self._unknown.append(float(unknown))
            smoothed = float(np.mean(self._unknown))
            if smoothed <= self.unknown_threshold:
                self._over = 0
            else:
                self._over, self._over_first = self._over + 1, (start if self._over == 0 else self._over_first)
                if self._current == "unknown":
                    return None
                if self._over >= self._unknown_hold:
                    self._first = self._over_first
                    return self._change("unknown", smoothed)
        if label == self._current:
            self._candidate = None
            return None
        if label != self._candidate:
            self._candidate, self._first, self._count = label, start, 0
        self._count += 1
        if self._count < self._hold:
            return None
        return self._change(label, score)

    def _change(self, label: str, score: float) -> Event:
        # A window's label flips when its middle crosses the change; a k-window average flips (k-1)/2 hops later.
        lag = (len(self._recent) - 1) / 2 * self.hop
        start = self._first if self._current is None else max(0.0, self._first + self.window / 2 - lag)
        start = max(start, self._since)  # never before the label it replaces began ("unknown" after a change)
        event = Event(label, start, score, self._current or "", self._since)
        self._current, self._since, self._candidate = label, start, None
        return event


def unknown_hold_windows(hold: int, window: int, hop: int, smoothing: int) -> int:
    """Windows "unknown" must hold: ``hold`` but at least two (one known window in 20 is over a threshold set for
    5 %), plus every window a change between two known classes can make look unknown: up to ceil(window / hop) - 1
    windows straddle the change, holding part of each class, and averaging k windows spreads them over k - 1 more.
    Without the blur, every change of class flickered "unknown"; without the second window, a change next to one
    known window over the threshold did (an IMU stream in the end-to-end tests)."""
    return max(hold, 2) + math.ceil(window / hop) - 1 + max(1, smoothing) - 1


def hold_windows(min_duration: float, hop: float) -> int:
    """Consecutive windows a new label must top: one per hop of min_duration, at least one."""
    return max(1, math.ceil(min_duration / hop - 1e-9))
