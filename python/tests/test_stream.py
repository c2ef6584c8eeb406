"""ClassifyStream: windows and events from a real server, equal to ClassifySignal on the same windows."""

import shutil
import threading
import time
import tracemalloc

import grpc
import numpy as np
import pytest

from sigop.datasets.article import CLASSES, generate
from sigop.operator.v1 import operator_pb2 as pb
from sigop.operator.v1 import operator_pb2_grpc as pb_grpc
from sigop.serving.events import Smoother
from sigop.serving.stream import Windows


def test_windows_hold_only_what_later_windows_need():
    w = Windows(4, 2)
    got = list(w.feed(np.arange(3.0))) + list(w.feed(np.arange(3.0, 9.0)))
    assert [s for s, _ in got] == [0, 2, 4]
    assert [x.tolist() for _, x in got] == [[0, 1, 2, 3], [2, 3, 4, 5], [4, 5, 6, 7]]
    assert w.held == 3  # samples 6..8: the next window starts at 6
    skip = Windows(2, 5)  # a hop longer than the window: samples between windows are dropped as they arrive
    assert [s for s, _ in skip.feed(np.arange(12.0))] == [0, 5, 10] and skip.held == 0
    assert w.finish() == [] and skip.finish() == []  # a remainder after the last window gives none


def test_a_chunk_of_many_windows_holds_one_window_at_a_time():
    # A hop of one sample makes a 50,000-sample chunk into 49,000 windows of 1024: 400 MB if they were all made
    # before the first is classified. Taken one at a time, the stream holds the chunk and one window.
    w = Windows(1024, 1)
    chunk = np.zeros(50_000)
    tracemalloc.start()
    try:
        count = sum(1 for _ in w.feed(chunk))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 50_000 - 1024 + 1
    assert peak < 4 * chunk.nbytes, f"peak {peak / 2**20:.1f} MiB while windowing a {chunk.nbytes / 2**20:.1f} MiB chunk"
    assert w.held == 1023  # what the next window still needs


def test_a_stream_shorter_than_one_window_is_one_padded_window():
    w = Windows(4, 2)
    assert list(w.feed(np.array([1.0, 2.0]))) == [] and list(w.feed(np.array([3.0]))) == []
    [(start, x)] = w.finish()
    assert start == 0 and x.tolist() == [1, 2, 3, 0]
    assert Windows(4, 2).finish() == []  # nothing sent, nothing classified


def test_smoother_reports_a_change_once_it_has_held():
    s = Smoother(["a", "b"], windows=1, hold_windows=2, hop=1.0, window=1.0)
    events = [s.push(np.array(p), t) for t, p in enumerate([[.9, .1], [.9, .1], [.2, .8], [.9, .1], [.2, .8], [.1, .9]])]
    assert [(e.label, e.start, e.previous, e.previous_start) for e in events if e] == [("a", 0.0, "", 0.0),
                                                                                        ("b", 4.5, "a", 0.0)]


@pytest.fixture(scope="module")
def stub(article_model, fft_graph_dir, tmp_path_factory):
    from sigop.serving.server import Server, ServerConfig

    root = tmp_path_factory.mktemp("stream-graphs")
    shutil.copytree(fft_graph_dir, root / "fft")
    shutil.copytree(article_model[0], root / "article")
    server = Server(ServerConfig(graphs=root, address="127.0.0.1:0", poll_seconds=0,
                                 metrics_address="127.0.0.1:0")).start()
    stub = pb_grpc.OperatorStub(grpc.insecure_channel(server.address))
    stub.metrics_port = server.metrics_port
    yield stub
    server.stop(0)


