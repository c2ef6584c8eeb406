"""MiniRocket-style features and the ridge classifier: against direct computations, then trained,
exported, evaluated and served on signals of many lengths at a rate below 1 Hz."""

import json

import grpc
import numpy as np
import pytest

from sigop.operator.v1 import operator_pb2 as pb
from sigop.training.linear import fit_ridge
from sigop.training.minirocket import KERNEL_INDICES, fit, sees_padding, transform, valid_lengths
from sigop.training.minirocket_graph import MiniRocketLayer


def ppv_by_hand(x: np.ndarray, params) -> np.ndarray:
    """PPV straight from the definition, one signal at a time, over its own length."""
    out = []
    for row in x:
        n = int(valid_lengths(row[None])[0])
        s, feats, start = row[:n].astype(np.float64), [], 0
        for i, (d, f) in enumerate(zip(params.dilations, params.features_per_dilation)):
            for k, idx in enumerate(KERNEL_INDICES):
                w = -np.ones(9)
                w[idx] = 2
                c = np.array([sum(w[j] * (s[t + (j - 4) * d] if 0 <= t + (j - 4) * d < n else 0.0) for j in range(9))
                              for t in range(n)])
                if not sees_padding(i, k) and n > 8 * d:
                    c = c[4 * d:n - 4 * d]
                b = params.biases[start + k * f:start + (k + 1) * f]
                feats += [np.mean(c > bias) for bias in b]
            start += 84 * f
        out.append(feats)
    return np.array(out)


def test_features_match_the_definition_and_ignore_zero_padding():
    rng = np.random.default_rng(0)
    x = np.zeros((3, 60), np.float32)
    for i, n in enumerate((60, 41, 17)):
        x[i, :n] = rng.standard_normal(n)
    params = fit(x, features=300, seed=1)
    layer = MiniRocketLayer(params)
    got = layer(x).numpy()
    assert got.shape == (3, params.features)
    np.testing.assert_allclose(got, ppv_by_hand(x, params), atol=1e-6)
    longer = np.pad(x, [(0, 0), (0, 40)])  # the same signals in a longer buffer: the same features
    np.testing.assert_allclose(layer(longer).numpy(), got, atol=1e-6)


def test_the_compiled_transform_and_the_graphs_layer_agree_to_the_bit():
    """Training computes features with numba, the exported graph with TensorFlow ops: every feature the same, on
    signals of many lengths and levels (one flipped comparison would move a feature by 1/length)."""
    rng = np.random.default_rng(5)
    x = np.zeros((7, 700), np.float32)
    for i, n in enumerate((700, 699, 350, 64, 9, 2, 1)):
        x[i, :n] = rng.standard_normal(n) * 10.0 ** rng.uniform(-4, 4)
    params = fit(x, seed=2)
    np.testing.assert_array_equal(transform(params, x), MiniRocketLayer(params)(x).numpy())
    np.testing.assert_array_equal(transform(params, x[2:3]), transform(params, x)[2:3])  # alone or in a batch


def test_ridge_probabilities_follow_the_ridge_and_are_calibrated_on_left_out_scores():
    rng = np.random.default_rng(2)
    for classes in (2, 3):
        centres = rng.standard_normal((classes, 20)) * 2
        y = np.repeat(np.arange(classes), 40)
        x = centres[y] + rng.standard_normal((len(y), 20))
        fit_ = fit_ridge(x, y, classes)
        from sklearn.linear_model import RidgeClassifierCV

        mean, std = x.mean(0), x.std(0)
        reference = RidgeClassifierCV(alphas=np.logspace(-3, 3, 10), class_weight="balanced").fit((x - mean) / std, y)
        np.testing.assert_array_equal(fit_.logits(x).argmax(1), reference.predict((x - mean) / std))
        assert fit_.temperature > 0 and 0.8 <= fit_.loo_accuracy <= 1.0


def two_devices(root, rng, per_class, rate):
    """Two 'devices' at a rate below 1 Hz: a noisy tone vs a noisy square wave, 40-160 samples long."""
    for label, shape in (("tone", np.sin), ("square", lambda p: np.sign(np.sin(p)))):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            n = int(rng.integers(40, 161))
            f = rng.uniform(0.01, 0.04)  # Hz, below Nyquist at 0.1 Hz
            x = shape(2 * np.pi * f * np.arange(n) / rate + rng.uniform(0, 6)) * rng.uniform(0.5, 2)
            np.save(root / label / f"{i:03d}.npy", x + 0.2 * rng.standard_normal(n))
    (root / "signals.json").write_text(json.dumps({"sample_rate": rate}))


