"""ClassifyStream: windows and events from a real server, equal to ClassifySignal on the same windows."""

import shutil

import grpc
import numpy as np
import pytest

from sigop.datasets.article import CLASSES, generate
from sigop.operator.v1 import operator_pb2 as pb
from sigop.operator.v1 import operator_pb2_grpc as pb_grpc
from sigop.serving.stream import Smoother, Windows


def test_windows_hold_only_what_later_windows_need():
    w = Windows(4, 2)
    got = w.feed(np.arange(3.0)) + w.feed(np.arange(3.0, 9.0))
    assert [s for s, _ in got] == [0, 2, 4]
    assert [x.tolist() for _, x in got] == [[0, 1, 2, 3], [2, 3, 4, 5], [4, 5, 6, 7]]
    assert w.held == 3  # samples 6..8: the next window starts at 6
    skip = Windows(2, 5)  # a hop longer than the window: samples between windows are dropped as they arrive
    assert [s for s, _ in skip.feed(np.arange(12.0))] == [0, 5, 10] and skip.held == 0


def test_smoother_reports_a_change_once_it_has_held():
    s = Smoother(["a", "b"], windows=1, hold_windows=2, hop=1.0, window=1.0)
    events = [s.push(np.array(p), t) for t, p in enumerate([[.9, .1], [.9, .1], [.2, .8], [.9, .1], [.2, .8], [.1, .9]])]
    assert [(e.label, e.start, e.previous) for e in events if e] == [("a", 0.0, ""), ("b", 4.5, "a")]


@pytest.fixture(scope="module")
def stub(article_model, fft_graph_dir, tmp_path_factory):
    from sigop.serving.server import Server, ServerConfig

    root = tmp_path_factory.mktemp("stream-graphs")
    shutil.copytree(fft_graph_dir, root / "fft")
    shutil.copytree(article_model[0], root / "article")
    server = Server(ServerConfig(graphs=root, address="127.0.0.1:0", poll_seconds=0)).start()
    yield pb_grpc.OperatorStub(grpc.insecure_channel(server.address))
    server.stop(0)


def stream_requests(config, signal, rng):
    yield pb.ClassifyStreamRequest(config=config)
    i = 0
    while i < len(signal):
        n = int(rng.integers(1, 3000))
        chunk = np.asarray(signal[i:i + n], "<f8")
        yield pb.ClassifyStreamRequest(samples=pb.Float64Tensor(shape=[len(chunk)], content=chunk.tobytes()))
        i += n


def test_a_device_that_switches_class_midway_gives_one_event_at_the_switch(stub):
    rng = np.random.default_rng(31)
    red, blue = CLASSES[0], CLASSES[1]
    signal = np.concatenate([generate(red, rng) for _ in range(8)] + [generate(blue, rng) for _ in range(8)])
    config = pb.StreamConfig(model_spec=pb.ModelSpec(name="article"), hop=512, smoothing_windows=3, top_k=1)
    out = list(stub.ClassifyStream(stream_requests(config, signal, rng)))
    windows = [r.window for r in out if r.WhichOneof("kind") == "window"]
    events = [r.event for r in out if r.WhichOneof("kind") == "event"]
    assert [w.start_sample for w in windows] == list(range(0, len(signal) - 1024 + 1, 512))
    assert [(e.label, e.previous) for e in events] == [(red.name, ""), (blue.name, red.name)]
    assert abs(events[1].start_seconds - 8 * 1024) <= 512  # within one hop of the switch
    # Each window's scores are ClassifySignal's on the same samples.
    for w in windows[::5]:
        x = np.asarray(signal[w.start_sample:w.end_sample], "<f8")[None]
        want = stub.ClassifySignal(pb.ClassifySignalRequest(model_spec=pb.ModelSpec(name="article"), top_k=1, signals=pb.Float64Tensor(
            shape=list(x.shape), content=x.tobytes()))).classifications[0].classes[0]
        got = w.classification.classes[0]
        assert got.label == want.label and got.score == pytest.approx(want.score, abs=1e-6)


def test_a_stream_without_its_config_first_gets_invalid_argument(stub):
    x = np.zeros(10, "<f8")
    with pytest.raises(grpc.RpcError) as e:
        list(stub.ClassifyStream(iter([pb.ClassifyStreamRequest(samples=pb.Float64Tensor(shape=[10], content=x.tobytes()))])))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "first message" in e.value.details()


def test_streams_beyond_the_limit_get_resource_exhausted_and_the_open_one_keeps_going(article_model, fft_graph_dir,
                                                                                      tmp_path):
    import threading

    from sigop.limits import Limits
    from sigop.serving.server import Server, ServerConfig

    shutil.copytree(fft_graph_dir, tmp_path / "fft")
    shutil.copytree(article_model[0], tmp_path / "article")
    server = Server(ServerConfig(graphs=tmp_path, address="127.0.0.1:0", poll_seconds=0,
                                 limits=Limits(max_streams=1))).start()
    try:
        stub = pb_grpc.OperatorStub(grpc.insecure_channel(server.address))
        more = threading.Event()
        signal = np.asarray(generate(CLASSES[0], np.random.default_rng(2)), "<f8")
        chunk = pb.ClassifyStreamRequest(samples=pb.Float64Tensor(shape=[signal.size], content=signal.tobytes()))

        def first_stream():
            yield pb.ClassifyStreamRequest(config=pb.StreamConfig(model_spec=pb.ModelSpec(name="article")))
            yield chunk
            assert more.wait(60)
            yield chunk

        responses = stub.ClassifyStream(first_stream())
        assert next(responses).WhichOneof("kind") == "window"  # the first stream is open and holds the only slot
        with pytest.raises(grpc.RpcError) as e:
            list(stub.ClassifyStream(iter([pb.ClassifyStreamRequest(config=pb.StreamConfig(
                model_spec=pb.ModelSpec(name="article")))])))
        assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "--max-streams" in e.value.details()
        more.set()
        rest = [r.WhichOneof("kind") for r in responses]
        assert rest.count("window") == 1  # its second window, after the refusal
    finally:
        server.stop(0)
