"""`--model auto` on folders of sound files (the log-mel CNN against MiniRocket on one hold-out), the compiled
MiniRocket runtime the server runs by default, and training's memory on long signals."""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

RATE = 8000


def sounds(root, per_class, seed, lengths=(0.15, 0.45)):
    """Three 'devices' as WAV files of varying length: a hum, a chirp, a click train, in noise."""
    rng = np.random.default_rng(seed)
    for label in ("hum", "chirp", "clicks"):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            n = int(rng.uniform(*lengths) * RATE)
            t = np.arange(n) / RATE
            f0 = rng.uniform(300, 500)
            x = {"hum": lambda: np.sin(2 * np.pi * f0 * t),
                 "chirp": lambda: np.sin(2 * np.pi * (f0 + 4000 * t) * t),
                 "clicks": lambda: (np.arange(n) % int(RATE / rng.uniform(40, 60)) < 8).astype(float)}[label]()
            sf.write(root / label / f"take{i:02d}.wav", 0.5 * x + 0.05 * rng.standard_normal(n), RATE)


@pytest.fixture(scope="module")
def sound_folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("sounds")
    sounds(root / "train", 30, seed=1)
    sounds(root / "test", 10, seed=2)
    return root


@pytest.mark.parametrize("epochs,chosen", [(80, "cnn (log_mel)"), (1, "minirocket")])
def test_auto_on_sound_scores_the_log_mel_cnn_and_minirocket_on_one_holdout_and_exports_the_winner(
        sound_folders, tmp_path, epochs, chosen):
    """Both candidates learn these sounds, and a tie goes to the CNN; a CNN given one epoch loses to MiniRocket,
    which then refits its ridge on the hold-out too and is exported with its compiled form."""
    from sigop.evaluate import evaluate
    from sigop.training import TrainConfig, train

    out = tmp_path / "model"
    metrics = train(TrainConfig(data=sound_folders / "train", out=out, test_data=sound_folders / "test",
                                epochs=epochs, patience=30, progress=False, saved_model=False, lite=False))
    record = metrics["auto"]
    scores = {c["candidate"]: c["holdout_accuracy"] for c in record["candidates"]}
    assert set(scores) == {"cnn (log_mel)", "minirocket"} and record["holdout_files"] >= 6
    assert record["chosen"] == chosen, scores
    best = max(scores.values())
    assert scores[chosen] == best and (chosen == "cnn (log_mel)" or scores["cnn (log_mel)"] < best)
    report = json.loads((out / "report" / "report.json").read_text())
    assert report["auto"] == record
    details = json.loads((out / "manifest.json").read_text())["details"]
    if chosen == "minirocket":
        assert details["model"] == "minirocket" and details["front_end"]["kind"] == "waveform"
        assert "validation" not in metrics["splits"] or metrics["splits"]["validation"]["count"] == 0
        assert metrics["export_check"]["runtimes"] == ["tensorflow", "compiled"]
    else:
        assert details["model"] == "cnn" and details["front_end"]["kind"] == "log_mel"
        assert metrics["splits"]["validation"]["accuracy"] == scores[chosen]
    assert metrics["splits"]["test"]["accuracy"] >= 0.9
    assert evaluate(out, sound_folders / "test", tmp_path / "eval", progress=False)["accuracy"] == pytest.approx(
        metrics["splits"]["test"]["accuracy"])


def test_the_default_length_holds_most_files_whole_and_cuts_the_rest():
    from sigop.training.waveforms import covering_length

    lengths = list(range(2000, 2100))  # one file of each length 2000..2099
    assert covering_length(lengths) == 2097  # 98 % of them whole, the two longest cut
    assert covering_length([5000] * 99 + [100_000]) == 5000  # one long file does not set everyone's cost
    assert covering_length([7]) == 7
    assert covering_length(list(range(7, 27)) + [1024]) == 1024  # short signals (<= 1024 samples) all stay whole


