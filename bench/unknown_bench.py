"""Unseen devices on real data: sigop's unknown score on PLAID's official split, beside the max-softmax baseline.

Five draws, each holding a quarter of PLAID's 11 appliance classes (3) out of
training: the default command (`sigop train --data known/train`) trains on
the other classes' official training files, and `sigop evaluate --data
known/test --unknown-data unseen/test --json` scores the official test files,
the held-out classes' as unknown. Reported per draw and as mean ± std: the
unknown score's AUROC, the max-softmax baseline's AUROC from the same model
and files, FPR at 95 % detection, the share of known test files over the
calibrated threshold (asked: --unknown-rate 0.05) and known-class accuracy.
Beside them, for reference, the max-softmax AUROC of sktime's MiniRocket +
ridge (softmax of the ridge's scores) on the same draws. Then one one-class
model per class: trained on that class's training files alone, scored on
every test file (the class's own known, all others unknown).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from plaid_data import RATE, load, padded, written  # noqa: E402

DRAWS = 5
HELD_OUT = 3  # a quarter of 11 classes, rounded


def link_classes(source: Path, classes: list[str], dest: Path) -> Path:
    """dest/<class>/ linking to source/<class>/'s files, with source's signals.json."""
    for c in classes:
        (dest / c).mkdir(parents=True, exist_ok=True)
        for f in sorted((source / c).iterdir()):
            target = dest / c / f.name
            if not target.exists():
                target.symlink_to(f.resolve())
    (dest / "signals.json").write_text(json.dumps({"sample_rate": RATE}) + "\n")
    return dest


def sigop_json(sigop: str, *args: str) -> dict:
    out = subprocess.run([sigop, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def train(sigop: str, data: Path, out: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([sigop, "train", "--data", str(data), "--out", str(out), "--no-saved-model"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def sktime_msp_auroc(known: list[str]) -> float:
    """Max-softmax AUROC of sktime's MiniRocket + ridge trained on the known classes (the issue's reference)."""
    warnings.filterwarnings("ignore")
    from scipy.special import softmax
    from sklearn.linear_model import RidgeClassifierCV
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler
    from sktime.transformations.panel.rocket import MiniRocket

    (tr, y), (te, yt) = load("train"), load("test")
    n = max(s.size for s in tr)
    keep = np.array([v in known for v in y])
    rocket = MiniRocket(random_state=0).fit(padded([s for s, k in zip(tr, keep) if k], n)[:, None, :])
    a = rocket.transform(padded([s for s, k in zip(tr, keep) if k], n)[:, None, :]).to_numpy()
    b = rocket.transform(padded(te, n)[:, None, :]).to_numpy()
    scaler = StandardScaler().fit(a)
    ridge = RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)).fit(scaler.transform(a), np.array(y)[keep])
    p = softmax(ridge.decision_function(scaler.transform(b)), axis=1)
    unseen = np.array([v not in known for v in yt])
    return float(roc_auc_score(unseen, 1 - p.max(axis=1)))


def stats(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sigop", required=True)
    p.add_argument("--out", default="out/bench/unknown")
    p.add_argument("--draws", type=int, default=DRAWS)
    p.add_argument("--one-class", type=int, default=11, help="one-class models for the first N classes")
    args = p.parse_args()
    out = Path(args.out)
    data = written(out / "data")
    classes = sorted(d.name for d in (data / "train").iterdir() if d.is_dir())
    rows, results = [], {"draws": [], "one_class": []}
    print(f"PLAID, official split, {HELD_OUT} of {len(classes)} classes held out of training, {args.draws} draws:\n")
    print("| draw | held out | AUROC, sigop's unknown score | AUROC, max-softmax (same model) | FPR at 95 % detection "
          "| known test files over the threshold (asked 5 %) | unseen files detected | known accuracy "
          "| AUROC, max-softmax of sktime MiniRocket + ridge | training time |")
    print("|---|---|---|---|---|---|---|---|---|---|", flush=True)
    for draw in range(args.draws):
        held = sorted(np.random.default_rng(draw).choice(classes, HELD_OUT, replace=False).tolist())
        known = [c for c in classes if c not in held]
        root = out / f"draw{draw}"
        seconds = train(args.sigop, link_classes(data / "train", known, root / "known_train"), root / "model")
        r = sigop_json(args.sigop, "evaluate", "--model", str(root / "model"),
                       "--data", str(link_classes(data / "test", known, root / "known_test")),
                       "--unknown-data", str(link_classes(data / "test", held, root / "unseen_test")), "--json")
        u = r["unknown"]
        ref = sktime_msp_auroc([c.removeprefix("appliance_").lstrip("0") or "0" for c in known])
        rows.append((u["auroc"], u["baseline_auroc"], u["fpr_at_95_detection"], u["false_rejection_rate"],
                     u["detection_rate"], u["known_accuracy"], ref))
        results["draws"].append({"held_out": held, **u, "sktime_msp_auroc": ref, "train_seconds": seconds})
        print(f"| {draw} | {', '.join(h.removeprefix('appliance_') for h in held)} | {u['auroc']:.3f} | "
              f"{u['baseline_auroc']:.3f} | {u['fpr_at_95_detection']:.3f} | {100 * u['false_rejection_rate']:.1f} % | "
              f"{100 * u['detection_rate']:.1f} % | {100 * u['known_accuracy']:.1f} % | {ref:.3f} | {seconds:.0f} s |",
              flush=True)
    cols = list(zip(*rows))
    print(f"| **mean ± std** | | **{stats(cols[0])}** | {stats(cols[1])} | {stats(cols[2])} | "
          f"{100 * np.mean(cols[3]):.1f} ± {100 * np.std(cols[3]):.1f} % | {100 * np.mean(cols[4]):.1f} % | "
          f"{100 * np.mean(cols[5]):.1f} % | {stats(cols[6])} | |\n", flush=True)

    print("One-class models (`sigop train` on one class's training files), every test file scored:\n")
    print("| class | files in its training folder | AUROC | known test files over the threshold (asked 5 %) | other files detected |")
    print("|---|---|---|---|---|", flush=True)
    aurocs = []
    for c in classes[:args.one_class]:
        root = out / "one_class" / c
        train(args.sigop, link_classes(data / "train", [c], root / "train"), root / "model")
        r = sigop_json(args.sigop, "evaluate", "--model", str(root / "model"),
                       "--data", str(link_classes(data / "test", [c], root / "test")),
                       "--unknown-data", str(link_classes(data / "test", [o for o in classes if o != c],
                                                          root / "others")), "--json")
        u = r["unknown"]
        aurocs.append(u["auroc"])
        results["one_class"].append({"class": c, **u})
        print(f"| {c.removeprefix('appliance_')} | {len(list((data / 'train' / c).iterdir()))} | {u['auroc']:.3f} | "
              f"{100 * u['false_rejection_rate']:.1f} % | {100 * u['detection_rate']:.1f} % |", flush=True)
    print(f"| **mean ± std** | | **{stats(aurocs)}** | | |")
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
