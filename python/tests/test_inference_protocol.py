"""The Open Inference Protocol on sigop's port: same answers, codes and readiness as the Operator service."""

import shutil
import struct

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sigop.datasets.article import CLASSES, generate
from sigop.inference import open_inference_grpc_pb2 as ipb
from sigop.inference import open_inference_grpc_pb2_grpc as ipb_grpc
from sigop.operator.v1 import operator_pb2 as pb
from sigop.operator.v1 import operator_pb2_grpc as pb_grpc
from sigop.render import SpectrumContract, render_signal
from sigop.serving.server import Server, ServerConfig
from sigop.serving.status import MAX_MESSAGE_BYTES
from test_classify_server import png, signals_request


@pytest.fixture(scope="module")
def server(article_model, fft_graph_dir, tmp_path_factory):
    folder, _, _, _ = article_model
    root = tmp_path_factory.mktemp("oip")
    shutil.copytree(fft_graph_dir, root / "fft")
    shutil.copytree(folder, root / "article")
    s = Server(ServerConfig(graphs=root, address="127.0.0.1:0", poll_seconds=0)).start()
    yield s
    s.stop(0)


@pytest.fixture(scope="module")
def stubs(server):
    channel = grpc.insecure_channel(server.address)
    return ipb_grpc.GRPCInferenceServiceStub(channel), pb_grpc.OperatorStub(channel)


def signals(n=12, seed=5):
    rng = np.random.default_rng(seed)
    return np.stack([generate(CLASSES[i % 2], rng) for i in range(n)])


def infer(name, *tensors, raw=True, outputs=(), **params):
    """A ModelInferRequest of (name, datatype, array-or-bytes-list) inputs."""
    r = ipb.ModelInferRequest(model_name=name, id="req-7")
    for k, v in params.items():
        if isinstance(v, float):
            r.parameters[k].double_param = v
        else:
            r.parameters[k].int64_param = v
    for tname, datatype, values in tensors:
        t = r.inputs.add(name=tname, datatype=datatype)
        if datatype == "BYTES":
            t.shape[:] = [len(values)]
            if raw:
                r.raw_input_contents.append(b"".join(struct.pack("<I", len(v)) + v for v in values))
            else:
                t.contents.bytes_contents.extend(values)
        else:
            t.shape[:] = values.shape
            if raw:
                r.raw_input_contents.append(values.tobytes())
            else:
                getattr(t.contents, {"FP64": "fp64_contents", "FP32": "fp32_contents"}[datatype]).extend(
                    values.reshape(-1).tolist())
    for o in outputs:
        name, _, k = o.partition("/")
        out = r.outputs.add(name=name)
        if k:
            out.parameters["classification"].int64_param = int(k)
    return r


def output(response, name):
    """An output's values as numpy (numbers) or a list of bytes, from raw or typed contents."""
    i, t = next((i, t) for i, t in enumerate(response.outputs) if t.name == name)
    dtypes = {"FP64": "<f8", "FP32": "<f4", "BOOL": "?"}
    if response.raw_output_contents:
        raw = response.raw_output_contents[i]
        if t.datatype == "BYTES":
            out, at = [], 0
            while at < len(raw):
                (size,) = struct.unpack_from("<I", raw, at)
                out.append(raw[at + 4:at + 4 + size])
                at += 4 + size
            return out
        return np.frombuffer(raw, dtypes[t.datatype]).reshape(tuple(t.shape))
    if t.datatype == "BYTES":
        return list(t.contents.bytes_contents)
    field = {"FP64": "fp64_contents", "FP32": "fp32_contents", "BOOL": "bool_contents"}[t.datatype]
    return np.array(getattr(t.contents, field), dtypes[t.datatype]).reshape(tuple(t.shape))


