"""Multichannel signals end to end: files, training, evaluate, serving, streams and LiteRT.

The data (datasets/axes.py) is three axes of noise with a tone on one: the class is which axis. Averaged or laid end
to end, every class looks the same; only a model that keeps the channels apart tells them apart.
"""

import io
import json
import shutil

import grpc
import numpy as np
import pytest
import soundfile

from sigop.datasets.axes import AXES, axes_signal, make_axes
from sigop.manifest import Manifest
from sigop.operator.v1 import operator_pb2 as pb
from sigop.operator.v1 import operator_pb2_grpc as pb_grpc
from sigop.runtime.fft import standalone_plan
from sigop.runtime.frozen import FrozenGraph
from sigop.runtime.litert import LiteModel


def tensor(x):
    x = np.asarray(x, dtype="<f8")
    return pb.Float64Tensor(shape=list(x.shape), content=x.tobytes())


@pytest.fixture(scope="module")
def axes(tmp_path_factory):
    """The default command on three-axis .npy files, with an explicit test set: (model, metrics, data, test)."""
    from sigop.training import TrainConfig, train

    root = tmp_path_factory.mktemp("axes")
    data, test = make_axes(root / "data", per_class=40, seed=2), make_axes(root / "test", per_class=15, seed=3)
    out = root / "graphs" / "imu"
    metrics = train(TrainConfig(data=data, out=out, test_data=test, quantize="int8", progress=False, cache_dir=None))
    return out, metrics, data, test


@pytest.fixture(scope="module")
def averaged(axes, tmp_path_factory):
    """The same files with --mono: one channel, the axes averaged."""
    from sigop.training import TrainConfig, train

    _, _, data, test = axes
    out = tmp_path_factory.mktemp("averaged") / "mono"
    metrics = train(TrainConfig(data=data, out=out, test_data=test, model="minirocket", mono=True, lite=False,
                                progress=False, saved_model=False, cache_dir=None))
    return out, metrics


@pytest.fixture(scope="module")
def stub(axes, averaged, tmp_path_factory):
    graphs = tmp_path_factory.mktemp("axes-served")
    shutil.copytree(axes[0], graphs / "imu")
    shutil.copytree(averaged[0], graphs / "mono")
    from sigop.serving.server import Server, ServerConfig

    server = Server(ServerConfig(graphs=graphs, address="127.0.0.1:0", poll_seconds=0)).start()
    yield pb_grpc.OperatorStub(grpc.insecure_channel(server.address))
    server.stop(0)


def test_a_2d_npy_trains_a_model_of_its_channels_that_tells_which_axis_carries_a_tone(axes, averaged):
    folder, metrics, _, _ = axes
    m = Manifest.read(folder)
    assert m.inputs["signals"].shape == [None, 3, 256]
    fe = m.details["front_end"]
    assert fe["channels"] == 3 and fe["channel_names"] == list(AXES) and fe["sample_rate"] == 100
    assert m.details["model"] == "minirocket" and m.details["minirocket"]["channels"] == 3
    assert metrics["auto"]["channels"] == 3
    assert metrics["splits"]["test"]["accuracy"] >= 0.9, metrics["splits"]["test"]
    # Averaged, the axes are one signal whose classes look alike: what sigop did before it kept channels.
    assert averaged[1]["splits"]["test"]["accuracy"] <= 0.6, averaged[1]["splits"]["test"]
    assert Manifest.read(averaged[0]).inputs["signals"].shape == [None, 256]


def test_evaluate_litert_and_the_savedmodel_take_batch_channels_samples(axes):
    from sigop.evaluate import evaluate
    from sigop.tfenv import tf

    folder, metrics, _, test = axes
    result = evaluate(folder, test, progress=False)
    assert result["accuracy"] == pytest.approx(metrics["splits"]["test"]["accuracy"])
    m = Manifest.read(folder)
    x = standalone_plan(m).files(sorted(test.rglob("*.npy"))[::5], None)
    assert x.shape[1:] == (3, 256)
    graph = FrozenGraph(folder)
    try:
        want = graph(x, ["probabilities"])["probabilities"]
    finally:
        graph.close()
    for precision, tolerance in (("float32", 1e-5), ("int8", 0.2)):
        got = LiteModel(folder, m, precision=precision)(x, ["probabilities"])["probabilities"]
        assert np.abs(got - want).max() <= tolerance, precision
        assert (got.argmax(1) == want.argmax(1)).mean() >= 0.9, precision
    serve = tf.saved_model.load(str(folder / "saved_model")).signatures["serving_default"]
    assert serve.structured_input_signature[1]["signals"].shape.as_list() == [None, 3, 256]


