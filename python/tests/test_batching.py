import threading
import time

import numpy as np
import pytest

from sigop.serving.batching import BatchConfig, Batcher, Expired, QueueFull


class GatedRun:
    """A 'graph' that records batch sizes and holds its first call until released."""

    def __init__(self):
        self.sizes, self.entered, self.release = [], threading.Event(), threading.Event()

    def __call__(self, x):
        self.sizes.append(len(x))
        if len(self.sizes) == 1:
            self.entered.set()
            assert self.release.wait(30)
        return x * 2


def submit_in_thread(batcher, images, results, key, **kw):
    def go():
        try:
            results[key] = batcher.submit(images, **kw)
        except Exception as e:  # noqa: BLE001 - the test inspects it
            results[key] = e

    t = threading.Thread(target=go)
    t.start()
    return t


def wait_queued(batcher, images):
    with batcher._cond:
        while batcher._queued < images:
            batcher._cond.wait(0.01)


def test_requests_that_arrive_while_the_graph_runs_share_one_call():
    run = GatedRun()
    b = Batcher(run, BatchConfig(max_batch=8, max_delay=0.0, max_queue=64))
    results = {}
    first = submit_in_thread(b, np.array([[0.0]]), results, "first")
    assert run.entered.wait(30)
    threads = [submit_in_thread(b, np.array([[float(i)]]), results, i) for i in range(1, 8)]
    wait_queued(b, 7)
    run.release.set()
    for t in [first, *threads]:
        t.join(30)
    assert run.sizes == [1, 7]
    for i in range(1, 8):
        assert results[i].tolist() == [[2.0 * i]]  # each caller gets its own rows back


def test_full_queue_is_refused_at_once():
    run = GatedRun()
    b = Batcher(run, BatchConfig(max_batch=4, max_delay=0.0, max_queue=3))
    results = {}
    submit_in_thread(b, np.zeros((1, 1)), results, "busy")
    assert run.entered.wait(30)
    submit_in_thread(b, np.zeros((3, 1)), results, "queued")
    wait_queued(b, 3)
    with pytest.raises(QueueFull, match="limit is 3"):
        b.submit(np.zeros((1, 1)))
    run.release.set()


def test_expired_and_cancelled_requests_cost_no_model_time():
    run = GatedRun()
    b = Batcher(run, BatchConfig(max_batch=8, max_delay=0.0, max_queue=64))
    results = {}
    first = submit_in_thread(b, np.zeros((1, 1)), results, "first")
    assert run.entered.wait(30)
    late = submit_in_thread(b, np.zeros((2, 1)), results, "late", deadline=time.monotonic() + 0.05)
    late.join(30)  # its caller gave up while the graph was busy
    cancelled = {"active": True}
    gone = submit_in_thread(b, np.zeros((3, 1)), results, "gone", is_active=lambda: cancelled["active"])
    kept = submit_in_thread(b, np.ones((1, 1)), results, "kept")
    wait_queued(b, 6)
    cancelled["active"] = False
    run.release.set()
    for t in (first, gone, kept):
        t.join(30)
    assert isinstance(results["late"], Expired) and isinstance(results["gone"], Expired)
    assert results["kept"].tolist() == [[2.0]]
    assert run.sizes == [1, 1]  # neither the late nor the cancelled rows reached the graph


def test_graph_errors_reach_every_caller_in_the_batch():
    sizes, entered, release = [], threading.Event(), threading.Event()

    def run(x):  # the first call is held so three callers queue up; the batch they form fails
        sizes.append(len(x))
        if len(sizes) == 1:
            entered.set()
            assert release.wait(30)
            return x
        raise RuntimeError("graph failed")

    b = Batcher(run, BatchConfig(max_batch=8, max_delay=0.0))
    results = {}
    submit_in_thread(b, np.zeros((1, 1)), results, "first")
    assert entered.wait(30)
    threads = [submit_in_thread(b, np.full((1, 1), i), results, i) for i in range(3)]
    wait_queued(b, 3)
    release.set()
    for t in threads:
        t.join(30)
    assert sizes == [1, 3]  # the three callers shared one graph call
    for i in range(3):
        assert isinstance(results[i], RuntimeError) and "graph failed" in str(results[i])


def test_as_many_waiting_as_the_last_batch_held_run_without_the_delay():
    """Closed-loop clients: once all are back, waiting for others who are not coming only adds delay."""
    run = GatedRun()
    b = Batcher(run, BatchConfig(max_batch=32, max_delay=3600.0, max_queue=64))  # a delay no test outlives
    results = {}
    first = submit_in_thread(b, np.array([[0.0]]), results, "first")
    assert run.entered.wait(30)  # alone, at once: no batch before it, so one waiting is as many as the last held
    threads = [submit_in_thread(b, np.array([[float(i)]]), results, i) for i in range(1, 4)]
    wait_queued(b, 3)
    run.release.set()
    for t in [first, *threads]:
        t.join(30)
    again = [submit_in_thread(b, np.array([[float(i)]]), results, ("again", i)) for i in range(3)]
    for t in again:
        t.join(30)
        assert not t.is_alive(), "three requests after a batch of three waited for the hour-long delay"
    assert run.sizes[:2] == [1, 3] and sum(run.sizes[2:]) == 3
