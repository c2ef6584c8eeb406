import json
import shutil

import numpy as np
import pytest

from sigop.datasets.article import CLASSES, generate
from sigop.training.augment import Augment
from sigop.images import gray_to_rgb
from sigop.runtime.frozen import FrozenGraph
from sigop.render import SpectrumContract, render_signal
from sigop.tfenv import tf
from sigop.training import TrainConfig, train
from sigop.training.auto import NEAR_TIE, pick


def fresh_signals(per_class: int, seed: int):
    rng = np.random.default_rng(seed)
    x = np.stack([generate(c, rng) for c in CLASSES for _ in range(per_class)])
    return x, [c.name for c in CLASSES for _ in range(per_class)]


def test_article_task_reaches_99_percent_on_fresh_signals(article_model):
    folder, metrics, _, _ = article_model
    assert metrics["splits"]["train"]["count"] <= 200  # at most 100 training images per class
    graph = FrozenGraph(folder)
    contract = SpectrumContract.from_json(graph.manifest.details["spectrum_contract"])
    labels = graph.manifest.details["labels"]
    x, truth = fresh_signals(200, seed=999)
    probs = graph(gray_to_rgb(render_signal(x, contract)), ["probabilities"])["probabilities"]
    accuracy = np.mean([labels[i] == t for i, t in zip(probs.argmax(1), truth)])
    graph.close()
    assert accuracy >= 0.99, f"accuracy on 400 fresh signals: {accuracy:.4f}"


def test_export_layout_and_report(article_model):
    folder, metrics, _, _ = article_model
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "classifier"
    assert manifest["inputs"]["images"]["dtype"] == "uint8" and manifest["inputs"]["images"]["shape"] == [None, 224, 224, 3]
    assert (folder / "labels.txt").read_text().split() == ["blue", "red"] == manifest["details"]["labels"]
    assert manifest["details"]["spectrum_contract"]["max_bin"] == 136
    assert manifest["details"]["backbone"] == "mobilenet_v2"
    assert set(manifest["details"]["metrics"]) == {"train", "validation", "test"}
    report = folder / "report"
    for name in ("confusion_matrix.png", "training_curves.png", "report.json", "misclassified.txt"):
        assert (report / name).is_file(), name
    assert any((report / "tensorboard").rglob("events.out.tfevents.*"))
    assert json.loads((report / "report.json").read_text())["splits"]["test"]["count"] > 0


def test_saved_model_matches_frozen_graph(article_model):
    folder, _, _, _ = article_model
    x, _ = fresh_signals(3, seed=5)
    images = gray_to_rgb(render_signal(x, SpectrumContract(max_bin=136)))
    graph = FrozenGraph(folder)
    frozen = graph(images, ["probabilities", "unknown"])
    graph.close()
    serving = tf.saved_model.load(str(folder / "saved_model")).signatures["serving_default"]
    saved = serving(images=tf.constant(images))
    assert set(saved) == {"probabilities", "unknown"}
    np.testing.assert_allclose(saved["probabilities"].numpy(), frozen["probabilities"], atol=1e-5)
    np.testing.assert_allclose(saved["unknown"].numpy(), frozen["unknown"], rtol=1e-3, atol=1e-4)


def test_second_run_reads_every_bottleneck_from_the_cache(article_model, tmp_path):
    _, first, cache, data = article_model
    cfg = TrainConfig(data=data / "signals", out=tmp_path / "again", model="transfer", dropout=0.5, epochs=3,
                      augment=Augment(copies=3), cache_dir=cache, progress=False, saved_model=False)
    timing = train(cfg)["timing"]
    assert timing["cache_misses"] == 0
    assert timing["cache_hits"] == first["timing"]["cache_hits"] + first["timing"]["cache_misses"]