def test_a_cnn_takes_one_input_channel_per_axis_in_its_graph_and_litert(axes, tmp_path):
    from sigop.training import TrainConfig, train

    _, _, data, _ = axes
    out = tmp_path / "cnn"
    metrics = train(TrainConfig(data=data, out=out, model="cnn", front_end="power_spectrum", epochs=5, progress=False,
                                saved_model=False, cache_dir=None))
    m = Manifest.read(out)
    assert m.inputs["signals"].shape == [None, 3, 256] and m.details["front_end"]["channels"] == 3
    assert metrics["export_check"]["max_abs_diff"] <= 1e-4
    assert "error" not in metrics["lite"]["float32"] and metrics["lite"]["float32"]["check"]["max_abs_diff"] <= 1e-4
    assert [t["shape"] for t in metrics["lite"]["float32"]["inputs"].values()] == [[-1, 3, 256]]


def test_signal_files_are_read_as_channels_and_samples(tmp_path):
    from sigop.signals import load_signal, read_signal
    from sigop.datasets.axes import write_csv

    x = axes_signal(1, np.random.default_rng(0), 50)
    np.save(tmp_path / "a.npy", x)
    assert read_signal(tmp_path / "a.npy").samples.shape == (3, 50)
    np.save(tmp_path / "b.npy", x.T)  # [samples, channels]: refused, not guessed
    with pytest.raises(ValueError, match=r"looks like \[samples, channels\].*x\.T"):
        read_signal(tmp_path / "b.npy")
    np.save(tmp_path / "c.npy", x[:1].T)  # a column is one channel
    assert read_signal(tmp_path / "c.npy").samples.shape == (1, 50)
    np.save(tmp_path / "v.npy", np.ones((12, 7)))  # a spoken vowel: 12 coefficients over 7 frames is a signal ...
    assert read_signal(tmp_path / "v.npy").samples.shape == (12, 7)
    assert read_signal(tmp_path / "v.npy", channels=12).samples.shape == (12, 7)
    with pytest.raises(ValueError, match=r"looks like \[samples, channels\]: 7 channels are expected"):
        read_signal(tmp_path / "v.npy", channels=7)  # ... unless the model takes 7 channels
    write_csv(tmp_path / "d.csv", x, rate=50.0)
    s = read_signal(tmp_path / "d.csv")
    assert s.rate == 50.0 and s.names == ("accX", "accY", "accZ")
    np.testing.assert_allclose(s.samples, x, atol=1e-6)
    (tmp_path / "e.csv").write_text("Time (s);left;right\n0.0;1;2\n0.5;3;4\n1.0;5;6\n")
    s = read_signal(tmp_path / "e.csv")
    assert s.rate == 2.0 and s.names == ("left", "right") and s.samples.tolist() == [[1, 3, 5], [2, 4, 6]]
    (tmp_path / "f.csv").write_text("1 2 3\n4 5 6\n")  # no header, rows of k values: k channels
    assert read_signal(tmp_path / "f.csv").samples.tolist() == [[1, 4], [2, 5], [3, 6]]
    (tmp_path / "g.csv").write_text("timestamp,x\n5,1\n4,2\n")
    with pytest.raises(ValueError, match="g.csv.*does not increase"):
        read_signal(tmp_path / "g.csv")
    (tmp_path / "h.csv").write_text("x,y\n1,2\nfoo,3\n")
    with pytest.raises(ValueError, match="h.csv.*'foo'"):
        read_signal(tmp_path / "h.csv")
    with pytest.raises(ValueError, match="a.npy: holds 3 channels"):
        load_signal(tmp_path / "a.npy")  # one-channel paths (the article's spectrum images) never flatten