@pytest.mark.parametrize("raw", [True, False])
def test_model_infer_gives_classify_signals_scores(stubs, raw):
    oip, op = stubs
    x = signals()
    want = op.ClassifySignal(signals_request(x))
    r = oip.ModelInfer(infer("article", ("signals", "FP64", x), raw=raw))
    assert (r.model_name, r.model_version, r.id) == ("article", "1", "req-7")
    assert [t.name for t in r.outputs] == ["probabilities", "label", "unknown", "is_unknown"]
    assert bool(r.raw_output_contents) == raw
    labels = [c.label for c in want.classifications[0].classes]
    p = output(r, "probabilities")
    assert p.shape == (len(x), 2) and p.dtype == np.float32
    for row, c in zip(p, want.classifications):
        by_label = {k.label: k.score for k in c.classes}
        np.testing.assert_allclose(row, [by_label[lab] for lab in sorted(by_label)], rtol=1e-6, atol=1e-7)
    assert [v.decode() for v in output(r, "label")] == [c.classes[0].label for c in want.classifications]
    np.testing.assert_allclose(output(r, "unknown"), [c.unknown_score for c in want.classifications], rtol=1e-6)
    assert output(r, "is_unknown").tolist() == [c.unknown for c in want.classifications]
    assert sorted(labels) == sorted(by_label)
    # FP32 signals are the same signals to float32's precision
    r32 = oip.ModelInfer(infer("article", ("signals", "FP32", x.astype(np.float32)), raw=raw, outputs=["probabilities"]))
    np.testing.assert_allclose(output(r32, "probabilities"), p, atol=1e-4)


def test_images_pixels_classification_and_top_k(stubs):
    oip, op = stubs
    x = signals(4, seed=9)
    grey = render_signal(x, SpectrumContract(max_bin=136))
    want = op.ClassifySignal(signals_request(x, top_k=1))
    by_png = oip.ModelInfer(infer("article", ("images", "BYTES", [png(g) for g in grey]), outputs=["probabilities/1"]))
    pixels = np.repeat(grey[..., None], 3, axis=3)
    by_pixels = oip.ModelInfer(infer("article", ("images", "UINT8", pixels), outputs=["probabilities/1"]))
    for r in (by_png, by_pixels):
        strings = [s.decode() for s in output(r, "probabilities")]
        assert [t.shape for t in r.outputs] == [[4, 1]]
        assert [s.split(":", 2)[2] for s in strings] == [c.classes[0].label for c in want.classifications]
        for s, c in zip(strings, want.classifications):
            score, index, label = s.split(":", 2)
            assert float(score) == pytest.approx(c.classes[0].score, abs=1e-3)
            assert int(index) == ["blue", "red"].index(label)
    top = oip.ModelInfer(infer("article", ("signals", "FP64", x), outputs=["probabilities", "label"], top_k=2))
    assert [t.datatype for t in top.outputs] == ["BYTES", "BYTES"] and list(top.outputs[0].shape) == [4, 2]


def test_the_fft_graph_is_a_model(stubs):
    oip, op = stubs
    x = np.random.default_rng(1).normal(size=(3, 64))
    want = op.FFT(pb.FFTRequest(signals=pb.Float64Tensor(shape=[3, 64], content=x.tobytes()),
                                spectra=[pb.SPECTRUM_MAGNITUDE, pb.SPECTRUM_COMPLEX]))
    for raw in (True, False):
        r = oip.ModelInfer(infer("fft", ("signals", "FP64", x), raw=raw))
        assert [t.name for t in r.outputs] == ["magnitude", "real", "imag"]
        for name in ("magnitude", "real", "imag"):
            np.testing.assert_array_equal(output(r, name), np.frombuffer(getattr(want, name).content, "<f8").reshape(3, 33))
    one = oip.ModelInfer(infer("fft", ("signals", "FP64", x[0]), outputs=["magnitude"]))
    assert list(one.outputs[0].shape) == [33] and output(one, "magnitude").tolist() == output(r, "magnitude")[0].tolist()


def test_metadata_and_readiness(stubs, server):
    oip, _ = stubs
    assert oip.ServerLive(ipb.ServerLiveRequest()).live and oip.ServerReady(ipb.ServerReadyRequest()).ready
    meta = oip.ServerMetadata(ipb.ServerMetadataRequest())
    assert meta.name == "sigop" and "classification" in meta.extensions
    m = oip.ModelMetadata(ipb.ModelMetadataRequest(name="article"))
    assert (m.name, list(m.versions), m.platform) == ("article", ["1"], "sigop")
    assert [(t.name, t.datatype, list(t.shape)) for t in m.inputs] == [("signals", "FP64", [-1, -1])]
    assert [(t.name, t.datatype, list(t.shape)) for t in m.outputs] == [
        ("probabilities", "FP32", [-1, 2]), ("label", "BYTES", [-1]), ("unknown", "FP32", [-1]),
        ("is_unknown", "BOOL", [-1])]
    assert m.properties["labels"] == '["blue", "red"]' and "images" in m.properties["also_accepts"]
    f = oip.ModelMetadata(ipb.ModelMetadataRequest(name="fft"))
    assert [t.name for t in f.outputs] == ["magnitude", "real", "imag"]
    assert oip.ModelReady(ipb.ModelReadyRequest(name="article")).ready
    assert oip.ModelReady(ipb.ModelReadyRequest(name="article", version="1")).ready
    assert not oip.ModelReady(ipb.ModelReadyRequest(name="article", version="2")).ready
    assert not oip.ModelReady(ipb.ModelReadyRequest(name="nope")).ready


NAN = np.array([[1.0, np.nan, 2.0]])
BAD = [
    ("unknown model", infer("nope", ("signals", "FP64", signals(1))), grpc.StatusCode.NOT_FOUND, "not loaded"),
    ("missing version", infer("article", ("signals", "FP64", signals(1))) , grpc.StatusCode.NOT_FOUND, "version 9"),
    ("no model name", infer("", ("signals", "FP64", signals(1))), grpc.StatusCode.INVALID_ARGUMENT, "model_name"),
    ("NaN", infer("article", ("signals", "FP64", NAN)), grpc.StatusCode.INVALID_ARGUMENT, "sample 1 is nan"),
    ("int signals", infer("article", ("signals", "FP64", np.zeros((1, 4), np.int32))), grpc.StatusCode.INVALID_ARGUMENT,
     "raw contents have"),
    ("wrong input", infer("article", ("pixels", "FP64", signals(1))), grpc.StatusCode.INVALID_ARGUMENT, "'signals'"),
    ("two inputs", infer("article", ("signals", "FP64", signals(1)), ("audio", "BYTES", [b"x"])),
     grpc.StatusCode.INVALID_ARGUMENT, "exactly one input"),
    ("bad output", infer("article", ("signals", "FP64", signals(1)), outputs=["logits"]),
     grpc.StatusCode.INVALID_ARGUMENT, "has outputs"),
    ("bad png", infer("article", ("images", "BYTES", [b"\x89PNG garbage"])), grpc.StatusCode.INVALID_ARGUMENT, "images"),
    ("audio to a spectrum model", infer("article", ("audio", "BYTES", [b"RIFF"])), grpc.StatusCode.FAILED_PRECONDITION,
     "not waveforms"),
    ("rate for a spectrum model", infer("article", ("signals", "FP64", signals(1)), sample_rate=8000.0),
     grpc.StatusCode.INVALID_ARGUMENT, "rate"),
    ("classification of the FFT", infer("fft", ("signals", "FP64", signals(1)), outputs=["magnitude/2"]),
     grpc.StatusCode.INVALID_ARGUMENT, "classification"),
    ("negative classification", infer("article", ("signals", "FP64", signals(1)), outputs=["probabilities/-1"]),
     grpc.StatusCode.INVALID_ARGUMENT, "parameter classification '-1'"),
]
BAD[1][1].model_version = "9"


