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
    from sigop.augment import Augment
    from sigop.generate import generate_dataset
    from sigop.render import SpectrumContract
    from sigop.train import TrainConfig, train

    root = tmp_path_factory.mktemp("article")
    generate_dataset(root / "data", per_class=100, seed=1, contract=SpectrumContract(max_bin=136), progress=False)
    cfg = TrainConfig(data=root / "data" / "signals", out=root / "graphs" / "article", patience=20,
                      augment=Augment(copies=3), cache_dir=root / "cache", progress=False)
    metrics = train(cfg)
    return root / "graphs" / "article", metrics, root / "cache", root / "data"
