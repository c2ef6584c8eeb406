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
