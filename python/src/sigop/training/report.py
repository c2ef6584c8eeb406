"""Training report: metrics JSON, confusion matrix and curves as PNG."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..scoring import confusion_matrix, plot_confusion

__all__ = ["split_results", "write_report"]


def _plot_curves(history: dict[str, list[float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for key, ax in (("loss", a), ("accuracy", b)):
        for prefix, style in (("", "-"), ("val_", "--")):
            if prefix + key in history:
                ax.plot(history[prefix + key], style, label=("validation " if prefix else "train ") + key)
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def split_results(ds, predicted: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray, list[str]]]:
    """write_report's splits from a dataset's items and the class predicted for each, in the same order."""
    items, out = ds.items, {}
    for s in ("train", "validation", "test"):
        idx = [i for i, it in enumerate(items) if it.split == s]
        out[s] = (np.array([items[i].label for i in idx], dtype=np.int64), np.asarray(predicted)[idx],
                  [ds.name_of(items[i]) for i in idx])
    return out


def write_report(folder: Path, classes: list[str], splits: dict[str, tuple[np.ndarray, np.ndarray, list[str]]],
                 history: dict[str, list[float]], extra: dict) -> dict:
    """splits: name -> (true labels, predicted labels, file names). Returns the metrics."""
    folder.mkdir(parents=True, exist_ok=True)
    metrics: dict = {"classes": classes, **extra, "splits": {}}
    misclassified = []
    for name, (y, p, files) in splits.items():
        if len(y) == 0:
            continue
        m = confusion_matrix(y, p, len(classes))
        metrics["splits"][name] = {"count": int(len(y)), "accuracy": float(np.mean(y == p)), "confusion": m.tolist()}
        misclassified += [f"{name}\t{f}\ttrue={classes[t]}\tpredicted={classes[q]}" for t, q, f in zip(y, p, files) if t != q]
    shown = "test" if "test" in metrics["splits"] else next(iter(metrics["splits"]), None)
    if shown:
        s = metrics["splits"][shown]
        plot_confusion(np.array(s["confusion"]), classes, f"{shown}: accuracy {s['accuracy']:.3f} (n={s['count']})",
                        folder / "confusion_matrix.png")
    if history:
        _plot_curves(history, folder / "training_curves.png")
    (folder / "misclassified.txt").write_text("".join(line + "\n" for line in misclassified))
    (folder / "report.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics
