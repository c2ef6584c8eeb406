import json
import shutil

import grpc
import numpy as np
import pytest

from sigop.serving.repository import ModelRepository, discover
from sigop.operator.v1 import operator_pb2 as pb
from sigop.operator.v1 import operator_pb2_grpc as pb_grpc
from sigop.serving.server import Server, ServerConfig


def fft_call(stub, version=0):
    x = np.array([1.0, 0, 0, 0], dtype="<f8")
    return stub.FFT(pb.FFTRequest(model_spec=pb.ModelSpec(name="fft", version=version),
                                  signals=pb.Float64Tensor(shape=[4], content=x.tobytes())))


@pytest.fixture
def versioned(tmp_path, fft_graph_dir):
    for v in (1, 2):
        shutil.copytree(fft_graph_dir, tmp_path / "fft" / str(v))
    return tmp_path


def test_newest_version_by_default_any_version_on_request(versioned):
    server = Server(ServerConfig(graphs=versioned, address="127.0.0.1:0", poll_seconds=0)).start()
    try:
        stub = pb_grpc.OperatorStub(grpc.insecure_channel(server.address))
        assert fft_call(stub).model_spec.version == 2
        assert fft_call(stub, 1).model_spec.version == 1
        with pytest.raises(grpc.RpcError) as e:
            fft_call(stub, 7)
        assert e.value.code() == grpc.StatusCode.NOT_FOUND and "available: [1, 2]" in e.value.details()
        listed = stub.ListModels(pb.ListModelsRequest()).models
        assert [m.name for m in listed] == ["fft"]
        assert [v.version for v in listed[0].versions] == [2, 1]
        assert all(v.state == pb.MODEL_STATE_AVAILABLE and v.kind == "fft" for v in listed[0].versions)
        assert json.loads(listed[0].versions[0].manifest_json)["outputs"]["magnitude"]["dtype"] == "float64"
        with pytest.raises(grpc.RpcError) as e:
            stub.ListModels(pb.ListModelsRequest(name="nope"))
        assert e.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        server.stop(0)


def test_plain_folder_is_version_one(tmp_path, fft_graph_dir):
    shutil.copytree(fft_graph_dir, tmp_path / "fft")
    repo = ModelRepository(tmp_path)
    repo.refresh()
    assert repo.get("fft")[1] == 1
    repo.close()


def test_hot_reload_adds_rejects_keeps_and_drains(versioned, fft_graph_dir):
    repo = ModelRepository(versioned)
    assert repo.refresh()
    old2, _ = repo.get("fft", 2)

    shutil.copytree(fft_graph_dir, versioned / "fft" / "3")
    assert repo.refresh()
    assert repo.get("fft")[1] == 3  # new version served once loaded

    bad = versioned / "fft" / "4"
    shutil.copytree(fft_graph_dir, bad)
    (bad / "graph.pb").write_bytes(b"not a graph")
    assert not repo.refresh()  # a corrupt version changes nothing that serves
    assert repo.get("fft")[1] == 3
    assert repo.status()["fft"][4].state == "FAILED"
    assert not repo.refresh()  # and is not retried until its files change

    # New, broken files for a loaded version: the loaded graph keeps serving.
    m = json.loads((versioned / "fft" / "2" / "manifest.json").read_text())
    m["sha256"] = "0" * 64
    (versioned / "fft" / "2" / "manifest.json").write_text(json.dumps(m))
    repo.refresh()
    assert repo.get("fft", 2)[0] is old2
    assert "reload rejected" in repo.status()["fft"][2].message

    shutil.rmtree(versioned / "fft" / "3")
    assert repo.refresh()
    assert repo.get("fft")[1] == 2
    # A caller still holding the removed graph can finish with it.
    assert old2(np.ones((1, 4)), ["magnitude"])["magnitude"].tolist() == [[4.0, 0.0, 0.0]]
    repo.close()


def test_a_copied_version_folder_serves_as_its_number_without_a_warning(versioned, caplog):
    """fft/2 holds a manifest that says version 1 (an export copied there): it serves as 2, as documented, and
    that is not a warning (every new version folder used to log one)."""
    repo = ModelRepository(versioned)
    with caplog.at_level("INFO"):
        repo.refresh()
    status = repo.status()["fft"]
    assert status[2].model is not None and "manifest says" not in status[2].message
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
    assert any("served as version 2" in r.getMessage() for r in caplog.records)
    repo.close()


