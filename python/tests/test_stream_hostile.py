"""Issue 21's table, row by row, against a real `sigop serve` process: streams that hold a slot and send
nothing, a hot reload under open streams and unary calls, and configs beyond what the server represents. Each
asserts its documented status code and that health stays SERVING."""

from __future__ import annotations

import shutil
import sys
import threading
import time
import urllib.request
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sigop.datasets.article import CLASSES, generate
from sigop.operator.v1 import operator_pb2 as pb
from sigop.operator.v1 import operator_pb2_grpc as pb_grpc
from sigop.serving.process import ServerProcess

SIGOP = str(Path(sys.executable).with_name("sigop"))


@pytest.fixture(scope="module")
def graphs(tmp_path_factory, fft_graph_dir, article_model, digits_model) -> Path:
    root = tmp_path_factory.mktemp("stream-hostile-graphs")
    shutil.copytree(fft_graph_dir, root / "fft")
    shutil.copytree(article_model[0], root / "article" / "1")
    shutil.copytree(digits_model[0], root / "digits")
    return root


def assert_serving(s: ServerProcess) -> None:
    with grpc.insecure_channel(s.address) as channel:
        r = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="sigop.operator.v1.Operator"),
                                                      timeout=30)
    assert r.status == health_pb2.HealthCheckResponse.SERVING and s.proc.poll() is None


def config(model: str, **fields) -> pb.ClassifyStreamRequest:
    return pb.ClassifyStreamRequest(config=pb.StreamConfig(model_spec=pb.ModelSpec(name=model), **fields))


def samples(x) -> pb.ClassifyStreamRequest:
    x = np.asarray(x, "<f8")
    return pb.ClassifyStreamRequest(samples=pb.Float64Tensor(shape=[x.size], content=x.tobytes()))


def open_streams(s: ServerProcess) -> float:
    """The server's sigop_streams_open gauge."""
    port = int(s.log[s.wait_for_log("metrics on http://") - 1].rsplit(":", 1)[1].split("/")[0])
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read().decode()
    return float(next(line.split()[1] for line in text.splitlines() if line.startswith("sigop_streams_open ")))


def test_streams_that_send_nothing_lose_their_slots_to_a_device_that_sends(graphs):
    with ServerProcess(SIGOP, graphs, "--workers", "4", "--max-streams", "2", "--poll-seconds", "0",
                       "--stream-first-message-seconds", "3", "--stream-idle-seconds", "3",
                       "--metrics-address", "127.0.0.1:0") as s:
        op = pb_grpc.OperatorStub(grpc.insecure_channel(s.address))
        hang = threading.Event()

        def nothing():  # opens the stream and never sends
            hang.wait(120)
            yield from ()

        def config_then_nothing():
            yield config("article")
            hang.wait(120)

        idle = [op.ClassifyStream(nothing()), op.ClassifyStream(config_then_nothing())]
        try:
            deadline = time.monotonic() + 60
            while open_streams(s) < 2:  # both hold their slots
                assert time.monotonic() < deadline, "the idle streams never opened"
                time.sleep(0.05)
            x = np.asarray(generate(CLASSES[0], np.random.default_rng(1)), "<f8")
            with pytest.raises(grpc.RpcError) as e:
                list(op.ClassifyStream(iter([config("article"), samples(x)])))
            assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED  # every slot is held, by streams sending nothing

            got = None  # a device retrying as a client would: it gets a slot once the idle ones time out
            while got is None and time.monotonic() < deadline:
                try:
                    got = [r.WhichOneof("kind") for r in op.ClassifyStream(iter([config("article"), samples(x)]))]
                except grpc.RpcError as e:
                    assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e.details()
                    time.sleep(0.1)
            assert got is not None and "window" in got
            for call, which in zip(idle, ("its config", "samples")):
                with pytest.raises(grpc.RpcError) as e:
                    list(call)
                assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED, e.value.details()
                assert f"no message ({which})" in e.value.details() and "--stream-idle-seconds" in e.value.details()
            assert open_streams(s) == 0
        finally:
            hang.set()
        assert_serving(s)