def test_streams_are_counted_and_their_failures_logged_like_unary_calls(stub, caplog):
    import urllib.request

    def count(code: str) -> float:
        text = urllib.request.urlopen(f"http://127.0.0.1:{stub.metrics_port}/metrics", timeout=30).read().decode()
        line = f'sigop_requests_total{{code="{code}",method="ClassifyStream"}} '
        return next((float(row[len(line):]) for row in text.splitlines() if row.startswith(line)), 0.0)

    ok, bad = count("OK"), count("INVALID_ARGUMENT")
    x = np.asarray(generate(CLASSES[0], np.random.default_rng(2)), "<f8")
    good = [pb.ClassifyStreamRequest(config=pb.StreamConfig(model_spec=pb.ModelSpec(name="article"))),
            pb.ClassifyStreamRequest(samples=pb.Float64Tensor(shape=[len(x)], content=x.tobytes()))]
    assert [r.WhichOneof("kind") for r in stub.ClassifyStream(iter(good))].count("window") >= 1  # read to its end
    with caplog.at_level("WARNING", logger="sigop.requests"), pytest.raises(grpc.RpcError) as e:
        list(stub.ClassifyStream(iter([good[0], pb.ClassifyStreamRequest(
            samples=pb.Float64Tensor(shape=[2, 3], content=np.zeros(6, "<f8").tobytes()))])))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert count("OK") == ok + 1 and count("INVALID_ARGUMENT") == bad + 1
    assert any("rpc=ClassifyStream code=INVALID_ARGUMENT" in r.getMessage() for r in caplog.records)


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
    assert abs(events[1].start_sample - 8 * 1024) <= 512  # within one hop of the switch
    assert events[1].start_seconds == 0 and windows[1].start_seconds == 0  # no rate: samples only, never as seconds
    # The same stream with its rate: a spectrum model has none, so the rate is the stream's clock; hop in seconds.
    timed = pb.StreamConfig(model_spec=pb.ModelSpec(name="article"), sample_rate=1000, hop=0.512,
                            smoothing_windows=3, top_k=1)
    again = list(stub.ClassifyStream(stream_requests(timed, signal, rng)))
    timed_windows = [r.window for r in again if r.WhichOneof("kind") == "window"]
    timed_events = [r.event for r in again if r.WhichOneof("kind") == "event"]
    assert [w.start_sample for w in timed_windows] == [w.start_sample for w in windows]
    assert [w.start_seconds for w in timed_windows] == [w.start_sample / 1000 for w in windows]
    assert [(e.label, e.start_sample) for e in timed_events] == [(e.label, e.start_sample) for e in events]
    assert timed_events[1].start_seconds == timed_events[1].start_sample / 1000
    assert timed_events[1].previous_start_seconds == timed_events[0].start_seconds
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


@pytest.mark.parametrize("config, code, says", [
    (pb.StreamConfig(model_spec=pb.ModelSpec(name="nope")), grpc.StatusCode.NOT_FOUND, "nope"),
    (pb.StreamConfig(model_spec=pb.ModelSpec(name="article"), hop=-1), grpc.StatusCode.INVALID_ARGUMENT, "config.hop"),
    (pb.StreamConfig(model_spec=pb.ModelSpec(name="article"), sample_rate=-8000), grpc.StatusCode.INVALID_ARGUMENT,
     "clock of this stream"),
    (pb.StreamConfig(model_spec=pb.ModelSpec(name="article"), threshold=2), grpc.StatusCode.INVALID_ARGUMENT,
     "threshold"),
    (pb.StreamConfig(model_spec=pb.ModelSpec(name="article"), smoothing_windows=2**31 - 1),
     grpc.StatusCode.INVALID_ARGUMENT, "smoothing_windows must be 0 to 1024"),
    (pb.StreamConfig(model_spec=pb.ModelSpec(name="article"), min_duration=float("nan")),
     grpc.StatusCode.INVALID_ARGUMENT, "config.min_duration is nan"),
    (pb.StreamConfig(model_spec=pb.ModelSpec(name="article"), min_duration=float("inf")),
     grpc.StatusCode.INVALID_ARGUMENT, "config.min_duration is inf"),
])
def test_a_bad_config_gets_its_code_and_says_what_was_expected(stub, config, code, says):
    with pytest.raises(grpc.RpcError) as e:
        list(stub.ClassifyStream(iter([pb.ClassifyStreamRequest(config=config)])))
    assert e.value.code() == code and says in e.value.details()


def test_a_bad_chunk_ends_the_stream_after_the_results_already_sent(stub):
    x = np.asarray(generate(CLASSES[0], np.random.default_rng(8)), "<f8")
    good = pb.ClassifyStreamRequest(samples=pb.Float64Tensor(shape=[x.size], content=x.tobytes()))
    ragged = pb.ClassifyStreamRequest(samples=pb.Float64Tensor(shape=[3], content=x[:2].tobytes()))
    call = stub.ClassifyStream(iter([pb.ClassifyStreamRequest(config=pb.StreamConfig(
        model_spec=pb.ModelSpec(name="article"))), good, ragged, good]))
    got = []
    with pytest.raises(grpc.RpcError) as e:
        for r in call:
            got.append(r.WhichOneof("kind"))
    assert got == ["window", "event"]  # the first window's result and the stream's first event arrived
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and e.value.details().startswith("message 2: signals:")
    assert stub.ClassifyStream(iter([pb.ClassifyStreamRequest(config=pb.StreamConfig(
        model_spec=pb.ModelSpec(name="article"))), good])).next().HasField("window")  # the server keeps serving


