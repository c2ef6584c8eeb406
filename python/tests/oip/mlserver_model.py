"""A tiny scikit-learn model served by MLServer, for go/e2e's Open Inference Protocol tests: run in MLServer's venv.

Writes into --out what `mlserver start <out>` serves (settings.json with the
given ports, and one model folder, ``iris-like``: model.joblib plus its
model-settings.json) and ``expected.json``: test inputs and what scikit-learn
itself predicts for them, for the Go client's answers to be compared with.
"""

import argparse
import json
from pathlib import Path

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--grpc-port", type=int, required=True)
    p.add_argument("--http-port", type=int, required=True)
    p.add_argument("--metrics-port", type=int, required=True)
    a = p.parse_args()
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0, 0, 0], [3, 3, 0, 0], [0, 3, 3, 3]], dtype=float)
    y = np.repeat(np.arange(3), 40)
    x = centres[y] + rng.normal(scale=0.8, size=(len(y), 4))
    model = LogisticRegression(max_iter=1000).fit(x, y)
    folder = a.out / "iris-like"
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, folder / "model.joblib")
    (folder / "model-settings.json").write_text(json.dumps({
        "name": "iris-like", "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib", "version": "v1"}}))
    (a.out / "settings.json").write_text(json.dumps({
        "grpc_port": a.grpc_port, "http_port": a.http_port, "metrics_port": a.metrics_port,
        "host": "127.0.0.1", "parallel_workers": 0, "debug": False}))
    test = centres[[0, 1, 2, 1]] + rng.normal(scale=0.3, size=(4, 4))
    (a.out / "expected.json").write_text(json.dumps({
        "inputs": test.tolist(), "predict": model.predict(test).tolist(),
        "predict_proba": model.predict_proba(test).tolist()}))


if __name__ == "__main__":
    main()