@pytest.mark.parametrize("batching", [("--batch-max-size", "8"), ()], ids=["batching on", "batching off"])
def test_a_stream_keeps_its_version_through_reloads_while_unary_calls_use_the_new_one(graphs, tmp_path, batching):
    root = tmp_path / "graphs"
    shutil.copytree(graphs / "fft", root / "fft")
    shutil.copytree(graphs / "article", root / "article")
    manifest = root / "article" / "1" / "manifest.json"
    rng = np.random.default_rng(7)
    chunks = [np.asarray(generate(CLASSES[i % 2], rng), "<f8") for i in range(60)]
    with ServerProcess(SIGOP, root, "--poll-seconds", "0", *batching) as s:
        op = pb_grpc.OperatorStub(grpc.insecure_channel(s.address))
        answered = threading.Semaphore(0)
        stream_done = threading.Event()
        failures: list[str] = []

        def device():  # one window at a time: the next chunk goes once the last window is answered
            yield config("article")
            for x in chunks:
                yield samples(x)
                if not answered.acquire(timeout=120):
                    return

        def unary():
            x = chunks[0][None]
            while not stream_done.is_set():
                try:
                    op.ClassifySignal(pb.ClassifySignalRequest(model_spec=pb.ModelSpec(name="article"), signals=pb.Float64Tensor(
                        shape=list(x.shape), content=x.tobytes())), timeout=60)
                except grpc.RpcError as e:
                    failures.append(f"unary: {e.code()}: {e.details()}")

        callers = [threading.Thread(target=unary) for _ in range(2)]
        for t in callers:
            t.start()
        windows, seen = 0, 0
        try:
            for reply in op.ClassifyStream(device()):
                if reply.WhichOneof("kind") == "window":
                    windows += 1
                    answered.release()
                    if windows in (15, 35):  # a hot reload of the same version's files, twice, mid-stream
                        manifest.write_text(manifest.read_text())
                        s.signal(1)  # SIGHUP
                        seen = s.wait_for_log("models now", after=seen)
        except grpc.RpcError as e:
            failures.append(f"stream after {windows} windows: {e.code()}: {e.details()}")
        finally:
            stream_done.set()
            for t in callers:
                t.join()
        assert failures == [] and windows == len(chunks)
        assert_serving(s)


@pytest.mark.parametrize("model, fields, says", [
    ("digits", {"sample_rate": 1e-6}, "config.sample_rate 1e-06 Hz makes the model's window"),
    ("digits", {"hop": 1e305}, "config.hop 1e+305 seconds"),
    ("digits", {"hop": 1, "min_duration": 1e308}, "config.min_duration 1e+308 seconds"),
    ("article", {"hop": 1e305}, "config.hop 1e+305 samples"),
    ("article", {"min_duration": 1e308}, "config.min_duration 1e+308 samples"),
    ("digits", {"hop": 0, "sample_rate": 1e-6}, "makes the model's window"),  # the window is at fault, not the hop
])
def test_configs_beyond_what_the_server_represents_are_invalid_argument_naming_the_field(graphs, model, fields, says,
                                                                                         server):
    op = pb_grpc.OperatorStub(grpc.insecure_channel(server.address))
    with pytest.raises(grpc.RpcError) as e:
        list(op.ClassifyStream(iter([config(model, **fields)])))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and says in e.value.details(), e.value.details()
    assert_serving(server)


@pytest.mark.parametrize("model", ["article", "digits"])
def test_huge_sample_values_are_refused_alike_by_both_model_kinds(model, server):
    op = pb_grpc.OperatorStub(grpc.insecure_channel(server.address))
    with pytest.raises(grpc.RpcError) as e:
        list(op.ClassifyStream(iter([config(model), samples(np.full(30000, 1e308))])))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value.details()
    assert_serving(server)


@pytest.fixture(scope="module")
def server(graphs):
    with ServerProcess(SIGOP, graphs, "--poll-seconds", "0") as s:
        yield s