def test_training_on_rendered_images_keeps_the_contract(article_model, tmp_path):
    _, _, cache, data = article_model
    images = tmp_path / "images"
    shutil.copytree(data / "images", images)
    for cls in ("blue", "red"):  # a small subset is enough to check the plumbing
        for p in sorted((images / cls).glob("*.png"))[15:]:
            p.unlink()
    cfg = TrainConfig(data=images, out=tmp_path / "from_images", model="transfer", epochs=3, cache_dir=cache, progress=False,
                      saved_model=False)
    train(cfg)
    manifest = json.loads((tmp_path / "from_images" / "manifest.json").read_text())
    assert manifest["details"]["spectrum_contract"]["max_bin"] == 136


def test_one_class_of_too_few_files_or_of_images_is_refused_and_two_classes_are_needed_without_it(tmp_path):
    (tmp_path / "only").mkdir()
    np.save(tmp_path / "only" / "x.npy", np.zeros(1024))
    with pytest.raises(ValueError, match="1 training files; a one-class model needs at least 5 normal files"):
        train(TrainConfig(data=tmp_path, out=tmp_path / "out", cache_dir=None, progress=False))
    with pytest.raises(ValueError, match="--model transfer needs two classes or more"):
        train(TrainConfig(data=tmp_path, out=tmp_path / "out", model="transfer", cache_dir=None, progress=False))
    from sigop.training.dataset import scan

    with pytest.raises(ValueError, match="found 1 class folder"):
        scan(tmp_path)


def test_fine_tuning_moves_only_the_last_block(article_model, tmp_path):
    from sigop.training.backbones import get_backbone
    from sigop.training.dataset import scan
    from sigop.training.heads import dense_head
    from sigop.training.spectra import _fine_tune

    _, _, _, data = article_model
    images = tmp_path / "images"
    shutil.copytree(data / "images", images)
    for cls in ("blue", "red"):
        for p in sorted((images / cls).glob("*.png"))[8:]:
            p.unlink()
    ds = scan(images, validation_pct=0, test_pct=0)
    backbone = get_backbone("mobilenet_v2")
    base = backbone.build()
    head = dense_head(backbone.features, 2, 0.2)
    layer = {l.name: l for l in base.layers}
    before = {n: [w.copy() for w in layer[n].get_weights()] for n in ("features.0.0", "features.18.0", "features.18.1")}
    cfg = TrainConfig(data=images, out=tmp_path / "ft", model="transfer", fine_tune_epochs=1, batch_size=8, progress=False)
    history = _fine_tune(cfg, ds, backbone, base, head, {}, 224)
    assert len(history["loss"]) == 1
    after = {n: layer[n].get_weights() for n in before}
    np.testing.assert_array_equal(after["features.0.0"][0], before["features.0.0"][0])  # early block frozen
    assert not np.array_equal(after["features.18.0"][0], before["features.18.0"][0])  # last block trained
    # BatchNorm's moving statistics stay as ImageNet left them: the backbone runs in inference mode.
    np.testing.assert_array_equal(after["features.18.1"][2], before["features.18.1"][2])
    np.testing.assert_array_equal(after["features.18.1"][3], before["features.18.1"][3])


def test_the_default_model_auto_still_solves_the_article_task(article_model, tmp_path):
    _, _, cache, data = article_model
    metrics = train(TrainConfig(data=data / "signals", out=tmp_path / "auto", cache_dir=cache, progress=False,
                                saved_model=False))
    scores = {c["candidate"]: c["cv_accuracy"] for c in metrics["auto"]["candidates"]}
    assert all(s >= 0.9 for s in scores.values())
    lead = scores["transfer"] - scores["minirocket"]
    if lead <= NEAR_TIE:  # MiniRocket ahead, or a near tie that goes to it, as the report says
        assert metrics["auto"]["chosen"] == "minirocket", metrics["auto"]
        assert ("near tie" if lead >= 0 else "the most accurate") in metrics["auto"]["rule"], metrics["auto"]
    assert metrics["splits"]["test"]["accuracy"] >= 0.99


