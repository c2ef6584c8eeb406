import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def vectors() -> dict:
    return json.loads((REPO / "tests" / "vectors" / "fft.json").read_text())


@pytest.fixture(scope="session")
def fft_graph_dir(tmp_path_factory) -> Path:
    """A freshly exported FFT graph (not the committed one, which has its own test)."""
    from sigop.fftgraph import export_fft

    out = tmp_path_factory.mktemp("graphs") / "fft"
    export_fft(out)
    return out


@pytest.fixture(scope="session")
def article_model(tmp_path_factory):
    """A classifier trained once per session on the article's signals, as `make demo` trains it.

    100 signals per class (so at most 100 training images per class), three
    spectrum-safe augmented copies of each training signal, the real
    ImageNet MobileNetV2. Returns (model folder, training metrics, cache dir, data dir).
    """
    from sigop.training.augment import Augment
    from sigop.datasets.generate import generate_dataset
    from sigop.render import SpectrumContract
    from sigop.training import TrainConfig, train

    root = tmp_path_factory.mktemp("article")
    generate_dataset(root / "data", per_class=100, seed=1, contract=SpectrumContract(max_bin=136), progress=False)
    cfg = TrainConfig(data=root / "data" / "signals", out=root / "graphs" / "article", model="transfer", patience=20,
                      augment=Augment(copies=3), cache_dir=root / "cache", progress=False)
    metrics = train(cfg)
    return root / "graphs" / "article", metrics, root / "cache", root / "data"


@pytest.fixture(scope="session")
def shifted_models(tmp_path_factory):
    """Seed 002's experiment, small: the global-pooling CNN and the flatten+dense
    baseline trained on centred spectra. Returns ({model: folder}, data dir)."""
    from sigop.datasets.shifted import make_shifted
    from sigop.training import TrainConfig, train

    root = tmp_path_factory.mktemp("shifted")
    make_shifted(root / "data", per_class=100, test_per_class=50, seed=5, progress=False)
    folders = {}
    for model in ("cnn", "dense"):
        folders[model] = root / "graphs" / model
        train(TrainConfig(data=root / "data" / "train", out=folders[model], model=model, front_end="power_spectrum",
                          epochs=40, patience=8, progress=False, saved_model=False, cache_dir=None))
    return folders, root / "data"


@pytest.fixture(scope="session")
def digits_model(tmp_path_factory):
    """A log-mel CNN trained on espeak-ng digits, split by speaker. Returns (model folder, metrics, data dir)."""
    from sigop.datasets.digits import SPEAKER_GROUP, make_digits
    from sigop.training import TrainConfig, train

    root = tmp_path_factory.mktemp("digits")
    make_digits(root / "data", accents=("en-us", "en-gb", "en-gb-scotland", "en-029"),
                variants=("m1", "m3", "f2", "f4", "croak"), takes=2, seed=3, progress=False)
    metrics = train(TrainConfig(data=root / "data", out=root / "graphs" / "digits", model="cnn", front_end="log_mel",
                                group=SPEAKER_GROUP, duration=1.0, epochs=60, patience=10, progress=False,
                                saved_model=False, cache_dir=None))
    return root / "graphs" / "digits", metrics, root / "data"
