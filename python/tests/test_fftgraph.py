import json

import numpy as np
import pytest

from sigop.fftgraph import OUTPUTS, export_fft
from sigop.runtime.frozen import FrozenGraph
from sigop.manifest import Manifest, ManifestError, sha256_file
from sigop.datasets.testsignal import noise


def test_manifest_describes_the_graph(fft_graph_dir):
    m = Manifest.read(fft_graph_dir)
    assert m.kind == "fft" and m.name == "fft"
    assert m.inputs["signals"].dtype == "float64" and m.inputs["signals"].shape == [None, None]
    assert {k: v.tensor for k, v in m.outputs.items()} == {k: f"{v}:0" for k, v in OUTPUTS.items()}
    assert m.sha256 == sha256_file(fft_graph_dir / "graph.pb")


def test_export_is_deterministic_and_committed_graph_is_current(fft_graph_dir, repo):
    committed = repo / "graphs" / "fft" / "graph.pb"
    assert (fft_graph_dir / "graph.pb").read_bytes() == committed.read_bytes(), (
        "graphs/fft is stale: run `make graphs` and commit it"
    )


@pytest.fixture(scope="module")
def graph(fft_graph_dir):
    g = FrozenGraph(fft_graph_dir)
    yield g
    g.close()


def test_frozen_graph_matches_numpy_vectors(graph, vectors):
    tol = vectors["tolerance"]["relative"]
    for case in vectors["cases"]:
        x = np.stack([noise(case["n"], case["seed"] + r) for r in range(case["batch"])])
        out = graph(x, ["magnitude", "real", "imag"])
        idx = case["indices"]
        for r in range(case["batch"]):
            scale = max(np.max(np.abs(case["magnitude"][r])), np.finfo(float).tiny)
            for part in ("magnitude", "real", "imag"):
                assert out[part].shape == (case["batch"], case["bins"])
                err = np.max(np.abs(out[part][r, idx] - np.array(case[part][r]))) / scale
                assert err <= tol, f"{case['name']} {part}: relative error {err:.3g}"
            energy = np.sum(out["magnitude"][r] ** 2)
            assert abs(energy - case["energy"][r]) / case["energy"][r] <= tol


def test_fetching_one_output_gives_the_same_numbers(graph):
    x = noise(1000, 9).reshape(1, -1)
    both = graph(x, ["real", "magnitude"])
    (mag,) = graph(x, ["magnitude"]).values()
    np.testing.assert_array_equal(both["magnitude"], mag)
    np.testing.assert_allclose(both["real"][0], np.fft.rfft(x[0]).real, rtol=0, atol=1e-12)


def test_tampered_graph_is_refused(tmp_path):
    export_fft(tmp_path)
    (tmp_path / "graph.pb").write_bytes((tmp_path / "graph.pb").read_bytes() + b"\0")
    with pytest.raises(ManifestError, match="sha256"):
        FrozenGraph(tmp_path)


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda d: d.update(format="other/v9"), "format"),
        (lambda d: d.pop("outputs"), "outputs"),
    ],
)
def test_malformed_manifest_is_refused(tmp_path, mutate, match):
    export_fft(tmp_path)
    path = tmp_path / "manifest.json"
    d = json.loads(path.read_text())
    mutate(d)
    path.write_text(json.dumps(d))
    with pytest.raises(ManifestError, match=match):
        Manifest.read(tmp_path)


def test_missing_manifest_is_refused(tmp_path):
    with pytest.raises(ManifestError, match="no manifest"):
        Manifest.read(tmp_path)


def test_cli_export_fft(tmp_path, capsys):
    from sigop.cli import main

    assert main(["export-fft", "--out", str(tmp_path / "g"), "--name", "fft-b"]) == 0
    assert "graph.pb" in capsys.readouterr().out
    assert Manifest.read(tmp_path / "g").name == "fft-b"


@pytest.mark.parametrize("scale", [1.0, 1e160, 1e-160, 1e300, 1e-300])
def test_magnitude_is_exact_across_float64_range(graph, scale):
    # Both of the graph's magnitude paths: sqrt(re^2+im^2), and hypot where squares would overflow or underflow.
    x = noise(1000, 12).reshape(2, 500) * scale
    m = graph(x, ["magnitude"])["magnitude"]
    ref = np.abs(np.fft.rfft(x, axis=1))
    assert np.isfinite(m).all()
    assert np.max(np.abs(m - ref)) / np.max(ref) <= 1e-12
