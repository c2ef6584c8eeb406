"""How well a model's unknown score tells known files from files of no training class (`sigop evaluate --unknown-data`).

AUROC of the unknown score (known files negative, unknown files positive),
the false-positive rate on known files at 95 % detection (FPR95, the
out-of-distribution literature's), detection and false rejection at the
manifest's threshold, accuracy on known files once rejections count as
misses, and the max-softmax baseline's AUROC (1 - the top probability) from
the same model and files, so a score is never reported without its yardstick.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .scoring import pyplot

__all__ = ["unknown_metrics", "plot_unknown", "format_unknown"]


def _auroc(negative: np.ndarray, positive: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    truth = np.r_[np.zeros(len(negative)), np.ones(len(positive))]
    return float(roc_auc_score(truth, np.r_[negative, positive]))


def unknown_metrics(known: np.ndarray, unknown: np.ndarray, threshold: float, known_probs: np.ndarray,
                    unknown_probs: np.ndarray, known_labels: np.ndarray) -> dict:
    """``known``/``unknown``: unknown scores of known files and of files of no training class."""
    if not len(unknown):
        raise ValueError("--unknown-data holds no file sigop reads")
    at_95 = float(np.quantile(unknown, 0.05))  # 95 % of unknown files score at least this
    accepted = known <= threshold
    correct = known_probs.argmax(axis=1) == known_labels
    return {
        "auroc": round(_auroc(known, unknown), 4),
        "baseline_auroc": round(_auroc(1 - known_probs.max(axis=1), 1 - unknown_probs.max(axis=1)), 4),
        "baseline": "max-softmax: 1 - the top probability",
        "fpr_at_95_detection": round(float(np.mean(known >= at_95)), 4),
        "threshold": threshold,
        "detection_rate": round(float(np.mean(unknown > threshold)), 4),
        "false_rejection_rate": round(float(np.mean(~accepted)), 4),
        "known_accuracy": round(float(np.mean(correct)), 4),
        "known_accuracy_with_rejection": round(float(np.mean(correct & accepted)), 4),
        "accepted_accuracy": round(float(np.mean(correct[accepted])), 4) if accepted.any() else None,
        "known_files": int(len(known)), "unknown_files": int(len(unknown)),
    }


def plot_unknown(known: np.ndarray, unknown: np.ndarray, threshold: float, title: str, path: Path) -> None:
    """The two score distributions and the threshold, on a log axis when they span decades."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    both = np.r_[known, unknown]
    positive = both[both > 0]
    log = positive.size == both.size and positive.max() / positive.min() > 100
    edges = np.geomspace(positive.min(), positive.max(), 40) if log else np.linspace(both.min(), both.max(), 40)
    ax.hist(known, bins=edges, alpha=0.6, label=f"known files ({len(known)})")
    ax.hist(unknown, bins=edges, alpha=0.6, label=f"unknown files ({len(unknown)})")
    ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3g}")
    if log:
        ax.set_xscale("log")
    ax.set_xlabel("unknown score")
    ax.set_ylabel("files")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def format_unknown(u: dict) -> str:
    return (f"  unknown files: AUROC {u['auroc']:.4f} (max-softmax baseline {u['baseline_auroc']:.4f}), FPR at 95 % "
            f"detection {u['fpr_at_95_detection']:.4f}; at the threshold {u['threshold']:.4g}: "
            f"{100 * u['detection_rate']:.1f} % of {u['unknown_files']} unknown files detected, "
            f"{100 * u['false_rejection_rate']:.1f} % of {u['known_files']} known files rejected, known accuracy "
            f"{u['known_accuracy']:.4f} ({u['known_accuracy_with_rejection']:.4f} counting rejections as misses)")