@pytest.mark.parametrize("request_, code, match", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_requests_get_their_codes_and_the_server_keeps_serving(stubs, request_, code, match):
    oip, _ = stubs
    with pytest.raises(grpc.RpcError) as e:
        oip.ModelInfer(request_)
    assert e.value.code() == code and match in e.value.details(), e.value.details()
    assert oip.ModelInfer(infer("fft", ("signals", "FP64", np.array([1.0, 0.0])))).outputs


def test_hostile_shapes_and_contents(stubs):
    oip, _ = stubs
    cases = {
        "negative": ipb.ModelInferRequest(model_name="fft", inputs=[ipb.ModelInferRequest.InferInputTensor(
            name="signals", datatype="FP64", shape=[-1, 4])]),
        "huge": ipb.ModelInferRequest(model_name="fft", inputs=[ipb.ModelInferRequest.InferInputTensor(
            name="signals", datatype="FP64", shape=[1 << 40, 1 << 40])], raw_input_contents=[b""]),
        "typed count": ipb.ModelInferRequest(model_name="fft", inputs=[ipb.ModelInferRequest.InferInputTensor(
            name="signals", datatype="FP64", shape=[2, 2], contents=ipb.InferTensorContents(fp64_contents=[1, 2, 3]))]),
        "raw and typed": ipb.ModelInferRequest(model_name="fft", inputs=[ipb.ModelInferRequest.InferInputTensor(
            name="signals", datatype="FP64", shape=[1], contents=ipb.InferTensorContents(fp64_contents=[1]))],
            raw_input_contents=[np.zeros(1).tobytes()]),
        "raw count": infer("fft", ("signals", "FP64", np.zeros(4))),
        "bytes length": ipb.ModelInferRequest(model_name="article", inputs=[ipb.ModelInferRequest.InferInputTensor(
            name="images", datatype="BYTES", shape=[1])], raw_input_contents=[struct.pack("<I", 1 << 30) + b"x"]),
        "datatype": ipb.ModelInferRequest(model_name="fft", inputs=[ipb.ModelInferRequest.InferInputTensor(
            name="signals", datatype="COMPLEX", shape=[1])], raw_input_contents=[b"\0" * 8]),
        "int8 range": ipb.ModelInferRequest(model_name="article", inputs=[ipb.ModelInferRequest.InferInputTensor(
            name="images", datatype="INT8", shape=[1], contents=ipb.InferTensorContents(int_contents=[300]))]),
        "version": infer("fft", ("signals", "FP64", np.zeros(4))),
    }
    cases["raw count"].raw_input_contents.append(b"")
    cases["version"].model_version = "one"
    for name, request in cases.items():
        with pytest.raises(grpc.RpcError) as e:
            oip.ModelInfer(request)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (name, e.value.details())


@pytest.mark.parametrize("version", ["²", "①", "١", "1" * 19, " 1", "1.0", "-1"])
def test_versions_are_ascii_digits_on_every_call(stubs, version):
    """str.isdigit() took "²" and "①" (int() refused them: INTERNAL) and "١" (read as version 1)."""
    oip, _ = stubs
    calls = {"ModelInfer": lambda: oip.ModelInfer(_versioned(infer("article", ("signals", "FP64", signals(1))),
                                                              version)),
             "ModelMetadata": lambda: oip.ModelMetadata(ipb.ModelMetadataRequest(name="article", version=version)),
             "ModelReady": lambda: oip.ModelReady(ipb.ModelReadyRequest(name="article", version=version))}
    for name, call in calls.items():
        with pytest.raises(grpc.RpcError) as e:
            call()
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (name, e.value.details())
        assert "digits 0-9" in e.value.details(), (name, e.value.details())


def _versioned(request, version):
    request.model_version = version
    return request


def test_a_version_that_does_not_exist_is_not_ready_and_not_found(stubs):
    oip, _ = stubs
    assert not oip.ModelReady(ipb.ModelReadyRequest(name="article", version="999999999999999999")).ready
    with pytest.raises(grpc.RpcError) as e:
        oip.ModelMetadata(ipb.ModelMetadataRequest(name="article", version="7"))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


def _many_inputs(names):
    r = ipb.ModelInferRequest(model_name="article")
    for name in names:
        r.inputs.add(name=name, datatype="FP64", shape=[1], contents=ipb.InferTensorContents(fp64_contents=[0.0]))
    return r


@pytest.mark.parametrize("names", [
    [f"input-{i}" for i in range(3000)],  # the message listed every name: 22 KB, past gRPC's 16 KiB for trailers
    ["signals"] * 3000,  # named twice, 3000 times
    ["x" * 20000],  # one name of 20,000 characters
    ["é" * 20000, "signals"],  # two bytes a character, percent-encoded to six on the wire
], ids=["3000 inputs", "3000 the same", "a long name", "a long non-ASCII name"])
def test_status_messages_are_bounded_so_the_client_sees_the_code(stubs, names):
    oip, _ = stubs
    with pytest.raises(grpc.RpcError) as e:
        oip.ModelInfer(_many_inputs(names))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value.details()[:200]
    assert len(e.value.details().encode()) <= MAX_MESSAGE_BYTES == 2048, len(e.value.details())
    assert "input" in e.value.details()


def test_a_shape_of_many_dimensions_is_refused_in_a_short_message(stubs):
    oip, _ = stubs
    request = ipb.ModelInferRequest(model_name="fft", inputs=[ipb.ModelInferRequest.InferInputTensor(
        name="signals", datatype="FP64", shape=[2] * 100000)])
    with pytest.raises(grpc.RpcError) as e:
        oip.ModelInfer(request)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "(100,000 in all)" in e.value.details() and len(e.value.details()) < 400, e.value.details()


def test_the_shared_memory_extension_is_refused_not_ignored(stubs):
    """sigop does not offer the protocol's shared-memory extension: a tensor naming a region had its parameter
    ignored (an input then failed on its count; an output's answer went in the response while the client read
    its region)."""
    oip, _ = stubs
    as_input = infer("fft", ("signals", "FP64", np.zeros(4)))
    as_input.inputs[0].parameters["shared_memory_region"].string_param = "region-1"
    as_output = infer("fft", ("signals", "FP64", np.zeros(4)), outputs=["magnitude"])
    as_output.outputs[0].parameters["shared_memory_region"].string_param = "region-1"
    for request in (as_input, as_output):
        with pytest.raises(grpc.RpcError) as e:
            oip.ModelInfer(request)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "shared-memory extension" in e.value.details()


def _not_utf8(message) -> bytes:
    """A message with its string "QQQ" replaced by bytes that are not UTF-8: protobuf refuses to parse it."""
    return message.SerializeToString().replace(b"QQQ", b"\xff\xfeQ")


@pytest.mark.parametrize("method, message", [
    ("/sigop.operator.v1.Operator/FFT", pb.FFTRequest(model_spec=pb.ModelSpec(name="QQQ"))),
    ("/inference.GRPCInferenceService/ModelInfer", ipb.ModelInferRequest(model_name="QQQ")),
    ("/inference.GRPCInferenceService/ModelReady", ipb.ModelReadyRequest(name="QQQ")),
    ("/grpc.health.v1.Health/Check", health_pb2.HealthCheckRequest(service="QQQ")),
], ids=["FFT", "ModelInfer", "ModelReady", "health"])
def test_a_request_that_does_not_parse_is_invalid_argument_not_internal(server, method, message):
    """grpcio answered bytes its deserializer refused (a string that is not UTF-8, a truncated message) with
    INTERNAL, "Exception deserializing request!"."""
    with grpc.insecure_channel(server.address) as channel:
        call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        for data in (_not_utf8(message), b"\x0a\xff"):  # the second: a length past the end
            with pytest.raises(grpc.RpcError) as e:
                call(data, timeout=30)
            assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (data, e.value.details())
            assert "not a valid protobuf message" in e.value.details()


def test_a_stream_message_that_does_not_parse_ends_the_stream_invalid_argument(server):
    config = pb.ClassifyStreamRequest(config=pb.StreamConfig(model_spec=pb.ModelSpec(name="article")))
    bad = _not_utf8(pb.ClassifyStreamRequest(config=pb.StreamConfig(model_spec=pb.ModelSpec(name="QQQ"))))
    with grpc.insecure_channel(server.address) as channel:
        call = channel.stream_stream("/sigop.operator.v1.Operator/ClassifyStream", request_serializer=None,
                                     response_deserializer=None)
        for messages in ([bad], [config.SerializeToString(), bad]):
            with pytest.raises(grpc.RpcError) as e:
                list(call(iter(messages), timeout=60))
            assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value.details()
    stub = pb_grpc.OperatorStub(grpc.insecure_channel(server.address))
    assert stub.FFT(pb.FFTRequest(signals=pb.Float64Tensor(shape=[2], content=np.zeros(2).tobytes()))).magnitude


def test_ready_follows_health_through_shutdown(fft_graph_dir, tmp_path):
    shutil.copytree(fft_graph_dir, tmp_path / "fft")
    s = Server(ServerConfig(graphs=tmp_path, address="127.0.0.1:0", poll_seconds=0)).start()
    try:
        channel = grpc.insecure_channel(s.address)
        oip, health = ipb_grpc.GRPCInferenceServiceStub(channel), health_pb2_grpc.HealthStub(channel)
        for service in ("", "inference.GRPCInferenceService"):
            assert health.Check(health_pb2.HealthCheckRequest(service=service)).status == health_pb2.HealthCheckResponse.SERVING
        assert oip.ServerReady(ipb.ServerReadyRequest()).ready
        s.health.enter_graceful_shutdown()  # what stop() does first
        assert not oip.ServerReady(ipb.ServerReadyRequest()).ready
        assert not oip.ModelReady(ipb.ModelReadyRequest(name="fft")).ready
        assert oip.ServerLive(ipb.ServerLiveRequest()).live
    finally:
        s.stop(0)
