"""Dynamic batching: concurrent requests for one model merged into one graph call.

A request's inputs wait in a queue until the batch is full (max_batch inputs),
as many inputs wait as the last batch held, or the oldest request has waited
max_delay; the worker then runs the graph once and hands each request its
rows. The middle rule is for clients that call again as soon as they are
answered: all of them are back, and none of the delay would add one more
(eight such clients never fill 32 and lost 11 % to the timeout). It also
runs a lone request at once under light load. A request whose deadline passes, or
whose client cancels, while it waits is dropped before it costs any model
time. A full queue refuses new work at once instead of growing without bound.
``close()`` (a version reloaded or removed) lets the worker finish what is
queued and end, so the graph it holds can be freed.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["Batcher", "BatchConfig", "QueueFull", "Expired", "Unloaded"]


class QueueFull(Exception):
    """More inputs are queued than the batcher allows (RESOURCE_EXHAUSTED)."""


class Expired(Exception):
    """The request's deadline passed or it was cancelled while queued."""


@dataclass(frozen=True)
class BatchConfig:
    max_batch: int = 0  # inputs per graph call; 0 turns batching off
    max_delay: float = 0.002  # seconds the oldest request may wait for others
    max_queue: int = 512  # inputs waiting at most

    @property
    def enabled(self) -> bool:
        return self.max_batch > 1


@dataclass
class _Request:
    inputs: np.ndarray
    deadline: float | None  # time.monotonic() value
    is_active: Callable[[], bool]
    enqueued: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)
    result: np.ndarray | None = None
    error: BaseException | None = None
    abandoned: bool = False  # the caller stopped waiting

    def expired(self, now: float) -> bool:
        return self.abandoned or (self.deadline is not None and now >= self.deadline) or not self.is_active()


class Unloaded(Exception):
    """The model version was unloaded while the call was on its way (UNAVAILABLE: retry)."""


def _closed_run(inputs: np.ndarray) -> np.ndarray:
    raise Unloaded("the model version was reloaded or removed while this call was on its way; retry")


class Batcher:
    def __init__(self, run: Callable[[np.ndarray], np.ndarray], config: BatchConfig,
                 observe: Callable[[list[float], int], None] = lambda waits, size: None, name: str = "batcher"):
        """run maps inputs [n, ...] to outputs [n, ...]; observe(each request's queue seconds, inputs in the
        batch) is called once per graph call, for metrics."""
        self._run, self._config, self._observe = run, config, observe
        self._queue: deque[_Request] = deque()
        self._queued = 0
        self._last = 1  # inputs in the last batch: that many waiting are worth running at once
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, inputs: np.ndarray, deadline: float | None = None,
               is_active: Callable[[], bool] = lambda: True) -> np.ndarray:
        """Queue inputs, wait for their outputs; raises QueueFull or Expired."""
        req = _Request(inputs, deadline, is_active)
        with self._cond:
            alone = self._run if self._closed else None
            if alone is None:
                if self._queued + len(inputs) > self._config.max_queue:
                    raise QueueFull(f"{self._queued} inputs are queued for this model; the limit is "
                                    f"{self._config.max_queue}: retry later or with a longer deadline")
                self._queue.append(req)
                self._queued += len(inputs)
                self._cond.notify()
        if alone is not None:  # the version was replaced while this call was on its way: run it alone
            return alone(inputs)
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not req.done.wait(timeout):
            with self._cond:
                if not req.done.is_set():
                    req.abandoned = True  # the worker drops it unrun
                    raise Expired("deadline exceeded while queued for a batch")
        if req.error is not None:
            raise req.error
        return req.result

    def close(self, timeout: float = 30.0) -> None:
        """Finish what is queued, then end the worker thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)
        if not self._thread.is_alive():
            # The worker and this object reference each other; without this the graph in ``run``
            # would wait for a full garbage collection to be freed.
            self._run = _closed_run

    def _take(self) -> list[_Request] | None:
        """Wait for work, then collect a batch: full, or the oldest request's delay is up; None once closed and idle."""
        with self._cond:
            while not self._queue:
                if self._closed:
                    return None
                self._cond.wait()
            while self._queued < min(self._config.max_batch, self._last) and not self._closed:
                left = self._queue[0].enqueued + self._config.max_delay - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            batch, size, now = [], 0, time.monotonic()
            while self._queue and (not batch or size + len(self._queue[0].inputs) <= self._config.max_batch):
                req = self._queue.popleft()
                self._queued -= len(req.inputs)
                if req.expired(now):
                    req.error = Expired("deadline exceeded or call cancelled while queued for a batch")
                    req.done.set()
                    continue
                batch.append(req)
                size += len(req.inputs)
            self._last = max(1, size)
            return batch

    def _loop(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            if not batch:
                continue
            now = time.monotonic()
            self._observe([now - r.enqueued for r in batch], sum(len(r.inputs) for r in batch))
            try:
                out = self._run(np.concatenate([r.inputs for r in batch]))
                start = 0
                for req in batch:
                    req.result = out[start:start + len(req.inputs)]
                    start += len(req.inputs)
            except BaseException as e:  # every waiting caller gets the graph's error
                for req in batch:
                    req.error = e
            for req in batch:
                req.done.set()
