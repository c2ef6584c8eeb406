import io
import re
import json
import shutil

import grpc
import numpy as np
import pytest
from PIL import Image

from sigop.datasets.article import CLASSES, generate
from sigop.operator.v1 import operator_pb2 as pb
from sigop.operator.v1 import operator_pb2_grpc as pb_grpc
from sigop.render import SpectrumContract, render_signal
from sigop.serving.server import Server, ServerConfig


@pytest.fixture(scope="module")
def served(article_model, fft_graph_dir, tmp_path_factory):
    folder, _, _, _ = article_model
    root = tmp_path_factory.mktemp("served")
    shutil.copytree(fft_graph_dir, root / "fft")
    shutil.copytree(folder, root / "article")
    # An image-only classifier: the same graph with the spectrum contract removed from its manifest.
    shutil.copytree(folder, root / "plain")
    m = json.loads((root / "plain" / "manifest.json").read_text())
    m["name"] = "plain"
    del m["details"]["spectrum_contract"]
    (root / "plain" / "manifest.json").write_text(json.dumps(m))
    server = Server(ServerConfig(graphs=root, address="127.0.0.1:0")).start()
    yield pb_grpc.OperatorStub(grpc.insecure_channel(server.address))
    server.stop(0)


def signals_request(x, name="article", top_k=0):
    x = np.asarray(x, dtype="<f8")
    return pb.ClassifySignalRequest(model_spec=pb.ModelSpec(name=name), top_k=top_k,
                                    signals=pb.Float64Tensor(shape=list(x.shape), content=x.tobytes()))


def png(gray: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(gray).save(buf, "PNG")
    return buf.getvalue()


def test_classify_signal_and_the_same_image_agree(served):
    rng = np.random.default_rng(77)
    x = np.stack([generate(c, rng) for c in CLASSES for _ in range(10)])
    by_signal = served.ClassifySignal(signals_request(x))
    images = [png(img) for img in render_signal(x, SpectrumContract(max_bin=136))]
    by_image = served.Classify(pb.ClassifyRequest(model_spec=pb.ModelSpec(name="article"), images=images))
    assert by_signal.model_spec.name == "article" and len(by_signal.classifications) == 20
    labels = [c.classes[0].label for c in by_signal.classifications]
    truth = [c.name for c in CLASSES for _ in range(10)]
    assert sum(a == b for a, b in zip(labels, truth)) >= 18  # the model errs rarely; 20/20 is typical
    for s, i in zip(by_signal.classifications, by_image.classifications):
        assert [c.label for c in s.classes] == [c.label for c in i.classes]
        assert s.classes[0].score == pytest.approx(i.classes[0].score, abs=1e-3)
        assert sum(c.score for c in s.classes) == pytest.approx(1.0, abs=1e-4)


def test_signals_of_any_length_are_padded_or_cut_to_the_contract(served):
    rng = np.random.default_rng(78)
    x = generate(CLASSES[0], rng)
    short, padded = x[:1000], np.pad(x[:1000], (0, 24))
    long, cut = np.concatenate([x, rng.standard_normal(500)]), x
    for given, same in ((short, padded), (long, cut)):
        a, b = (served.ClassifySignal(signals_request(v)).classifications[0].classes for v in (given, same))
        assert [c.label for c in a] == [c.label for c in b]
        assert [c.score for c in a] == pytest.approx([c.score for c in b], abs=1e-6)


def test_top_k_and_one_d_signal(served):
    r = served.ClassifySignal(signals_request(generate(CLASSES[0], np.random.default_rng(1)), top_k=1))
    assert len(r.classifications) == 1 and len(r.classifications[0].classes) == 1


@pytest.mark.parametrize(
    "call, code, match",
    [
        (lambda s: s.Classify(pb.ClassifyRequest(model_spec=pb.ModelSpec(name="article"), images=[b"not an image"])),
         grpc.StatusCode.INVALID_ARGUMENT, r"images\[0\]: not a PNG or JPEG"),
        (lambda s: s.Classify(pb.ClassifyRequest(model_spec=pb.ModelSpec(name="article"))),
         grpc.StatusCode.INVALID_ARGUMENT, "at least one"),
        (lambda s: s.Classify(pb.ClassifyRequest(model_spec=pb.ModelSpec(name="nope"), images=[b"x"])),
         grpc.StatusCode.NOT_FOUND, "not loaded"),
        (lambda s: s.Classify(pb.ClassifyRequest(images=[b"x"])),
         grpc.StatusCode.INVALID_ARGUMENT, "name is required"),
        (lambda s: s.Classify(pb.ClassifyRequest(model_spec=pb.ModelSpec(name="fft"), images=[b"x"])),
         grpc.StatusCode.INVALID_ARGUMENT, "fft model, not classifier"),
        (lambda s: s.ClassifySignal(signals_request([[1.0, np.nan]])),
         grpc.StatusCode.INVALID_ARGUMENT, "finite"),
        (lambda s: s.ClassifySignal(signals_request(np.zeros(1024), top_k=-1)),
         grpc.StatusCode.INVALID_ARGUMENT, "top_k"),
        (lambda s: s.ClassifySignal(signals_request(np.zeros(1024), name="plain")),
         grpc.StatusCode.FAILED_PRECONDITION, "without a spectrum contract"),
    ],
)
def test_bad_requests_get_their_codes_and_the_server_keeps_serving(served, call, code, match):
    with pytest.raises(grpc.RpcError) as e:
        call(served)
    assert e.value.code() == code
    assert re.search(match, e.value.details()), e.value.details()
    r = served.ClassifySignal(signals_request(generate(CLASSES[1], np.random.default_rng(3)), top_k=1))
    assert len(r.classifications) == 1 and r.classifications[0].classes[0].label in ("blue", "red")


def test_batching_server_gives_the_same_answers_under_concurrency(served, article_model, fft_graph_dir, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from sigop.serving.batching import BatchConfig

    folder, _, _, _ = article_model
    shutil.copytree(fft_graph_dir, tmp_path / "fft")
    shutil.copytree(folder, tmp_path / "article")
    server = Server(ServerConfig(graphs=tmp_path, address="127.0.0.1:0", poll_seconds=0, metrics_address="127.0.0.1:0",
                                 batching=BatchConfig(max_batch=16, max_delay=0.02))).start()
    try:
        stub = pb_grpc.OperatorStub(grpc.insecure_channel(server.address))
        rng = np.random.default_rng(8)
        signals = [generate(c, rng) for c in CLASSES for _ in range(12)]
        # The answers of the server without batching, one call each (not the true classes: the model errs rarely).
        want = [served.ClassifySignal(signals_request(x, top_k=1)).classifications[0].classes[0].label for x in signals]
        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(lambda x: stub.ClassifySignal(signals_request(x, top_k=1)).classifications[0]
                                .classes[0].label, signals))
        assert got == want
        import urllib.request

        text = urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=10).read().decode()
        assert 'sigop_queue_seconds_count{model="article"} 24.0' in text
        assert 'sigop_batch_size_count{model="article"}' in text
    finally:
        server.stop(0)
