"""Waveform classifiers: seed 002's shifted spectra, espeak-ng digits, export and the split by speaker."""

import json
import re

import numpy as np
import pytest

from sigop.training.dataset import scan
from sigop.datasets.digits import SPEAKER_GROUP
from sigop.runtime.frozen import FrozenGraph
from sigop.datasets.shifted import CLASSES


def load_set(folder):
    x, y = [], []
    for label, name in enumerate(CLASSES):
        for f in sorted((folder / name).glob("*.npy")):
            x.append(np.load(f))
            y.append(label)
    return np.array(x, np.float32), np.array(y)


def accuracy(model_dir, x, y):
    graph = FrozenGraph(model_dir)
    try:
        return float(np.mean(graph(x, ["probabilities"])["probabilities"].argmax(axis=1) == y))
    finally:
        graph.close()


def test_global_pooling_cnn_survives_shifted_spectra_and_flatten_dense_does_not(shifted_models):
    folders, data = shifted_models
    centred, shifted = load_set(data / "test-centred"), load_set(data / "test-shifted")
    acc = {m: (accuracy(f, *centred), accuracy(f, *shifted)) for m, f in folders.items()}
    print(acc)
    assert acc["cnn"][0] >= 0.95 and acc["cnn"][1] >= 0.95
    assert acc["dense"][0] >= 0.85  # it learns the centred task ...
    assert acc["dense"][1] <= acc["dense"][0] - 0.3  # ... and fails once the shapes move


def test_manifest_says_what_a_waveform_model_takes_and_whether_it_is_shift_invariant(shifted_models):
    folders, _ = shifted_models
    for model, invariant in (("cnn", True), ("dense", False)):
        m = json.loads((folders[model] / "manifest.json").read_text())
        assert m["inputs"]["signals"]["dtype"] == "float32" and m["inputs"]["signals"]["shape"] == [None, 2048]
        assert m["details"]["front_end"]["kind"] == "power_spectrum"
        assert m["details"]["front_end"]["sample_rate"] == 8000 and m["details"]["front_end"]["samples"] == 2048
        assert m["details"]["model"] == model and m["details"]["shift_invariant"] is invariant
        assert m["details"]["labels"] == list(CLASSES)


def test_speaker_group_keeps_each_speaker_in_one_split(digits_model):
    _, _, data = digits_model
    ds = scan(data, group=SPEAKER_GROUP)
    split_of_speaker = {}
    for item in ds.items:
        speaker = re.match(SPEAKER_GROUP, item.path.name).group(0)
        split_of_speaker.setdefault(speaker, set()).add(item.split)
    assert all(len(s) == 1 for s in split_of_speaker.values())
    assert {next(iter(s)) for s in split_of_speaker.values()} == {"train", "validation", "test"}
    with pytest.raises(ValueError, match="does not match the group pattern"):
        scan(data, group=r"^nobody_")


def test_digits_are_recognised_for_speakers_never_heard(digits_model):
    folder, metrics, _ = digits_model
    test = metrics["splits"]["test"]
    print("digits, held-out speakers:", test["accuracy"], test["count"])
    assert test["count"] >= 20 and test["accuracy"] >= 0.8
    assert (folder / "report" / "confusion_matrix.png").is_file()
    m = json.loads((folder / "manifest.json").read_text())
    assert m["details"]["split_group"] == SPEAKER_GROUP
    assert m["details"]["front_end"]["sample_rate"] == 16000 and m["details"]["front_end"]["samples"] == 16000
    assert m["details"]["labels"] == [str(d) for d in range(10)]


def test_transfer_on_log_mel_images_exports_a_waveform_graph(digits_model, tmp_path):
    """Seed 001's recipe: log-mel drawn as an image for the ImageNet MobileNetV2, head on top."""
    from sigop.training.audio_augment import AudioAugment
    from sigop.training import TrainConfig, train

    _, _, data = digits_model
    out = tmp_path / "transfer"
    metrics = train(TrainConfig(data=data, out=out, model="transfer", front_end="log_mel", group=SPEAKER_GROUP,
                                duration=1.0, epochs=60, patience=10, progress=False, saved_model=False,
                                cache_dir=tmp_path / "cache",
                                audio_augment=AudioAugment(copies=1, freq_masks=1, time_masks=1)))
    assert metrics["splits"]["test"]["accuracy"] >= 0.5  # 10 classes; chance is 0.1
    m = json.loads((out / "manifest.json").read_text())
    assert m["details"]["backbone"] == "mobilenet_v2" and m["inputs"]["signals"]["shape"] == [None, 16000]
    assert metrics["timing"]["cache_misses"] > 0
    # The exported graph (front end inside) agrees with the evaluation on cached bottlenecks.
    from sigop.audio import prepare, read_audio

    ds = scan(data, group=SPEAKER_GROUP)
    test = ds.split("test")
    waves = np.stack([prepare(*read_audio(i.path), 16000, 16000) for i in test])
    graph = FrozenGraph(out)
    predicted = graph(waves, ["probabilities"])["probabilities"].argmax(axis=1)
    graph.close()
    confusion = np.zeros((10, 10), int)
    np.add.at(confusion, ([i.label for i in test], predicted), 1)
    assert np.abs(confusion - np.array(metrics["splits"]["test"]["confusion"])).sum() <= 2


def test_saved_model_of_a_waveform_model_equals_its_frozen_graph(tmp_path):
    import tensorflow as tf

    from sigop.training.audio_augment import AudioAugment
    from sigop.datasets.shifted import make_shifted
    from sigop.training import TrainConfig, train

    make_shifted(tmp_path / "data", per_class=12, test_per_class=2, seed=9, progress=False)
    out = tmp_path / "cnn"
    train(TrainConfig(data=tmp_path / "data" / "train", out=out, model="cnn", front_end="power_spectrum", epochs=2,
                      progress=False, cache_dir=None,
                      audio_augment=AudioAugment(copies=1, noise_snr_db=(10, 20), freq_masks=2)))
    x, _ = load_set(tmp_path / "data" / "test-shifted")
    frozen = FrozenGraph(out)
    want = frozen(x, ["probabilities"])["probabilities"]
    frozen.close()
    got = tf.saved_model.load(str(out / "saved_model")).signatures["serving_default"](signals=tf.constant(x))
    np.testing.assert_allclose(got["probabilities"].numpy(), want, atol=1e-6)
