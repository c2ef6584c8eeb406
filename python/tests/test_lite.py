"""LiteRT copies: every model kind converts and answers as its frozen graph; the server runs them by
--runtime, says which runtime it uses, falls back or refuses as asked, reloads them; int8 copies are
smaller and `sigop evaluate` scores them against float32."""

import json
import shutil
from pathlib import Path

import grpc
import numpy as np
import pytest

from sigop.manifest import Manifest
from sigop.operator.v1 import operator_pb2 as pb
from sigop.operator.v1 import operator_pb2_grpc as pb_grpc
from sigop.runtime.frozen import FrozenGraph
from sigop.runtime.litert import LiteModel
from sigop.runtime.fft import standalone_plan
from sigop.signals import signals_meta


def graph_and_lite(folder: Path, data: Path, files: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities from graph.pb and model.tflite for files spread over data, fed as the server feeds them."""
    manifest = Manifest.read(folder)
    assert "error" not in manifest.lite["float32"], manifest.lite["float32"]
    paths = sorted(p for p in data.rglob("*") if p.suffix in (".npy", ".wav", ".png"))
    paths = [paths[i] for i in np.linspace(0, len(paths) - 1, min(files, len(paths))).astype(int)]
    rate = signals_meta(data).get("sample_rate")
    x = standalone_plan(manifest).files(paths, rate)
    graph, lite = FrozenGraph(folder), LiteModel(folder, manifest)
    try:
        return graph(x, ["probabilities"])["probabilities"], lite(x, ["probabilities"])["probabilities"]
    finally:
        graph.close()


def test_spectrum_image_model_on_litert_answers_as_its_graph(article_model):
    folder, metrics, _, data = article_model
    want, got = graph_and_lite(folder, data / "signals")
    # MobileNetV2's convolutions sum in another order under XNNPACK: float32 rounding, up to ~1.2e-5 measured.
    assert np.abs(got - want).max() <= 5e-5
    assert (got.argmax(axis=1) == want.argmax(axis=1)).all()
    record = metrics["lite"]["float32"]
    assert record["inputs"]["images"] == {"index": 0, "dtype": "uint8", "shape": [-1, 224, 224, 3]}
    assert record["outputs"]["probabilities"]["shape"] == [-1, 2]


@pytest.mark.parametrize("model", ["cnn", "dense"])
def test_power_spectrum_models_on_litert_answer_as_their_graphs(shifted_models, model):
    folders, data = shifted_models
    want, got = graph_and_lite(folders[model], data / "test-shifted")
    assert np.abs(got - want).max() <= 1e-5


def test_log_mel_model_on_litert_answers_as_its_graph(digits_model):
    folder, _, data = digits_model
    want, got = graph_and_lite(folder, data)
    assert np.abs(got - want).max() <= 1e-5


@pytest.mark.parametrize("model,front_end", [("cnn", "mfcc"), ("cnn", "waveform"), ("minirocket", "")])
def test_mfcc_waveform_and_minirocket_models_on_litert_answer_as_their_graphs(tmp_path, model, front_end):
    from sigop.datasets.shifted import make_shifted
    from sigop.training import TrainConfig, train

    # 2000 samples: the power-of-two FFT lengths LiteRT needs are the front end's business, not the data's.
    make_shifted(tmp_path / "data", per_class=10, test_per_class=4, n=2000, seed=4, progress=False)
    out = tmp_path / "model"
    train(TrainConfig(data=tmp_path / "data" / "train", out=out, model=model, front_end=front_end, epochs=2,
                      progress=False, saved_model=False, cache_dir=None))
    want, got = graph_and_lite(out, tmp_path / "data" / "test-shifted")
    assert np.abs(got - want).max() <= 1e-5


def test_a_graph_litert_cannot_run_keeps_serving_on_tensorflow_and_says_why(tmp_path, capsys):
    """An FFT of 1000 points: LiteRT's takes powers of two only (graphs sigop exported before it made LiteRT copies hold such)."""
    from sigop.export import export_classifier
    from sigop.frontend import FrontEnd
    from sigop.lite_export import export_lite
    from sigop.runtime.load import load_model
    from sigop.tfenv import tf

    fe = FrontEnd(kind="power_spectrum", sample_rate=1000, samples=1000, fft_length=0)
    model = tf.keras.Sequential([tf.keras.Input([1000]), tf.keras.layers.Lambda(fe), tf.keras.layers.Flatten(),
                                 tf.keras.layers.Dense(2, activation="softmax")])
    out = tmp_path / "old"
    export_classifier(model, out, name="old", classes=["a", "b"], samples=1000, saved_model=False,
                      details={"front_end": fe.to_json()})
    from sigop.cli import main

    assert main(["export-lite", "--model", str(out)]) == 1
    assert "LiteRT float32: not converted: RuntimeError: " in capsys.readouterr().out
    records = Manifest.read(out).lite
    assert "IsPowerOfTwo" in records["float32"]["error"]
    assert not (out / "model.tflite").exists()
    assert export_lite(out)["float32"] == records["float32"]  # the same answer from the function
    served, note = load_model(out)
    assert served.runtime == "tensorflow" and "IsPowerOfTwo" in note
    with pytest.raises(Exception, match="IsPowerOfTwo"):
        load_model(out, runtime="lite")


@pytest.fixture(scope="module")
def two_servers(article_model, fft_graph_dir, tmp_path_factory):
    """The article model served twice: --runtime auto (LiteRT) and --runtime tf, batching on for the first."""
    from sigop.serving.batching import BatchConfig
    from sigop.serving.server import Server, ServerConfig

    folder, _, _, _ = article_model
    servers = {}
    for runtime in ("auto", "tf"):
        root = tmp_path_factory.mktemp(f"graphs-{runtime}")
        shutil.copytree(fft_graph_dir, root / "fft")
        shutil.copytree(folder, root / "article")
        batching = BatchConfig(max_batch=8, max_delay=0.005) if runtime == "auto" else BatchConfig()
        servers[runtime] = (Server(ServerConfig(graphs=root, address="127.0.0.1:0", runtime=runtime, poll_seconds=0,
                                                batching=batching)).start(), root)
    yield {r: (pb_grpc.OperatorStub(grpc.insecure_channel(s.address)), s, root) for r, (s, root) in servers.items()}
    for s, _ in servers.values():
        s.stop(0)


def runtimes(stub) -> dict[str, tuple[str, str, str]]:
    return {m.name: (m.versions[0].runtime, m.versions[0].message, pb.ModelState.Name(m.versions[0].state))
            for m in stub.ListModels(pb.ListModelsRequest()).models}


def test_server_runs_the_classifier_on_litert_and_the_fft_on_tensorflow(two_servers):
    from concurrent.futures import ThreadPoolExecutor

    from sigop.datasets.article import CLASSES, generate

    lite, tf_ = two_servers["auto"][0], two_servers["tf"][0]
    assert runtimes(lite) == {"article": ("litert float32", "", "MODEL_STATE_AVAILABLE"),
                              "fft": ("tensorflow", "", "MODEL_STATE_AVAILABLE")}
    assert runtimes(tf_)["article"][0] == "tensorflow"
    rng = np.random.default_rng(12)
    signals = [generate(c, rng) for c in CLASSES for _ in range(8)]

    def ask(stub, x):
        x = np.asarray(x, "<f8")[None]
        r = stub.ClassifySignal(pb.ClassifySignalRequest(model_spec=pb.ModelSpec(name="article"), signals=pb.Float64Tensor(
            shape=list(x.shape), content=x.tobytes())))
        return {c.label: c.score for c in r.classifications[0].classes}

    want = [ask(tf_, x) for x in signals]
    with ThreadPoolExecutor(8) as pool:  # concurrent single-signal calls: batched together on one interpreter
        got = list(pool.map(lambda x: ask(lite, x), signals))
    for w, g in zip(want, got):
        assert g.keys() == w.keys()
        assert max(abs(g[k] - w[k]) for k in w) <= 5e-5
    with pytest.raises(grpc.RpcError) as e:  # the same error codes on LiteRT
        lite.Classify(pb.ClassifyRequest(model_spec=pb.ModelSpec(name="article"), images=[b"not an image"]))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_runtime_lite_refuses_a_model_without_a_copy_and_auto_falls_back_then_reloads_it(two_servers, tmp_path):
    from sigop.serving.repository import ModelRepository

    _, server, root = two_servers["auto"]
    folder = tmp_path / "graphs"
    shutil.copytree(root / "article", folder / "article")
    saved = (folder / "article" / "model.tflite").read_bytes()
    (folder / "article" / "model.tflite").unlink()
    strict = ModelRepository(folder, runtime="lite")
    strict.refresh()
    status = strict.status()["article"][1]
    assert status.state == "FAILED" and "model.tflite is missing" in status.message
    auto = ModelRepository(folder)
    auto.refresh()
    status = auto.status()["article"][1]
    assert status.model.runtime == "tensorflow" and "model.tflite is missing" in status.message
    (folder / "article" / "model.tflite").write_bytes(saved)
    manifest = folder / "article" / "manifest.json"
    manifest.write_text(manifest.read_text() + "\n")  # a new stamp: the next refresh reloads the version
    assert auto.refresh()
    assert auto.status()["article"][1].model.runtime == "litert float32"
    auto.close()
    strict.close()


def test_int8_copy_is_smaller_and_evaluate_scores_it_against_float32(article_model, tmp_path):
    from sigop.datasets.generate import generate_dataset
    from sigop.evaluate import evaluate
    from sigop.lite_export import export_lite, folder_inputs
    from sigop.render import SpectrumContract

    folder, _, _, data = article_model
    model = tmp_path / "article"
    shutil.copytree(folder, model)
    probe, calibration = folder_inputs(model, data / "signals", quantize="int8")
    records = export_lite(model, probe, calibration, quantize="int8")
    assert records["int8"]["bytes"] < records["float32"]["bytes"] / 3
    assert records["int8"]["calibration_inputs"] == len(calibration) > 100
    generate_dataset(tmp_path / "fresh", per_class=100, seed=21, contract=SpectrumContract(max_bin=136),
                     progress=False, images=False)
    result = evaluate(model, tmp_path / "fresh" / "signals", progress=False)
    assert result["lite"]["float32"]["accuracy_delta_points"] == 0
    int8 = result["lite"]["int8"]
    assert int8["accuracy_delta_points"] == pytest.approx(100 * (int8["accuracy"] - result["accuracy"]))
    # Measured -0.5 to -3.5 points on fresh sets of two models (issue 12's goal was within 1): a guard against worse.
    assert int8["accuracy_delta_points"] >= -5
    saved = json.loads((model / "evaluation" / "signals" / "evaluation.json").read_text())
    assert saved["lite"]["int8"]["accuracy"] == int8["accuracy"]
