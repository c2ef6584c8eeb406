"""How well a classifier did: confusion, per-class precision/recall/F1, macro-F1,
calibration (expected calibration error), and the plots people read them from.
Training reports and `sigop evaluate` both use these."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["pyplot", "confusion_matrix", "per_class", "expected_calibration_error", "summary", "plot_confusion",
           "plot_reliability"]


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """m[true, predicted] counts."""
    m = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(m, (np.asarray(labels, dtype=np.int64), np.asarray(predicted, dtype=np.int64)), 1)
    return m


def per_class(m: np.ndarray, names: list[str]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support per class from a confusion matrix (0 where undefined)."""
    out = {}
    for i, name in enumerate(names):
        tp, predicted, actual = m[i, i], m[:, i].sum(), m[i, :].sum()
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[name] = {"precision": float(precision), "recall": float(recall), "f1": float(f1), "support": int(actual)}
    return out


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray, bins: int = 10) -> tuple[float, list]:
    """ECE over equal-width confidence bins, and the bins (lower, upper, count, confidence, accuracy)."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece, table = 0.0, []
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (confidence > lo) & (confidence <= hi) if lo > 0 else (confidence >= lo) & (confidence <= hi)
        n = int(inside.sum())
        conf = float(confidence[inside].mean()) if n else 0.0
        acc = float(correct[inside].mean()) if n else 0.0
        ece += n / len(labels) * abs(acc - conf)
        table.append((float(lo), float(hi), n, conf, acc))
    return float(ece), table


def summary(labels: np.ndarray, probabilities: np.ndarray, names: list[str]) -> dict:
    """Everything `sigop evaluate --json` prints about the predictions."""
    predicted = probabilities.argmax(axis=1)
    m = confusion_matrix(labels, predicted, len(names))
    classes = per_class(m, names)
    ece, bins = expected_calibration_error(labels, probabilities)
    present = [c for c in classes.values() if c["support"]]
    return {
        "n": int(len(labels)),
        "accuracy": float(np.mean(predicted == labels)) if len(labels) else 0.0,
        "macro_f1": float(np.mean([c["f1"] for c in present])) if present else 0.0,
        "expected_calibration_error": ece,
        "labels": list(names),
        "confusion": m.tolist(),
        "per_class": classes,
        "calibration_bins": [{"lower": lo, "upper": hi, "count": n, "confidence": c, "accuracy": a}
                             for lo, hi, n, c, a in bins],
    }


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(m: np.ndarray, names: list[str], title: str, path: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(1.2 * len(names) + 2.5, 1.2 * len(names) + 2))
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for (i, j), v in np.ndenumerate(m):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > m.max() / 2 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_reliability(bins: list[dict], ece: float, path: Path) -> None:
    """Accuracy against confidence per bin: a calibrated model sits on the diagonal."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    used = [b for b in bins if b["count"]]
    width = bins[0]["upper"] - bins[0]["lower"]
    ax.bar([b["lower"] for b in used], [b["accuracy"] for b in used], width=width, align="edge",
           edgecolor="black", alpha=0.7, label="accuracy")
    ax.plot([0, 1], [0, 1], "--", color="grey", label="calibrated")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (top score)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"reliability: ECE {ece:.3f}")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