@pytest.fixture
def one_slot(article_model, fft_graph_dir, tmp_path):
    """A server that takes one stream at a time: a stub to it."""
    from sigop.limits import Limits
    from sigop.serving.server import Server, ServerConfig

    shutil.copytree(fft_graph_dir, tmp_path / "fft")
    shutil.copytree(article_model[0], tmp_path / "article")
    server = Server(ServerConfig(graphs=tmp_path, address="127.0.0.1:0", poll_seconds=0,
                                 limits=Limits(max_streams=1))).start()
    yield pb_grpc.OperatorStub(grpc.insecure_channel(server.address))
    server.stop(0)


def test_streams_beyond_the_limit_get_resource_exhausted_and_the_open_one_keeps_going(one_slot):
    stub = one_slot
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


def test_streams_may_hold_half_the_workers_unless_told_and_never_all(fft_graph_dir, tmp_path):
    from sigop.limits import Limits
    from sigop.serving.server import Server, ServerConfig

    shutil.copytree(fft_graph_dir, tmp_path / "fft")
    server = Server(ServerConfig(graphs=tmp_path, address="127.0.0.1:0", poll_seconds=0, workers=5))
    try:
        assert server.core.limits.max_streams == 2
    finally:
        server.stop(0)
    with pytest.raises(ValueError, match="--max-streams 4 must stay below --workers 4"):
        Server(ServerConfig(graphs=tmp_path, address="127.0.0.1:0", poll_seconds=0, workers=4,
                            limits=Limits(max_streams=4)))


def test_a_cancelled_or_expired_stream_gives_its_slot_back(one_slot):
    stub = one_slot
    signal = np.asarray(generate(CLASSES[0], np.random.default_rng(4)), "<f8")
    config = pb.ClassifyStreamRequest(config=pb.StreamConfig(model_spec=pb.ModelSpec(name="article")))
    chunk = pb.ClassifyStreamRequest(samples=pb.Float64Tensor(shape=[signal.size], content=signal.tobytes()))
    forever = threading.Event()

    def open_then_idle():
        yield config
        yield chunk
        forever.wait(120)  # the device goes quiet; only the client's cancel or deadline ends the call

    def opens() -> bool:
        """A new stream is answered (True) or gets RESOURCE_EXHAUSTED (False). Read to its end: the server frees
        a stream's slot before it sends the final status, so a stream read to its end holds no slot."""
        try:
            return "window" in [r.WhichOneof("kind") for r in stub.ClassifyStream(iter([config, chunk]), timeout=30)]
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e
            return False

    for end in ("cancel", "deadline"):
        call = stub.ClassifyStream(open_then_idle(), timeout=None if end == "cancel" else 3)
        assert next(call).HasField("window")  # open: it holds the only slot
        assert not opens()
        if end == "cancel":
            call.cancel()
        with pytest.raises(grpc.RpcError) as e:
            list(call)
        assert e.value.code() == (grpc.StatusCode.CANCELLED if end == "cancel" else grpc.StatusCode.DEADLINE_EXCEEDED)
        deadline = time.monotonic() + 60  # the server notices the end on its own thread; poll, never sleep
        while not opens():
            assert time.monotonic() < deadline, f"the slot of a stream ended by {end} never came back"
    forever.set()


# ---- a model that watches: spoken digits separated by silence ------------------------------------------------------

HOP = 0.25


@pytest.fixture(scope="module")
def watching_digits(digits_model, tmp_path_factory, fft_graph_dir):
    """The digits fixture's clips made into watch windows (sigop watch-set) and a log-mel CNN trained on them,
    served; with new takes of four of its voices speaking every digit (recordings it never heard)."""
    from sigop.datasets.digits import SPEAKER_GROUP, make_digits
    from sigop.serving.server import Server, ServerConfig
    from sigop.training import TrainConfig, train
    from sigop.watchset import make_watch_set

    root = tmp_path_factory.mktemp("watch")
    make_watch_set(digits_model[2], root / "windows", seed=0, progress=False)
    train(TrainConfig(data=root / "windows", out=root / "graphs" / "digits", model="cnn", front_end="log_mel",
                      group=SPEAKER_GROUP, duration=1.0, epochs=60, patience=10, progress=False, saved_model=False,
                      cache_dir=None))
    shutil.copytree(fft_graph_dir, root / "graphs" / "fft")
    make_digits(root / "takes", accents=("en-us", "en-gb"), variants=("m1", "f2"), takes=1, seed=77, progress=False)
    server = Server(ServerConfig(graphs=root / "graphs", address="127.0.0.1:0", poll_seconds=0)).start()
    yield pb_grpc.OperatorStub(grpc.insecure_channel(server.address)), root / "takes"
    server.stop(0)


