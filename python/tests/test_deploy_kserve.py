"""deploy/kserve: the runtime's flags are sigop serve's, its ports agree, and sigop serves what KServe mounts.

What this does not prove: that a cluster accepts the manifests (their schema is checked with the other deploy
files), nor that KServe itself routes to the pod; no cluster runs here.
"""

import shutil
from pathlib import Path

import grpc
import pytest
import yaml

from sigop.cli import build_parser
from sigop.cli_serve import serve_config
from sigop.inference import open_inference_grpc_pb2 as ipb
from sigop.inference import open_inference_grpc_pb2_grpc as ipb_grpc
from sigop.serving.server import Server

KSERVE = Path(__file__).resolve().parents[2] / "deploy" / "kserve"


@pytest.fixture(scope="module")
def manifests():
    runtime = yaml.safe_load((KSERVE / "cluster-serving-runtime.yaml").read_text())
    isvc = yaml.safe_load((KSERVE / "inference-service.yaml").read_text())
    return runtime, isvc, runtime["spec"]["containers"][0]


def runtime_args(container, name: str) -> list[str]:
    """The container's arguments as KServe passes them for an InferenceService called ``name``."""
    assert container["command"] == ["sigop"]
    return [a.replace("{{.Name}}", name) for a in container["args"]]


def test_every_flag_the_runtime_passes_is_a_sigop_serve_flag(manifests):
    runtime, isvc, container = manifests
    args = build_parser("serve").parse_args(runtime_args(container, isvc["metadata"]["name"]))  # exits on an unknown flag
    assert args.graphs == "/mnt/models" and args.model_name == "article"
    port = int(args.address.rsplit(":", 1)[1])
    assert [p["containerPort"] for p in container["ports"] if p["name"] == "h2c"] == [port]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"]["port"] == port, probe
    assert runtime["spec"]["annotations"]["prometheus.kserve.io/port"] == args.metrics_address.rsplit(":", 1)[1]
    assert isvc["spec"]["predictor"]["terminationGracePeriodSeconds"] > args.grace


def test_the_inference_service_selects_this_runtime(manifests):
    runtime, isvc, _ = manifests
    model = isvc["spec"]["predictor"]["model"]
    assert model["runtime"] == runtime["metadata"]["name"]
    assert model["protocolVersion"] in runtime["spec"]["protocolVersions"]
    assert model["modelFormat"]["name"] in [f["name"] for f in runtime["spec"]["supportedModelFormats"]]


def test_sigop_serves_a_model_mounted_as_kserve_mounts_it(manifests, article_model, tmp_path):
    _, isvc, container = manifests
    shutil.copytree(article_model[0], tmp_path / "mnt" / "models")
    args = build_parser("serve").parse_args(
        [a.replace("/mnt/models", str(tmp_path / "mnt" / "models")).replace("0.0.0.0:9000", "127.0.0.1:0")
          .replace("0.0.0.0:9464", "127.0.0.1:0") for a in runtime_args(container, "my-article")])
    server = Server(serve_config(args)).start()
    try:
        oip = ipb_grpc.GRPCInferenceServiceStub(grpc.insecure_channel(server.address))
        assert oip.ServerReady(ipb.ServerReadyRequest()).ready
        assert oip.ModelReady(ipb.ModelReadyRequest(name="my-article")).ready
        assert oip.ModelMetadata(ipb.ModelMetadataRequest(name="my-article")).inputs[0].name == "signals"
        assert oip.ModelReady(ipb.ModelReadyRequest(name="fft")).ready  # built in, beside it
    finally:
        server.stop(0)