def test_staging_folders_of_an_export_in_progress_are_never_loaded(versioned):
    """`sigop train` writes into hidden .<name>.partial-<pid> folders and renames them when whole: a poller that
    looks meanwhile finds neither them nor a version whose folder name is not plain digits."""
    shutil.copytree(versioned / "fft" / "1", versioned / "fft" / ".4.partial-77")
    shutil.copytree(versioned / "fft", versioned / ".spectra.partial-77")
    shutil.copytree(versioned / "fft" / "1", versioned / "fft" / "\u0665")  # an Arabic-Indic five: not a version
    found = discover(versioned)
    assert sorted(found) == ["fft"] and sorted(found["fft"]) == [1, 2]


def test_a_graphs_folder_without_fft_still_serves_the_builtin_one(tmp_path, fft_graph_dir):
    shutil.copytree(fft_graph_dir, tmp_path / "spectra")  # an FFT model under another name: no "fft" folder
    server = Server(ServerConfig(graphs=tmp_path, address="127.0.0.1:0", poll_seconds=0)).start()
    try:
        stub = pb_grpc.OperatorStub(grpc.insecure_channel(server.address))
        reply = fft_call(stub)
        assert reply.model_spec.name == "fft"
        np.testing.assert_allclose(np.frombuffer(reply.magnitude.content, "<f8"), [1, 1, 1])
        listed = {m.name: m for m in stub.ListModels(pb.ListModelsRequest()).models}
        assert sorted(listed) == ["fft", "spectra"]
        assert "built in" in listed["fft"].versions[0].message and listed["spectra"].versions[0].message == ""
        assert server.models.on_disk() == ["spectra"]
    finally:
        server.stop(0)


def test_a_folder_that_is_one_model_serves_it_under_model_name(tmp_path, fft_graph_dir, monkeypatch):
    # KServe mounts one model at /mnt/models: here, numbered versions of the FFT graph, named by $MODEL_NAME.
    for v in (1, 3):
        shutil.copytree(fft_graph_dir, tmp_path / "mnt" / str(v))
    from sigop.cli import build_parser

    monkeypatch.setenv("MODEL_NAME", "spectrum")
    args = build_parser("serve").parse_args(["serve", "--graphs", str(tmp_path / "mnt")])
    assert args.model_name == "spectrum"
    server = Server(ServerConfig(graphs=tmp_path / "mnt", model_name=args.model_name, address="127.0.0.1:0",
                                 poll_seconds=0)).start()
    try:
        stub = pb_grpc.OperatorStub(grpc.insecure_channel(server.address))
        x = np.array([1.0, 0, 0, 0], dtype="<f8")
        r = stub.FFT(pb.FFTRequest(model_spec=pb.ModelSpec(name="spectrum"),
                                   signals=pb.Float64Tensor(shape=[4], content=x.tobytes())))
        assert (r.model_spec.name, r.model_spec.version) == ("spectrum", 3)
        assert sorted(m.name for m in stub.ListModels(pb.ListModelsRequest()).models) == ["fft", "spectrum"]
    finally:
        server.stop(0)
    # without a name, the manifest's own
    shutil.rmtree(tmp_path / "mnt" / "3")
    from sigop.serving.repository import discover

    assert discover(tmp_path / "mnt") == {"fft": {1: tmp_path / "mnt" / "1"}}
    assert discover(tmp_path / "mnt", "spectrum") == {"spectrum": {1: tmp_path / "mnt" / "1"}}


def test_fft_graph_flag_serves_a_committed_folder_and_refuses_others(tmp_path, article_model):
    """--fft-graph (the image's SIGOP_FFT_GRAPH): that folder is the FFT, checked before serving, and nothing is
    exported at start-up; a classifier's folder or a folder without a manifest is refused, naming it. A process of
    its own: the built-in FFT is per process."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    committed = Path(__file__).resolve().parents[2] / "graphs" / "fft"
    script = f"""
import tempfile
from pathlib import Path
from sigop.manifest import ManifestError
from sigop.runtime import fft
for bad, error in ((Path({str(article_model[0])!r}), ValueError), (Path({str(tmp_path)!r}), ManifestError)):
    try:
        fft.use_fft_folder(bad)
    except error as e:
        print("refused:", e)
    else:
        raise SystemExit(f"{{bad}} was taken as the FFT graph")
fft.use_fft_folder(Path({str(committed)!r}))
assert fft.builtin_fft_folder() == Path({str(committed)!r})
assert fft.builtin_fft().manifest.kind == "fft"
assert not list(Path(tempfile.gettempdir()).glob("sigop-fft-*")), "exported an FFT graph anyway"
print("served:", fft.builtin_fft_folder())
"""
    (tmp_path / "tmp").mkdir()
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "TMPDIR": str(tmp_path / "tmp")})
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("refused:") == 2 and "'classifier'" in run.stdout and f"served: {committed}" in run.stdout
