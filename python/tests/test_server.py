import shutil
import threading
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sigop.serving.repository import ModelRepository
from sigop.operator.v1 import operator_pb2 as pb
from sigop.operator.v1 import operator_pb2_grpc as pb_grpc
from sigop.serving.server import OPERATOR_SERVICE, Server, ServerConfig
from sigop.datasets.testsignal import noise


@pytest.fixture
def graphs(tmp_path, fft_graph_dir) -> Path:
    shutil.copytree(fft_graph_dir, tmp_path / "fft")
    return tmp_path


@pytest.fixture
def server(graphs):
    s = Server(ServerConfig(graphs=graphs, address="127.0.0.1:0", grace_seconds=10)).start()
    yield s
    s.stop(0)


def stubs(address):
    channel = grpc.insecure_channel(
        address, options=[("grpc.max_receive_message_length", 64 << 20), ("grpc.max_send_message_length", 64 << 20)]
    )
    return channel, pb_grpc.OperatorStub(channel), health_pb2_grpc.HealthStub(channel)


def fft_request(x, *spectra):
    x = np.asarray(x, dtype="<f8")
    return pb.FFTRequest(signals=pb.Float64Tensor(shape=list(x.shape), content=x.tobytes()), spectra=spectra)


def values(t):
    return np.frombuffer(t.content, "<f8").reshape(tuple(t.shape))


def test_serves_fft_over_grpc(server):
    _, op, health = stubs(server.address)
    x = noise(4096, 11)
    r = op.FFT(fft_request(x, pb.SPECTRUM_MAGNITUDE, pb.SPECTRUM_COMPLEX))
    ref = np.fft.rfft(x)
    scale = np.max(np.abs(ref))
    assert list(r.magnitude.shape) == [2049]
    assert np.max(np.abs(values(r.magnitude) - np.abs(ref))) / scale <= 1e-9
    assert np.max(np.abs(values(r.real) + 1j * values(r.imag) - ref)) / scale <= 1e-9
    assert r.model_spec.name == "fft" and r.model_spec.version == 1
    only_mag = op.FFT(fft_request(x))  # default: magnitude only
    assert only_mag.HasField("magnitude") and not only_mag.HasField("real")
    for svc in ("", OPERATOR_SERVICE):
        assert health.Check(health_pb2.HealthCheckRequest(service=svc)).status == health_pb2.HealthCheckResponse.SERVING


def test_batch_keeps_rows_apart(server):
    _, op, _ = stubs(server.address)
    x = np.stack([noise(300, s) for s in range(5)])
    r = op.FFT(fft_request(x))
    assert list(r.magnitude.shape) == [5, 151]
    np.testing.assert_allclose(values(r.magnitude), np.abs(np.fft.rfft(x, axis=1)), rtol=0, atol=1e-10)


def test_message_larger_than_grpc_default_4mib(server):
    _, op, _ = stubs(server.address)
    x = noise(1 << 19, 3)  # 4 MiB of float64: over gRPC's default limit
    r = op.FFT(fft_request(x, pb.SPECTRUM_COMPLEX))
    assert list(r.real.shape) == [(1 << 18) + 1]


def test_graceful_shutdown_finishes_in_flight_call(graphs):
    server = Server(ServerConfig(graphs=graphs, address="127.0.0.1:0", grace_seconds=30)).start()
    model, _ = server.models.get("fft")
    entered, release = threading.Event(), threading.Event()
    real_call = model.__call__

    class Gate:  # holds the call inside the model until the test lets go
        def __call__(self, x, outputs):
            entered.set()
            assert release.wait(30)
            return real_call(x, outputs)

        def __getattr__(self, name):
            return getattr(model, name)

    gate = Gate()
    server.models.get = lambda name, version=0: (gate, 1)
    channel, op, health = stubs(server.address)
    result = {}
    caller = threading.Thread(target=lambda: result.update(r=op.FFT(fft_request([1.0, 0, 0, 0]))))
    caller.start()
    assert entered.wait(30)
    watch = health.Watch(health_pb2.HealthCheckRequest(service=OPERATOR_SERVICE), timeout=30)
    assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    # Shutdown has begun while the call is held: health turns NOT_SERVING so
    # balancers stop sending, yet the held call must still complete.
    assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
    watch.cancel()
    assert caller.is_alive()
    release.set()
    caller.join(30)
    stopper.join(30)
    assert values(result["r"].magnitude).tolist() == [1.0, 1.0, 1.0]


def test_repository_records_a_broken_folder_and_serves_the_rest(graphs, caplog):
    broken = graphs / "broken"
    shutil.copytree(graphs / "fft", broken)
    (broken / "graph.pb").write_bytes(b"garbage")
    repo = ModelRepository(graphs)
    repo.refresh()
    assert repo.names() == ["fft"]
    status = repo.status()["broken"][1]
    assert status.state == "FAILED" and "sha256" in status.message
    assert "not loaded" in caplog.text
    repo.close()


def test_a_server_needs_one_graph(tmp_path):
    with pytest.raises(FileNotFoundError, match="no loadable graph"):
        Server(ServerConfig(graphs=tmp_path, address="127.0.0.1:0")).start()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ModelRepository(tmp_path / "missing")


