"""How sigop's unknown score was chosen: candidate scores on data the benchmark does not test on.

Two sets, neither PLAID's test split: PLAID's official *training* split cut
in two halves (stratified, seed 0), a model fitted on one half and scored on
the other; and ACSF1 (sktime's bundled UCR copy, 10 appliance classes) on its
official split. In each of five draws a quarter of the classes is held out
of training. Features are sigop's MiniRocket and its ridge classifier
(training/minirocket.py, training/linear.py), as the default command fits
them. Candidates: max-softmax (the baseline), max logit, energy, cosine
nearest neighbour of the standardised features, relative Mahalanobis on
their first 128 principal components, and Mahalanobis in the logit space
(shared covariance shrunk 10 %, sigop/unknown.py). Prints mean ± std AUROC
(unseen vs seen test files) per set.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from plaid_data import load, padded  # noqa: E402

DRAWS = 5


def candidates(ftr, ytr, fte, classes) -> dict[str, np.ndarray]:
    from scipy.special import logsumexp, softmax

    from sigop.training.linear import fit_ridge
    from sigop.unknown import fit_logit_mahalanobis

    lin = fit_ridge(ftr, ytr, classes)
    logits, train_logits = lin.logits(fte), lin.logits(ftr)
    ztr, zte = lin.standardized(ftr), lin.standardized(fte)
    unit = lambda z: z / np.linalg.norm(z, axis=1, keepdims=True)  # noqa: E731
    mean = ztr.mean(axis=0)
    _, _, vt = np.linalg.svd(ztr - mean, full_matrices=False)
    ptr, pte = (ztr - mean) @ vt[:128].T, (zte - mean) @ vt[:128].T

    def mahalanobis(a, labels, b):
        means = np.stack([a[labels == c].mean(axis=0) for c in np.unique(labels)])
        centred = a - means[np.searchsorted(np.unique(labels), labels)]
        precision = np.linalg.pinv(centred.T @ centred / len(a))
        return np.stack([np.einsum("ij,jk,ik->i", b - m, precision, b - m) for m in means], axis=1)

    relative = (mahalanobis(ptr, ytr, pte) - mahalanobis(ptr, np.zeros(len(ptr), int), pte)).min(axis=1)
    chosen = fit_logit_mahalanobis(train_logits, ytr, lin.left_out, 0.05, "leave-one-out")
    return {
        "max-softmax (baseline)": -softmax(logits, axis=1).max(axis=1),
        "max logit": -logits.max(axis=1),
        "energy": -logsumexp(logits, axis=1),
        "nearest neighbour, cosine (standardised features)": -(unit(zte) @ unit(ztr).T).max(axis=1),
        "relative Mahalanobis, 128 principal components": relative,
        "**Mahalanobis in the logit space (sigop)**": chosen.score(logits),
    }


def run(name: str, xtr, ytr, xte, yte) -> dict[str, list[float]]:
    from sklearn.metrics import roc_auc_score

    from sigop.training.minirocket import fit, transform

    classes = sorted(set(ytr))
    held_out, draws, seed = max(1, len(classes) // 4 + (len(classes) % 4 >= 2)), [], 0
    while len(draws) < DRAWS:  # distinct held-out sets
        held = sorted(np.random.default_rng(seed).choice(classes, held_out, replace=False).tolist())
        seed += 1
        if held not in draws:
            draws.append(held)
    out: dict[str, list[float]] = {}
    for held in draws:
        known = [c for c in classes if c not in held]
        keep = np.array([y in known for y in ytr])
        labels = np.array([known.index(y) for y in np.asarray(ytr)[keep]])
        params = fit(xtr[keep], seed=0)
        scores = candidates(transform(params, xtr[keep]), labels, transform(params, xte), len(known))
        unseen = np.array([y in held for y in yte])
        for k, v in scores.items():
            out.setdefault(k, []).append(float(roc_auc_score(unseen, v)))
        print(f"  {name}: held out {held}", file=sys.stderr, flush=True)
    return out


def main() -> int:
    warnings.filterwarnings("ignore")
    from sklearn.model_selection import train_test_split
    from sktime.datasets import load_UCR_UEA_dataset

    xs, ys = load("train")
    n = max(s.size for s in xs)
    a, b = train_test_split(np.arange(len(xs)), test_size=0.5, stratify=ys, random_state=0)
    x = padded(xs, n)
    sets = {"PLAID training split, halves": run("PLAID", x[a], [ys[i] for i in a], x[b], [ys[i] for i in b])}
    acsf = {}
    for split in ("train", "test"):
        frame, y = load_UCR_UEA_dataset("ACSF1", split=split, return_type="numpy2d")
        acsf[split] = (np.asarray(frame, np.float64), [str(v) for v in y])
    sets["ACSF1, official split"] = run("ACSF1", *acsf["train"], *acsf["test"])
    names = list(next(iter(sets.values())))
    print("| score | " + " | ".join(sets) + " |\n|---|" + "---|" * len(sets))
    for k in names:
        print(f"| {k} | " + " | ".join(f"{np.mean(s[k]):.3f} ± {np.std(s[k]):.3f}" for s in sets.values()) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