def spoken_sequence(takes, speaker: str, rng) -> tuple[np.ndarray, int, list[tuple[str, float, float]]]:
    """The ten digits in random order, each trimmed of its silence, 1-1.5 s of quiet noise (-60 dB) between
    and 2 s before and after:
    (samples, rate, [(digit, onset s, offset s)])."""
    from sigop.audio import read_audio
    from sigop.watchset import trim

    quiet = lambda n: 1e-3 * rng.standard_normal(n)  # noqa: E731
    parts, truth, at = [quiet(2 * 22050)], [], 2 * 22050  # espeak-ng speaks at 22,050 Hz
    for digit in rng.permutation(10):
        x, rate = read_audio(takes / str(digit) / f"{speaker}_0.wav")
        gap = quiet(int(rng.uniform(1.0, 1.5) * rate))
        x = trim(x.astype(np.float64))
        truth.append((str(digit), (at + gap.size) / rate, (at + gap.size + x.size) / rate))
        parts += [gap, x]
        at += gap.size + x.size
    parts.append(quiet(2 * rate))  # long enough for the last "none" to hold
    return np.concatenate(parts), rate, truth


def align(a: list[str], b: list[str]) -> tuple[int, list[tuple[int, int]]]:
    """Edit distance between label sequences, and the (i, j) pairs where a[i] == b[j] in a cheapest alignment."""
    d = np.zeros((len(a) + 1, len(b) + 1), int)
    d[:, 0], d[0, :] = range(len(a) + 1), range(len(b) + 1)
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (a[i - 1] != b[j - 1]))
    pairs, i, j = [], len(a), len(b)
    while i and j:
        if d[i, j] == d[i - 1, j - 1] + (a[i - 1] != b[j - 1]):
            if a[i - 1] == b[j - 1]:
                pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif d[i, j] == d[i - 1, j] + 1:
            i -= 1
        else:
            j -= 1
    return int(d[-1, -1]), pairs[::-1]


def test_align_pairs_what_matches():
    assert align(list("3141"), list("3141")) == (0, [(0, 0), (1, 1), (2, 2), (3, 3)])
    assert align(list("3141"), list("31841")) == (1, [(0, 0), (1, 1), (2, 3), (3, 4)])  # one added
    assert align(list("3141"), list("371")) == (2, [(0, 0), (3, 2)])  # one misheard, one missed


def test_spoken_digits_streamed_in_random_chunks_give_one_event_each_in_order(watching_digits):
    stub, takes = watching_digits
    rng = np.random.default_rng(5)
    window = 1.0
    wrong, spoken, timed, late_or_early, from_onset = 0, 0, 0, [], []
    for speaker in ("en-us+m1", "en-us+f2", "en-gb+m1", "en-gb+f2"):
        signal, rate, truth = spoken_sequence(takes, speaker, rng)
        config = pb.StreamConfig(model_spec=pb.ModelSpec(name="digits"), sample_rate=rate, hop=HOP,
                                 smoothing_windows=3, min_duration=2 * HOP, top_k=1)
        out = list(stub.ClassifyStream(stream_requests(config, signal, rng)))
        events = [r.event for r in out if r.WhichOneof("kind") == "event"]
        seen = [(e.label, round(e.start_seconds, 2)) for e in events]
        assert events[0].label == "none" and events[-1].label == "none", (seen, truth)  # quiet before and after
        said = [e for e in events if e.label != "none"]
        labels = [e.label for e in said]
        cost, pairs = align([d for d, _, _ in truth], labels)
        wrong += cost
        spoken += len(truth)
        # A window shows a sound shorter than itself from the window that first touches it to the one that first
        # holds it whole, so a digit's event (that window's middle) lies between onset - window/2 and
        # offset - window/2, give or take one hop.
        for i, j in pairs:
            digit, onset, offset = truth[i]
            if not onset - window / 2 - HOP <= said[j].start_seconds <= offset - window / 2 + HOP:
                late_or_early.append((speaker, digit, onset, offset, said[j].start_seconds))
        timed += len(pairs)
        from_onset += [said[j].start_seconds - truth[i][1] for i, j in pairs]
    print(f"digits: {wrong} edits in {spoken} spoken; {timed - len(late_or_early)} of {timed} events timed within a hop; "
          f"event - spoken onset from {min(from_onset):+.2f} to {max(from_onset):+.2f} s, "
          f"{np.mean(np.abs(from_onset) <= HOP):.0%} within a hop of it")
    assert wrong <= spoken // 10, f"{wrong} of {spoken} digits missed, added or misheard"
    assert not late_or_early, f"events outside their digit's windows by more than a hop: {late_or_early}"
