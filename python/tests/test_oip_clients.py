"""Software no one here wrote calls sigop serve: tritonclient[grpc] and KServe's gRPC client, from their own venv.

`make test` builds that venv (python/tests/oip/requirements-clients.txt) and
names its Python in SIGOP_OIP_CLIENTS; run by hand without it, this test is
skipped, saying so.
"""

import json
import os
import shutil
import subprocess

import grpc
import numpy as np
import pytest

from sigop.operator.v1 import operator_pb2_grpc as pb_grpc
from sigop.serving.server import Server, ServerConfig
from test_classify_server import signals_request
from test_inference_protocol import signals

CLIENTS = os.environ.get("SIGOP_OIP_CLIENTS")
pytestmark = pytest.mark.skipif(not CLIENTS, reason="SIGOP_OIP_CLIENTS (the third-party clients' venv python) "
                                                    "is not set; make test-python sets it")


@pytest.fixture(scope="module")
def answers(article_model, fft_graph_dir, tmp_path_factory):
    """What each third-party client got from a real sigop server, and what sigop's own ClassifySignal says."""
    folder, _, _, _ = article_model
    root = tmp_path_factory.mktemp("oip-clients")
    shutil.copytree(fft_graph_dir, root / "graphs" / "fft")
    shutil.copytree(folder, root / "graphs" / "article")
    x = signals(6, seed=21)
    np.save(root / "signals.npy", x)
    server = Server(ServerConfig(graphs=root / "graphs", address="127.0.0.1:0", poll_seconds=0)).start()
    got = {}
    try:
        for client in ("triton", "kserve"):
            run = subprocess.run([CLIENTS, os.path.join(os.path.dirname(__file__), "oip", "clients.py"), "--client",
                                  client, "--address", server.address, "--model", "article",
                                  "--signals", str(root / "signals.npy")], capture_output=True, text=True, timeout=600)
            assert run.returncode == 0, run.stderr[-3000:]
            got[client] = json.loads(run.stdout)
        own = pb_grpc.OperatorStub(grpc.insecure_channel(server.address)).ClassifySignal(signals_request(x))
    finally:
        server.stop(0)
    return got, own


def sigop_scores(own) -> np.ndarray:
    return np.array([[{c.label: c.score for c in k.classes}[lab] for lab in ("blue", "red")] for k in own.classifications])


def test_tritonclient_reads_readiness_metadata_and_sigop_s_scores(answers):
    got, own = answers
    t = got["triton"]
    assert (t["live"], t["ready"], t["model_ready"], t["unknown_model_ready"]) == (True, True, True, False)
    assert t["server"]["name"] == "sigop" and "classification" in t["server"]["extensions"]
    assert t["metadata"]["platform"] == "sigop" and t["metadata"]["versions"] == ["1"]
    assert [(i["name"], i["datatype"], i["shape"]) for i in t["metadata"]["inputs"]] == [("signals", "FP64", ["-1", "-1"])]
    np.testing.assert_allclose(t["probabilities"], sigop_scores(own), rtol=1e-6, atol=1e-7)
    assert t["label"] == [k.classes[0].label for k in own.classifications]
    assert (t["id"], t["version"]) == ("triton-1", "1")
    assert [row[0].split(":")[2] for row in t["classification"]] == t["label"]
    np.testing.assert_allclose(t["classification_unknown"], [k.unknown_score for k in own.classifications], rtol=1e-6)
    assert t["classification_is_unknown"] == [k.unknown for k in own.classifications]
    np.testing.assert_allclose(t["fft_magnitude"], [np.abs(np.fft.rfft(np.arange(8.0)))], atol=1e-9)
    assert t["errors"] == {"nan": "INVALID_ARGUMENT", "unknown_model": "NOT_FOUND"}


def test_kserve_client_sends_typed_contents_and_gets_the_same_scores(answers):
    got, own = answers
    k = got["kserve"]
    assert (k["live"], k["ready"], k["model_ready"]) == (True, True, True)
    np.testing.assert_allclose(k["probabilities"], sigop_scores(own), rtol=1e-6, atol=1e-7)
    assert k["label"] == [c.classes[0].label for c in own.classifications] and k["id"] == "kserve-1"
    assert k["short_contents"] == "INVALID_ARGUMENT"