def test_minirocket_trains_exports_evaluates_and_serves_signals_of_any_length(tmp_path):
    from sigop.evaluate import evaluate
    from sigop.serving.config import ServerConfig
    from sigop.serving.server import Server
    from sigop.operator.v1 import operator_pb2_grpc as pb_grpc
    from sigop.training import TrainConfig, train

    rng = np.random.default_rng(3)
    rate = 0.1
    two_devices(tmp_path / "train", rng, 40, rate)
    two_devices(tmp_path / "test", rng, 15, rate)
    out = tmp_path / "graphs" / "devices"
    metrics = train(TrainConfig(data=tmp_path / "train", out=out, model="minirocket", test_data=tmp_path / "test",
                                progress=False, saved_model=False))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["details"]["front_end"]["kind"] == "waveform"
    assert manifest["details"]["front_end"]["sample_rate"] == rate
    lengths = sorted(np.load(p).size for p in (tmp_path / "train").rglob("*.npy"))
    samples = manifest["details"]["front_end"]["samples"]  # short signals (<= 1024 samples): all whole, none cut
    assert samples == lengths[-1] <= 1024
    assert manifest["details"]["sample_rate_declared"] is True and manifest["details"]["shift_invariant"] is False
    assert "mel_bins" not in manifest["details"]["front_end"]  # only what a waveform front end has
    assert "validation" not in metrics["splits"]  # no epochs, nothing to stop: every training file trains
    assert metrics["splits"]["test"]["accuracy"] >= 0.9
    assert metrics["export_check"]["max_abs_diff"] < 1e-4

    result = evaluate(out, tmp_path / "test", tmp_path / "eval", progress=False)
    assert result["accuracy"] == pytest.approx(metrics["splits"]["test"]["accuracy"])

    # Served: a test signal of its own length at 0.1 Hz, as evaluate fed it.
    server = Server(ServerConfig(graphs=tmp_path / "graphs", address="127.0.0.1:0")).start()
    try:
        stub = pb_grpc.OperatorStub(grpc.insecure_channel(server.address))
        x = np.load(sorted((tmp_path / "test" / "square").glob("*.npy"))[0])

        def ask(signal, at):
            s = np.asarray(signal, "<f8")[None]
            return stub.ClassifySignal(pb.ClassifySignalRequest(
                model_spec=pb.ModelSpec(name="devices"), sample_rate=at,
                signals=pb.Float64Tensor(shape=list(s.shape), content=s.tobytes()))).classifications[0].classes

        own = ask(x, rate)
        assert [c.label for c in own] == [c.label for c in ask(x, 0)]  # 0: the model's own rate
        row = next(r for r in csv_rows(tmp_path / "eval") if r["true"] == "square" and r["file"].endswith(
            sorted((tmp_path / "test" / "square").glob("*.npy"))[0].name))
        assert own[0].label == row["predicted"]
    finally:
        server.stop(0)


def test_a_model_trained_without_a_rate_refuses_one_on_every_path(tmp_path):
    """No signals.json: signals are taken at a nominal 1 Hz, and no other rate can be honoured, by the server or
    by evaluate (a folder whose signals.json says 30 Hz)."""
    from sigop.evaluate import evaluate
    from sigop.inputs import InvalidInput
    from sigop.serving.config import ServerConfig
    from sigop.serving.server import Server
    from sigop.operator.v1 import operator_pb2_grpc as pb_grpc
    from sigop.training import TrainConfig, train

    rng = np.random.default_rng(4)
    two_devices(tmp_path / "train", rng, 20, 1.0)
    (tmp_path / "train" / "signals.json").unlink()
    out = tmp_path / "graphs" / "nominal"
    train(TrainConfig(data=tmp_path / "train", out=out, model="minirocket", progress=False, saved_model=False,
                      lite=False))
    details = json.loads((out / "manifest.json").read_text())["details"]
    assert details["sample_rate_declared"] is False and details["front_end"]["sample_rate"] == 1.0
    server = Server(ServerConfig(graphs=tmp_path / "graphs", address="127.0.0.1:0")).start()
    try:
        stub = pb_grpc.OperatorStub(grpc.insecure_channel(server.address))
        s = np.ones((1, 100), "<f8")
        for rate, code in ((30.0, grpc.StatusCode.INVALID_ARGUMENT), (0.0, None), (1.0, None)):
            call = pb.ClassifySignalRequest(model_spec=pb.ModelSpec(name="nominal"), sample_rate=rate,
                                            signals=pb.Float64Tensor(shape=[1, 100], content=s.tobytes()))
            if code is None:
                assert stub.ClassifySignal(call).model_spec.version == 1
                continue
            with pytest.raises(grpc.RpcError) as e:
                stub.ClassifySignal(call)
            assert e.value.code() == code and "without a declared sample rate" in e.value.details()
    finally:
        server.stop(0)
    (tmp_path / "train" / "signals.json").write_text(json.dumps({"sample_rate": 30}))
    with pytest.raises(InvalidInput, match="without a declared sample rate"):
        evaluate(out, tmp_path / "train", tmp_path / "eval", progress=False)


def csv_rows(folder):
    import csv

    with open(folder / "predictions.csv") as f:
        return list(csv.DictReader(f))


def test_auto_with_a_named_front_end_takes_that_front_ends_recipe(tmp_path):
    from sigop.training.auto import choose
    from sigop.training.config import TrainConfig

    for front_end, model in (("log_mel", "transfer"), ("spectrum_image", "transfer"), ("waveform", "cnn"),
                             ("power_spectrum", "cnn")):
        cfg, record = choose(TrainConfig(data=tmp_path, out=tmp_path, front_end=front_end))
        assert (cfg.model, cfg.front_end, record["candidates"]) == (model, front_end, [])


def test_features_computed_once_are_reused_within_a_run(caplog):
    """auto scores MiniRocket on the training files and the trainer asks for them again: computed once."""
    import logging

    rng = np.random.default_rng(8)
    x = rng.standard_normal((6, 200)).astype(np.float32)
    params = fit(x, features=500, seed=4)
    first = transform(params, x[:4])
    with caplog.at_level(logging.INFO, logger="sigop.training.minirocket"):
        again = transform(params, x)
    assert "4 of 6 signals' features computed earlier in this run, reused" in caplog.text
    np.testing.assert_array_equal(again[:4], first)
    np.testing.assert_array_equal(again, MiniRocketLayer(params)(x).numpy())  # the reused rows are the right ones
    other = fit(x, features=500, seed=5)  # other parameters: nothing reused
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="sigop.training.minirocket"):
        transform(other, x)
    assert "reused" not in caplog.text