@pytest.mark.parametrize("transfer, minirocket, files, chosen", [
    (1.0, 1.0, 75, "minirocket"),  # a tie (the accelerometer journey: 5-fold 1.0000 both)
    (0.955, 0.95, 537, "minirocket"),  # half a point: a near tie
    (0.98, 0.95, 537, "transfer"),  # three points: the spectrum image wins
    (0.93, 0.95, 537, "minirocket"),  # MiniRocket the more accurate
    (1.0, 0.98, 40, "minirocket"),  # two points, but only one file of 40 (2.5 points)
])
def test_a_tie_or_near_tie_goes_to_minirocket(transfer, minirocket, files, chosen):
    name, rule = pick([{"candidate": "transfer", "cv_accuracy": transfer},
                       {"candidate": "minirocket", "cv_accuracy": minirocket}], files)
    assert name == chosen and rule
    assert ("a tie with transfer" in rule) == (transfer == minirocket), rule


def test_quiet_signals_on_an_absolute_scale_are_warned_about(tmp_path, caplog):
    from sigop.render import SpectrumContract
    from sigop.training.spectra import _check_levels, fit_contract
    from sigop.training.dataset import scan

    for cls, f in (("a", 5), ("b", 9)):
        (tmp_path / cls).mkdir()
        for i in range(10):
            np.save(tmp_path / cls / f"{i}.npy", 1e-6 * np.sin(2 * np.pi * f * np.arange(100) / 100 + i))
    ds = scan(tmp_path, validation_pct=0, test_pct=0)
    ds.contract = fit_contract(TrainConfig(data=tmp_path, out=tmp_path), 32, ds)
    assert ds.contract.n == 128 and ds.contract.level == "relative"  # fitted to the data: no blank images
    assert _check_levels(ds) == {}
    ds.contract = SpectrumContract(n=128, width=32, height=32, level="absolute")
    with caplog.at_level("WARNING"):
        assert _check_levels(ds) == {"blank": 20, "clipped": 0, "signals": 20}
    assert "draw blank" in caplog.text and "--spectrum-level relative" in caplog.text


def test_versions_are_written_whole_then_renamed_into_place(tmp_path):
    """--version next writes <out>/N with a manifest saying N; the export appears at once, with no staging folder
    left; an earlier export is replaced whole; a folder that is not an export is never overwritten."""
    from sigop.datasets.generate import generate_dataset
    from sigop.manifest import Manifest
    from sigop.serving.repository import discover
    from sigop.training.publish import resolve_version

    generate_dataset(tmp_path / "data", per_class=12, seed=8, contract=SpectrumContract(max_bin=136), images=False,
                     progress=False)
    graphs = tmp_path / "graphs"
    quick = dict(data=tmp_path / "data" / "signals", model="minirocket", progress=False, saved_model=False, lite=False,
                 cache_dir=None)
    for expected in (1, 2):
        version = resolve_version(graphs / "vib", "next")
        assert version == expected
        metrics = train(TrainConfig(out=graphs / "vib", version=version, **quick))
        assert metrics["exported_to"] == str(graphs / "vib" / str(expected))
        assert Manifest.read(graphs / "vib" / str(expected)).version == expected
    assert sorted(discover(graphs)["vib"]) == [1, 2]
    assert sorted(p.name for p in (graphs / "vib").iterdir()) == ["1", "2"]  # no staging folder left behind
    assert Manifest.read(graphs / "vib" / "2").name == "vib"  # named by --out, not by the staging folder

    stale = graphs / "vib" / "2" / "stale.txt"
    stale.write_text("from an earlier export")
    train(TrainConfig(out=graphs / "vib", version=2, **quick))
    assert not stale.exists() and Manifest.read(graphs / "vib" / "2").version == 2  # replaced whole

    with pytest.raises(ValueError, match="holds version folders"):
        train(TrainConfig(out=graphs / "vib", **quick))  # would replace versions 1 and 2 by one model
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a sigop export"):
        train(TrainConfig(out=tmp_path / "mine", **quick))
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    with pytest.raises(ValueError, match="positive whole number"):
        resolve_version(graphs / "vib", "²")