def test_csv_with_a_timestamp_column_trains_at_its_rate_with_its_header_names(tmp_path):
    from sigop.training import TrainConfig, train

    data = make_axes(tmp_path / "data", per_class=12, seed=4, samples=200, csv=True)
    metrics = train(TrainConfig(data=data, out=tmp_path / "out", model="minirocket", test_pct=20, lite=False,
                                progress=False, saved_model=False, cache_dir=None))
    m = Manifest.read(tmp_path / "out")
    fe = m.details["front_end"]
    assert fe["sample_rate"] == 100 and fe["samples"] == 200 and fe["channel_names"] == ["accX", "accY", "accZ"]
    assert m.details["sample_rate_declared"] is True
    assert metrics["export_check"]["max_abs_diff"] <= 1e-3


def _wav(x: np.ndarray, rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    soundfile.write(buf, np.asarray(x, np.float32).T, rate, format="WAV", subtype="FLOAT")
    return buf.getvalue()


def test_a_two_channel_wav_folder_trains_a_two_channel_model_and_serves_its_files(tmp_path):
    from sigop.serving.server import Server, ServerConfig
    from sigop.training import TrainConfig, train

    rng = np.random.default_rng(5)
    t = np.arange(1600) / 8000

    def stereo(side: int) -> np.ndarray:
        x = 0.1 * rng.normal(size=(2, t.size))
        x[side] += 0.5 * np.sin(2 * np.pi * rng.uniform(400, 600) * t)
        return x

    for side, name in enumerate(("left", "right")):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(20):
            (tmp_path / "data" / name / f"{i}.wav").write_bytes(_wav(stereo(side)))
    out = tmp_path / "graphs" / "stereo"
    # --model auto on sound: a log-mel CNN against MiniRocket, both of 2 channels; the CNN, left untrained (one epoch
    # at a negligible rate), loses, so MiniRocket is exported from auto's own front end
    metrics = train(TrainConfig(data=tmp_path / "data", out=out, epochs=1, learning_rate=1e-9, lite=False,
                                progress=False, saved_model=False, cache_dir=None))
    assert metrics["auto"]["chosen"] == "minirocket", metrics["auto"]
    assert Manifest.read(out).inputs["signals"].shape == [None, 2, 1600]
    server = Server(ServerConfig(graphs=tmp_path / "graphs", address="127.0.0.1:0", poll_seconds=0)).start()
    try:
        stub = pb_grpc.OperatorStub(grpc.insecure_channel(server.address))
        r = stub.ClassifyAudio(pb.ClassifyAudioRequest(audio=[_wav(stereo(0)), _wav(stereo(1))]))
        assert [c.classes[0].label for c in r.classifications] == ["left", "right"]
        with pytest.raises(grpc.RpcError) as e:
            stub.ClassifyAudio(pb.ClassifyAudioRequest(audio=[_wav(stereo(0)), _wav(stereo(0)[0])]))
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "audio[1]: the file has 1 channel; this model takes 2" in e.value.details()
    finally:
        server.stop(0)


def test_wrong_channel_counts_are_invalid_argument_on_every_rpc(stub):
    x = axes_signal(0, np.random.default_rng(6))
    cases = [
        ("imu", x[None, :2], "model 'imu' takes 3 channels (x, y, z) as [batch, 3, n]; got 2 channels"),
        ("imu", x[:1], "model 'imu' takes 3 channels (x, y, z) as [batch, 3, n]; got 1 channel"),
        ("mono", x[None], "model 'mono' takes one channel as [batch, n] or [n]; got 3 channels"),
    ]
    for model, signals, says in cases:
        with pytest.raises(grpc.RpcError) as e:
            stub.ClassifySignal(pb.ClassifySignalRequest(model_spec=pb.ModelSpec(name=model), signals=tensor(signals)))
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and says in e.value.details(), e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        stub.ClassifyAudio(pb.ClassifyAudioRequest(model_spec=pb.ModelSpec(name="imu"), audio=[_wav(x[0], 100)]))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "this model takes 3" in e.value.details()
    for model, chunk, says in (("imu", x[:2, :64], "message 1: samples: 2 rows, but model 'imu' takes 3 channels"),
                               ("imu", x[0, :64], "message 1: samples: 1 rows, but model 'imu' takes 3 channels"),
                               ("mono", x[:, :64], "message 1: samples: 3 rows, but model 'mono' takes 1 channel")):
        config = pb.ClassifyStreamRequest(config=pb.StreamConfig(model_spec=pb.ModelSpec(name=model)))
        with pytest.raises(grpc.RpcError) as e:
            list(stub.ClassifyStream(iter([config, pb.ClassifyStreamRequest(samples=tensor(chunk))])))
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and says in e.value.details(), e.value.details()
    # ... and the server goes on serving
    r = stub.ClassifySignal(pb.ClassifySignalRequest(model_spec=pb.ModelSpec(name="imu"), signals=tensor(x[None])))
    assert r.classifications[0].classes[0].label == "tone_x"


def test_a_multichannel_stream_gives_classify_signals_scores_for_each_window(stub):
    rng = np.random.default_rng(7)
    recording = np.concatenate([axes_signal(a, rng) for a in (0, 0, 2, 1)], axis=1)  # [3, 1024]
    config = pb.ClassifyStreamRequest(config=pb.StreamConfig(model_spec=pb.ModelSpec(name="imu"), hop=1.28, top_k=3))
    chunks = [pb.ClassifyStreamRequest(samples=tensor(recording[:, i:i + 100])) for i in range(0, 1024, 100)]
    windows = [r.window for r in stub.ClassifyStream(iter([config] + chunks)) if r.WhichOneof("kind") == "window"]
    starts = [w.start_sample for w in windows]
    assert starts == list(range(0, 1024 - 256 + 1, 128))
    direct = stub.ClassifySignal(pb.ClassifySignalRequest(
        model_spec=pb.ModelSpec(name="imu"), top_k=3,
        signals=tensor(np.stack([recording[:, s:s + 256] for s in starts]))))
    for w, c in zip(windows, direct.classifications):  # the same up to the head's batch-size rounding
        assert [k.label for k in w.classification.classes] == [k.label for k in c.classes]
        assert [k.score for k in w.classification.classes] == pytest.approx([k.score for k in c.classes], abs=1e-6)
    assert [windows[i].classification.classes[0].label for i in (0, 2, 4, 6)] == ["tone_x", "tone_x", "tone_z",
                                                                                 "tone_y"]


def test_list_models_manifest_says_the_channels(stub):
    r = stub.ListModels(pb.ListModelsRequest(name="imu"))
    fe = json.loads(r.models[0].versions[0].manifest_json)["details"]["front_end"]
    assert fe["channels"] == 3 and fe["channel_names"] == list(AXES)


def test_watch_set_windows_a_clips_channels_together(tmp_path):
    from sigop.watchset import NONE, make_watch_set

    rng = np.random.default_rng(8)
    (tmp_path / "clips" / "knock").mkdir(parents=True)
    clip = np.zeros((2, 400))
    clip[1, 100:300] = rng.normal(size=200)  # the knock is on the second channel only
    soundfile.write(tmp_path / "clips" / "knock" / "k1.wav", clip.T.astype(np.float32) * 0.5, 8000, subtype="FLOAT")
    counts = make_watch_set(tmp_path / "clips", tmp_path / "out", window=0.1, background_windows=3, progress=False)
    assert counts["knock"] > 0 and counts[NONE] > 0
    for label in ("knock", NONE):
        for f in (tmp_path / "out" / label).glob("*.wav"):
            x, rate = soundfile.read(f, always_2d=True)
            assert x.shape == (800, 2) and rate == 8000, f
    placed = [soundfile.read(f, always_2d=True)[0] for f in (tmp_path / "out" / "knock").glob("k1-p*.wav")]
    assert all(np.abs(x[:, 1]).max() > 20 * np.abs(x[:, 0]).max() for x in placed)  # still on its own channel