def test_the_compiled_runtime_answers_as_the_graph_and_auto_serves_it(sound_folders, tmp_path):
    from sigop.runtime.compiled import COMPILED_FILE, CompiledUnavailable
    from sigop.runtime.fft import builtin_fft_folder, standalone_plan
    from sigop.runtime.frozen import FrozenGraph
    from sigop.runtime.load import load_model
    from sigop.runtime.minirocket_kernels import features
    from sigop.training import TrainConfig, train

    out = tmp_path / "mr"
    train(TrainConfig(data=sound_folders / "train", out=out, model="minirocket", progress=False, saved_model=False,
                      lite=False))
    graph = FrozenGraph(out)
    files = sorted((sound_folders / "test").rglob("*.wav"))
    x = standalone_plan(graph.manifest).files(files, None)
    want = graph(x, ["probabilities"])["probabilities"]
    model, note = load_model(out)  # auto
    assert (model.runtime, note) == ("compiled", "")
    got = model(x, ["probabilities"])["probabilities"]
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_array_equal(got.argmax(1), want.argmax(1))
    for i in (0, 7):  # alone or in a batch: the same answer
        np.testing.assert_allclose(model(x[i:i + 1], ["probabilities"])["probabilities"][0], got[i], atol=1e-7)
    assert load_model(out, runtime="tf")[0].runtime == "tensorflow"

    # The frozen graph's own features: the compiled ones, but for a rare comparison that rounding puts on the other
    # side of a bias (measured: 62 of 2.6 M features on FSDD-length signals; the eager layer has none).
    concat = [op for op in graph._graph.get_operations()
              if op.type == "ConcatV2" and op.name.split("/")[-2].startswith("minirocket")][-1].outputs[0]
    rng = np.random.default_rng(11)
    noise = np.zeros((64, x.shape[1]), np.float32)
    for i in range(64):
        n = int(rng.integers(1, x.shape[1] + 1))
        noise[i, :n] = rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3)
    with np.load(out / COMPILED_FILE) as z:
        want_features = features(noise, z["dilations"], z["features_per_dilation"], z["biases"])
    got_features = graph._session.run(concat, {graph._input: noise})
    assert np.mean(got_features != want_features) < 1e-4
    np.testing.assert_allclose(got_features, want_features, atol=0.02)

    # An altered minirocket.npz: auto falls back to the graph and says why; --runtime compiled refuses to load.
    with open(out / COMPILED_FILE, "ab") as f:
        f.write(b"\0")
    model, note = load_model(out)
    assert model.runtime == "tensorflow" and "does not match" in note
    with pytest.raises(CompiledUnavailable, match="does not match"):
        load_model(out, runtime="compiled")
    with pytest.raises(CompiledUnavailable, match="not a MiniRocket model"):
        load_model(_cnn_copy(out), runtime="compiled")
    fft, _ = load_model(builtin_fft_folder(), runtime="compiled")  # the FFT runs on TensorFlow under any runtime
    assert fft.runtime == "tensorflow"
    fft.close()
    graph.close()


def _cnn_copy(folder):
    """The same export without its MiniRocket record: what a CNN's manifest looks like to the compiled runtime."""
    import shutil

    copy = folder.parent / "plain"
    shutil.copytree(folder, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["details"]["minirocket"]["compiled"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


def test_training_on_long_signals_keeps_its_memory_bounded(tmp_path):
    """32 files of 20,000 samples: every step (features, ridge, export check, LiteRT conversion and check) works
    in parts, so the peak stays near TensorFlow's own footprint. Checking 32 such inputs in one LiteRT call, as
    before, needed [32, 20000, 84] tensors per dilation: several GB."""
    rng = np.random.default_rng(9)
    for label, f in (("low", 0.01), ("high", 0.05)):
        (tmp_path / "data" / label).mkdir(parents=True)
        for i in range(16):
            n = 20_000
            np.save(tmp_path / "data" / label / f"{i}.npy",
                    np.sin(2 * np.pi * f * np.arange(n) + rng.uniform(0, 6)) + 0.3 * rng.standard_normal(n))
    command = [sys.executable, "-m", "sigop.cli", "train", "--data", str(tmp_path / "data"), "--out",
               str(tmp_path / "model"), "--model", "minirocket", "--no-saved-model", "--test-pct", "0",
               "--sample-rate", "1"]
    # A parent of its own, whose only child is the training: its children's peak is the training's.
    measure = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
               "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
               "print(done.stderr[-2000:], file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", measure, *command], capture_output=True, text=True)
    code, peak_kib = map(int, done.stdout.split())
    assert code == 0, done.stderr
    assert peak_kib / 1024 < 3000, f"training peaked at {peak_kib / 1024:.0f} MiB"
    lite = json.loads((tmp_path / "model" / "manifest.json").read_text())["lite"]["float32"]
    assert lite["check"]["inputs"] == 32  # every probe checked, in parts