def test_message_over_the_configured_limit_is_resource_exhausted(graphs):
    server = Server(ServerConfig(graphs=graphs, address="127.0.0.1:0", max_message_bytes=1 << 20)).start()
    try:
        _, op, _ = stubs(server.address)
        with pytest.raises(grpc.RpcError) as err:
            op.FFT(fft_request(noise(1 << 18, 1)))  # 2 MiB of float64
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        r = op.FFT(fft_request([1.0, 0.0]))  # and it keeps serving
        assert values(r.magnitude).tolist() == [1.0, 1.0]
    finally:
        server.stop(0)


def test_token_guards_every_service_but_health(graphs):
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    server = Server(ServerConfig(graphs=graphs, address="127.0.0.1:0", token="t0k", poll_seconds=0)).start()
    try:
        channel, op, health = stubs(server.address)
        with pytest.raises(grpc.RpcError) as e:
            op.FFT(fft_request([1.0]))
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED and "Bearer" in e.value.details()
        with pytest.raises(grpc.RpcError) as e:
            op.FFT(fft_request([1.0]), metadata=[("authorization", "Bearer t0K")])
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED and "invalid" in e.value.details()
        r = op.FFT(fft_request([1.0, 0.0]), metadata=[("authorization", "Bearer t0k")])
        assert values(r.magnitude).tolist() == [1.0, 1.0]
        refl = reflection_pb2_grpc.ServerReflectionStub(channel)
        with pytest.raises(grpc.RpcError) as e:  # a streaming method is refused the same way
            list(refl.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")])))
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert health.Check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING
        from sigop.inference import open_inference_grpc_pb2 as ipb, open_inference_grpc_pb2_grpc as ipb_grpc

        oip = ipb_grpc.GRPCInferenceServiceStub(channel)  # the second protocol on the port is guarded the same way
        with pytest.raises(grpc.RpcError) as e:
            oip.ServerMetadata(ipb.ServerMetadataRequest())
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert oip.ServerMetadata(ipb.ServerMetadataRequest(), metadata=[("authorization", "Bearer t0k")]).name == "sigop"
    finally:
        server.stop(0)


def test_prometheus_metrics_count_calls_codes_and_compute(graphs):
    import urllib.request

    server = Server(ServerConfig(graphs=graphs, address="127.0.0.1:0", metrics_address="127.0.0.1:0",
                                 poll_seconds=0)).start()
    try:
        _, op, _ = stubs(server.address)
        op.FFT(fft_request([1.0, 2.0]))
        op.FFT(fft_request([3.0]))
        with pytest.raises(grpc.RpcError):
            op.FFT(fft_request([np.nan]))
        text = urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=10).read().decode()
    finally:
        server.stop(0)
    assert 'sigop_requests_total{code="OK",method="FFT"} 2.0' in text
    assert 'sigop_requests_total{code="INVALID_ARGUMENT",method="FFT"} 1.0' in text
    assert 'sigop_compute_seconds_count{method="FFT",model="fft"} 2.0' in text
    assert 'sigop_request_seconds_count{method="FFT"} 3.0' in text
    assert "sigop_models_loaded 1.0" in text


def test_inflight_calls_count_computing_services_only():
    """sigop_inflight_calls (what deploy/'s HorizontalPodAutoscaler scales on) counts a computing call while it
    runs, not health's, and falls back when the call ends, whether it returned or raised."""
    from collections import namedtuple

    from sigop.serving.interceptors import MetricsInterceptor
    from sigop.serving.metrics import Metrics

    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    metrics = Metrics(registry=registry)
    interceptor = MetricsInterceptor(metrics, computing=(OPERATOR_SERVICE,))
    Details = namedtuple("Details", "method invocation_metadata")
    running, release, seen = threading.Event(), threading.Event(), []

    def slow(request, context):
        running.set()
        release.wait(30)
        if request == "fail":
            raise RuntimeError("failed")
        return request

    class Context:
        def code(self):
            return None

        def peer(self):
            return "test"

        def details(self):
            return ""

    def wrapped(method):
        handler = interceptor.intercept_service(lambda d: grpc.unary_unary_rpc_method_handler(slow), Details(method, ()))
        return handler.unary_unary

    for method, request, counted in [(f"/{OPERATOR_SERVICE}/FFT", "ok", 1), (f"/{OPERATOR_SERVICE}/FFT", "fail", 1),
                                     ("/grpc.health.v1.Health/Check", "ok", 0)]:
        running.clear(), release.clear()
        call = threading.Thread(target=lambda: seen.append(_call(wrapped(method), request, Context())))
        call.start()
        assert running.wait(30)
        assert registry.get_sample_value("sigop_inflight_calls") == counted, method
        release.set()
        call.join(30)
        assert registry.get_sample_value("sigop_inflight_calls") == 0, method
    assert seen == ["ok", "raised", "ok"]


def _call(fn, request, context):
    try:
        return fn(request, context)
    except RuntimeError:
        return "raised"
