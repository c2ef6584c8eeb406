"""The unknown score: the same number in every runtime, a calibrated threshold, replies, streams, metrics, one-class
models and `sigop evaluate --unknown-data`, on real trained models served by a real server."""

import json
import shutil
import urllib.request

import grpc
import numpy as np
import pytest

from sigop.datasets.article import BLUE, RED, ArticleClass, generate
from sigop.operator.v1 import operator_pb2 as pb
from sigop.operator.v1 import operator_pb2_grpc as pb_grpc
from sigop.serving.events import Smoother
from sigop.unknown import (conformal_quantile, fit_logit_mahalanobis, fit_logit_mahalanobis_folds, fit_max_softmax,
                           neg_log_max_softmax)

GREEN = ArticleClass("green", (64, 100, 200))  # tones no training class has


def write_class(root, cls, n, seed):
    rng = np.random.default_rng(seed)
    (root / cls.name).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        np.save(root / cls.name / f"{i:03d}.npy", generate(cls, rng))


def signals(cls, n, seed):
    rng = np.random.default_rng(seed)
    return np.stack([generate(cls, rng) for _ in range(n)])


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A two-class MiniRocket model (with its SavedModel) and a one-class model of red alone; green is unseen."""
    from sigop.training import TrainConfig, train

    root = tmp_path_factory.mktemp("unknown")
    for cls, seed in ((RED, 1), (BLUE, 2)):
        write_class(root / "two", cls, 40, seed)
    write_class(root / "one", RED, 40, 1)
    write_class(root / "unseen", GREEN, 20, 3)
    graphs = root / "graphs"
    two = train(TrainConfig(data=root / "two", out=graphs / "colours", model="minirocket", progress=False,
                            cache_dir=None, quantize="int8"))
    one = train(TrainConfig(data=root / "one", out=graphs / "red_only", progress=False, saved_model=False,
                            cache_dir=None))
    return root, graphs, two, one


@pytest.fixture(scope="module")
def server(models, fft_graph_dir):
    from sigop.serving.server import Server, ServerConfig

    _, graphs, _, _ = models
    shutil.copytree(fft_graph_dir, graphs / "fft", dirs_exist_ok=True)
    s = Server(ServerConfig(graphs=graphs, address="127.0.0.1:0", metrics_address="127.0.0.1:0", poll_seconds=0))
    s.start()
    yield s
    s.stop(0)


def classify(stub, model, x):
    x = np.asarray(x, "<f8")
    return stub.ClassifySignal(pb.ClassifySignalRequest(
        model_spec=pb.ModelSpec(name=model), top_k=1, signals=pb.Float64Tensor(shape=list(x.shape), content=x.tobytes())))


def test_the_threshold_calls_unknown_the_share_of_known_inputs_it_was_set_for():
    rng = np.random.default_rng(0)
    means = np.array([[4.0, 0, 0], [0, 4.0, 0], [0, 0, 4.0]])

    def known(n):
        labels = rng.integers(0, 3, n)
        return means[labels] + rng.normal(size=(n, 3)), labels

    train_logits, labels = known(600)
    score = fit_logit_mahalanobis(train_logits, labels, known(2000)[0], 0.1, "held-out draws")
    fresh, _ = known(5000)
    assert np.mean(score.score(fresh) > score.threshold) == pytest.approx(0.1, abs=0.02)
    far = rng.normal(size=(200, 3)) * 0.3 + np.array([8.0, 8.0, -4.0])  # like no class
    assert np.mean(score.score(far) > score.threshold) > 0.95


def test_a_threshold_set_on_few_files_keeps_its_rate_where_the_plain_quantile_does_not():
    # 30 calibration files for 5 %: the plain 95th percentile calls ~8 % of new known inputs unknown; the conformal
    # rank keeps it at or under 5 % (1 - 30/31 on average).
    rng = np.random.default_rng(3)
    conformal, plain = [], []
    for _ in range(400):
        calibration, fresh = rng.normal(size=30), rng.normal(size=2000)
        conformal.append(np.mean(fresh > conformal_quantile(calibration, 0.05)))
        plain.append(np.mean(fresh > np.quantile(calibration, 0.95)))
    assert np.mean(conformal) <= 0.05 < 0.065 < np.mean(plain)
    assert conformal_quantile(np.arange(10.0), 0.05) == 9  # too few files for 5 %: the largest


def test_cross_validated_heads_set_the_threshold_whatever_the_scale_of_their_logits():
    rng = np.random.default_rng(4)
    means = np.array([[4.0, 0, 0], [0, 4.0, 0], [0, 0, 4.0]])

    def known(n, scale=1.0):
        labels = rng.integers(0, 3, n)
        return scale * (means[labels] + rng.normal(size=(n, 3))), labels

    folds = []
    for scale in (0.5, 1.0, 3.0, 10.0):  # heads trained apart: logits of other scales
        fitted, labels = known(500, scale)
        folds.append((fitted, labels, known(500, scale)[0]))
    train_logits, labels = known(600)
    score = fit_logit_mahalanobis_folds(train_logits, labels, folds, 0.1, "folds")
    assert score.calibration_files == 2000
    assert np.mean(score.score(known(5000)[0]) > score.threshold) == pytest.approx(0.1, abs=0.02)


def test_every_runtime_gives_the_score_computed_outside_the_graph(models):
    from sigop.runtime import minirocket_kernels
    from sigop.runtime.compiled import CompiledMiniRocket
    from sigop.runtime.frozen import FrozenGraph
    from sigop.runtime.litert import LiteModel
    from sigop.tfenv import tf
    from sigop.unknown import UnknownScore

    _, graphs, _, _ = models
    folder = graphs / "colours"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["details"]["unknown"]["method"] == "logit_mahalanobis" and "unknown" in manifest["outputs"]
    x = np.concatenate([signals(RED, 4, 10), signals(BLUE, 4, 11), signals(GREEN, 4, 12)]).astype(np.float32)
    with np.load(folder / "minirocket.npz") as z:
        a = dict(z)
    f = minirocket_kernels.features(x, a["dilations"], a["features_per_dilation"], a["biases"], a.get("channel_mask"))
    logits = ((f - a["mean"]) * a["scale"]) @ a["kernel"] + a["bias"]
    want = UnknownScore.from_json(manifest["details"]["unknown"], a).score(logits)
    assert want[8:].min() > want[:8].max()  # the unseen class scores higher than both known ones
    graph = FrozenGraph(folder)
    got = {"graph": graph(x, ["unknown"])["unknown"],
           "compiled": CompiledMiniRocket(folder)(x, ["unknown"])["unknown"],
           "litert": LiteModel(folder, graph.manifest)(x, ["probabilities", "unknown"])["unknown"],
           "saved_model": tf.saved_model.load(str(folder / "saved_model")).signatures["serving_default"](
               tf.constant(x))["unknown"].numpy()}
    for runtime, scores in got.items():
        np.testing.assert_allclose(scores, want, rtol=1e-3, atol=1e-4, err_msg=runtime)


def test_max_softmax_ranks_as_the_top_probability_does_and_keeps_confident_inputs_apart_in_the_graph_too():
    from sigop.export import unknown_tensor
    from sigop.tfenv import tf

    rng = np.random.default_rng(0)
    logits = np.r_[rng.normal(0, 2, (200, 4)), [[30, 0, 0, 0], [40, 0, 0, 0], [5, 5, 0, 0]]]
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    raw = neg_log_max_softmax(logits)
    np.testing.assert_allclose(raw, -np.log(p.max(axis=1)), rtol=1e-9, atol=1e-15)
    assert raw[-3] > raw[-2] > 0  # where 1 - max softmax is 0 in float64, the score still orders them
    score = fit_max_softmax(logits[:200], 0.05, "test")
    assert score.method == "max_softmax" and score.arrays() == {}
    graph = unknown_tensor(tf.constant(logits, tf.float32), score).numpy()
    np.testing.assert_allclose(graph[:200], score.score(logits)[:200], rtol=1e-4)
    assert graph[-3] > graph[-2] > 0


def test_a_network_exports_its_unknown_score_and_its_litert_copy_agrees(shifted_models):
    folders, _ = shifted_models
    manifest = json.loads((folders["cnn"] / "manifest.json").read_text())
    assert "unknown" in manifest["outputs"] and manifest["details"]["unknown"]["calibration"] == "the validation split"
    assert manifest["details"]["unknown"]["method"] == "max_softmax"  # a network's (docs/unknown.md)
    check = manifest["lite"]["float32"]["check"]
    assert check["unknown_max_rel_diff"] <= 1e-3


def test_an_unseen_class_is_flagged_unknown_and_known_classes_seldom(server):
    stub = pb_grpc.OperatorStub(grpc.insecure_channel(server.address))
    known = classify(stub, "colours", np.concatenate([signals(RED, 10, 20), signals(BLUE, 10, 21)]))
    unseen = classify(stub, "colours", signals(GREEN, 20, 22))
    assert all(c.HasField("unknown_score") for c in known.classifications)
    assert np.mean([c.unknown for c in known.classifications]) <= 0.2
    assert np.mean([c.unknown for c in unseen.classifications]) >= 0.9
    assert all(c.unknown == (c.unknown_score > 1.0) for c in unseen.classifications)  # this model's threshold: 1
    assert {c.classes[0].label for c in unseen.classifications} <= {"red", "blue"}  # the ranking stays the known one
    text = urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=10).read().decode()
    flagged = sum(c.unknown for r in (known, unseen) for c in r.classifications)
    assert f'sigop_unknown_answers_total{{model="colours"}} {float(flagged)}' in text
    assert 'sigop_unknown_score_count{model="colours"} 40.0' in text


def test_a_stream_that_switches_to_an_unseen_class_emits_an_unknown_event_when_asked(server):
    stub = pb_grpc.OperatorStub(grpc.insecure_channel(server.address))
    signal = np.concatenate([*signals(RED, 6, 30), *signals(GREEN, 6, 31)])

    def requests(unknown_events=True):
        yield pb.ClassifyStreamRequest(config=pb.StreamConfig(model_spec=pb.ModelSpec(name="colours"), hop=512,
                                                              smoothing_windows=2, min_duration=1024,
                                                              unknown_events=unknown_events))
        for i in range(0, len(signal), 700):
            chunk = np.asarray(signal[i:i + 700], "<f8")
            yield pb.ClassifyStreamRequest(samples=pb.Float64Tensor(shape=[len(chunk)], content=chunk.tobytes()))

    out = list(stub.ClassifyStream(requests()))
    events = [r.event for r in out if r.WhichOneof("kind") == "event"]
    windows = [r.window for r in out if r.WhichOneof("kind") == "window"]
    # Known labels change as they would without the score while "unknown" holds (Smoother): the nearest known
    # class may show for the windows that hold takes, from the same place; then "unknown".
    assert events[0].label == "red" and events[-1].label == "unknown" and len(events) <= 3, events
    unknown = events[-1]
    assert abs(unknown.start_sample - 6 * 1024) <= 1024 and unknown.score > 1.0
    assert unknown.start_sample >= unknown.previous_start_sample  # never before the event it follows
    assert all(e.label in ("blue", "red") and abs(e.start_sample - unknown.start_sample) <= 512 for e in events[1:-1])
    assert all(w.classification.HasField("unknown_score") for w in windows)
    unasked = [r.event.label for r in stub.ClassifyStream(requests(False)) if r.WhichOneof("kind") == "event"]
    assert "unknown" not in unasked  # a stream that did not ask keeps the events it had before the score


def test_the_smoother_reports_unknown_only_once_the_smoothed_score_has_held():
    s = Smoother(["a", "b"], windows=1, hold_windows=2, unknown_threshold=1.0)
    pushes = [(0.5, 0), (0.4, 1), (3.0, 2), (0.2, 3), (3.0, 4), (3.0, 5), (3.0, 6)]
    events = [s.push(np.array([0.9, 0.1]), t, u) for u, t in pushes]
    assert [(e.label, e.previous) for e in events if e] == [("a", ""), ("unknown", "a")]
    assert next(e for e in events if e and e.label == "unknown").score == pytest.approx(3.0)


def test_a_one_class_model_scores_other_signals_above_its_threshold_and_its_own_below(models, server):
    _, graphs, _, one = models
    manifest = json.loads((graphs / "red_only" / "manifest.json").read_text())
    assert manifest["details"]["labels"] == ["red"] and manifest["details"]["unknown"]["method"] == "residual"
    assert one["unknown"]["calibration"].startswith("5-fold")
    stub = pb_grpc.OperatorStub(grpc.insecure_channel(server.address))
    own = classify(stub, "red_only", signals(RED, 20, 40)).classifications
    others = classify(stub, "red_only", np.concatenate([signals(BLUE, 10, 41), signals(GREEN, 10, 42)])).classifications
    assert [c.classes[0].label for c in own] == ["red"] * 20 and own[0].classes[0].score == 1.0
    assert np.mean([c.unknown for c in own]) <= 0.2
    assert np.mean([c.unknown for c in others]) >= 0.9


def test_an_int8_copy_scores_unseen_inputs_as_the_graph_does(models):
    from sigop.runtime.frozen import FrozenGraph
    from sigop.runtime.litert import LiteModel

    _, graphs, two, _ = models
    assert two["lite"]["int8"]["check"]["unknown_max_rel_diff"] < 0.05
    folder = graphs / "colours"
    x = np.concatenate([signals(RED, 5, 60), signals(GREEN, 5, 61)]).astype(np.float32)
    graph = FrozenGraph(folder)
    want = graph(x, ["unknown"])["unknown"]
    got = LiteModel(folder, graph.manifest, "int8")(x, ["unknown"])["unknown"]
    assert want[5:].min() > 1.0  # unseen: over the threshold
    np.testing.assert_allclose(got, want, rtol=0.05, atol=0.05)


def test_a_one_class_model_refuses_an_int8_copy_it_could_not_use(models, tmp_path):
    from sigop.lite_export import export_lite
    from sigop.training import TrainConfig, train

    root, graphs, _, _ = models
    with pytest.raises(ValueError, match="one-class model.*int8 copy would quantize nothing"):
        export_lite(graphs / "red_only", signals(RED, 2, 70).astype(np.float32), [signals(RED, 1, 71)[0]],
                    quantize="int8")
    with pytest.raises(ValueError, match="int8 copy would quantize nothing: drop --quantize"):
        train(TrainConfig(data=root / "one", out=tmp_path / "q", quantize="int8", progress=False, cache_dir=None))


def test_evaluate_measures_the_score_on_unknown_files_beside_the_max_softmax_baseline(models):
    from sigop.evaluate import evaluate

    root, graphs, _, _ = models
    r = evaluate(graphs / "colours", root / "two", root / "report", progress=False, unknown_data=root / "unseen")
    u = r["unknown"]
    assert u["unknown_files"] == 20 and u["known_files"] == 80
    assert u["auroc"] >= 0.95 and 0 <= u["baseline_auroc"] <= 1
    assert u["detection_rate"] >= 0.9 and u["false_rejection_rate"] <= 0.2
    assert (root / "report" / "unknown_scores.png").stat().st_size > 0
    rows = (root / "report" / "predictions.csv").read_text().splitlines()
    assert rows[0].endswith("unknown_score,unknown") and sum(",(unknown)," in row for row in rows) == 20


def test_a_model_exported_before_the_unknown_score_still_answers_without_one(models, tmp_path):
    from sigop.serving.server import Server, ServerConfig

    _, graphs, _, _ = models
    old = tmp_path / "graphs" / "colours"
    shutil.copytree(graphs / "colours", old)
    manifest = json.loads((old / "manifest.json").read_text())
    del manifest["outputs"]["unknown"], manifest["details"]["unknown"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    s = Server(ServerConfig(graphs=old.parent, address="127.0.0.1:0", poll_seconds=0)).start()
    try:
        r = classify(pb_grpc.OperatorStub(grpc.insecure_channel(s.address)), "colours", signals(GREEN, 2, 50))
    finally:
        s.stop(0)
    assert [c.HasField("unknown_score") or c.unknown for c in r.classifications] == [False, False]


def test_a_change_between_known_classes_neither_flickers_unknown_nor_comes_later():
    from sigop.serving.events import unknown_hold_windows

    hold = unknown_hold_windows(1, window=4, hop=2, smoothing=1)  # two, and one window straddles each change
    assert hold == 3 and unknown_hold_windows(4, window=4, hop=1, smoothing=3) == 4 + 3 + 2
    with_unknown = Smoother(["a", "b"], unknown_threshold=1.0, unknown_hold_windows=hold)
    without = Smoother(["a", "b"])
    a, b = np.array([0.9, 0.1]), np.array([0.1, 0.9])
    windows = [(a, 0.2), (a, 0.3), (b, 1.8), (b, 1.2), (b, 0.2)]  # the third straddles a -> b; the fourth is one
    # known window in twenty over the threshold
    got = [with_unknown.push(p, 2.0 * t, u) for t, (p, u) in enumerate(windows)]
    want = [without.push(p, 2.0 * t) for t, (p, _) in enumerate(windows)]
    assert [(e.label, e.start) for e in got if e] == [(e.label, e.start) for e in want if e] == [("a", 0.0), ("b", 4.5)]
