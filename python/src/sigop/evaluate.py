"""`sigop evaluate`: an exported model on a folder of class subfolders, through the input path the server uses.

Every file becomes the model's input through its input plan (``plan.py``: the
same decoding, resampling, length fitting and rendering the server applies;
spectrum images drawn through the built-in FFT graph, the one the server
serves unless graphs/ holds another), runs
through the frozen graph, and is scored: accuracy, per-class precision /
recall / F1, macro-F1, the confusion matrix and calibration. The model's
LiteRT copies (model.tflite, model.int8.tflite) run on the same inputs and
are scored beside it: accuracy, its difference from the graph's in points,
and the largest difference in any probability. Written beside:
``evaluation.json``, ``confusion_matrix.png``, ``reliability.png`` and
``predictions.csv`` (file, true label, predicted label, top-k scores).

A MiniRocket model is scored with its compiled form, which `sigop serve`
runs by default; its graph and LiteRT copies, 10-30x slower on long signals,
are compared with it on up to 32 files spread over the folder
(``agreement``).
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .folders import labelled_files
from .runtime.fft import standalone_plan
from .lite_export import in_parts, probe_rows, spread
from .runtime.compiled import CompiledMiniRocket, compiled_record
from .runtime.frozen import FrozenGraph
from .runtime.litert import PRECISIONS, LiteInterpreter, LiteUnavailable, lite_content
from .scoring import plot_confusion, plot_reliability, summary
from .signals import signals_meta

__all__ = ["evaluate", "format_result"]



def evaluate(model: Path, data: Path, out: Path | None = None, *, top_k: int = 3, batch: int = 32,
             progress: bool = True) -> dict:
    """Score ``model`` on ``data``; writes the report into ``out`` (default: <model>/evaluation/<data name>)."""
    graph = FrozenGraph(Path(model))
    plan = standalone_plan(graph.manifest)
    try:
        labels = graph.manifest.details["labels"]
        files, y = labelled_files(data, labels)
        rate = signals_meta(data).get("sample_rate")
        copies = _lite_copies(graph)
        compiled = CompiledMiniRocket(graph.folder, graph.manifest) if compiled_record(graph.manifest) else None
        run = compiled or graph
        agreement = {}
        if compiled is not None:
            agreement = _agreement(plan.files(spread(files, 32), rate), _probabilities(compiled), {
                "graph": _probabilities(graph), **{f"litert {p}": c for p, c in copies.items()}})
            copies = {}
        shape = next(iter(graph.manifest.inputs.values())).shape[1:]
        batch = min(batch, probe_rows(int(np.prod([d or 1 for d in shape]))))  # long inputs: fewer per call
        probs = np.empty((len(files), len(labels)), dtype=np.float64)
        lite_probs = {p: np.empty_like(probs) for p in copies}
        lite_seconds = dict.fromkeys(copies, 0.0)
        started = time.perf_counter()
        with tqdm(total=len(files), desc="evaluate", unit="file", disable=not progress) as bar:
            for start in range(0, len(files), batch):
                chunk = files[start:start + batch]
                x = plan.files(chunk, rate)
                probs[start:start + len(chunk)] = run(x, ["probabilities"])["probabilities"]
                for precision, interpreter in copies.items():
                    t = time.perf_counter()
                    lite_probs[precision][start:start + len(chunk)] = interpreter(x)
                    lite_seconds[precision] += time.perf_counter() - t
                bar.update(len(chunk))
        seconds = time.perf_counter() - started - sum(lite_seconds.values())
    finally:
        graph.close()

    result = summary(y, probs, labels)
    result["files_per_second"] = round(len(files) / seconds, 2)
    result["model"] = graph.manifest.name
    result["runtime"] = run.runtime
    if agreement:
        result["agreement"] = agreement
    result["lite"] = {}
    for precision, p in lite_probs.items():
        s = summary(y, p, labels)
        result["lite"][precision] = {
            "file": graph.manifest.lite[precision]["file"], "accuracy": s["accuracy"], "macro_f1": s["macro_f1"],
            "accuracy_delta_points": round(100 * (s["accuracy"] - result["accuracy"]), 3),
            "max_abs_diff": float(np.abs(p - probs).max()),
            "model_calls_per_second": round(len(files) / max(lite_seconds[precision], 1e-9), 1)}
    out = Path(out) if out else Path(model) / "evaluation" / Path(data).name
    out.mkdir(parents=True, exist_ok=True)
    result["report"] = str(out)
    plot_confusion(np.array(result["confusion"]), labels,
                   f"{Path(data).name}: accuracy {result['accuracy']:.3f} (n={result['n']})", out / "confusion_matrix.png")
    plot_reliability(result["calibration_bins"], result["expected_calibration_error"], out / "reliability.png")
    k = min(top_k, len(labels))
    with open(out / "predictions.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "true", "predicted"] + [c for i in range(1, k + 1) for c in (f"label_{i}", f"score_{i}")])
        for path, truth, row in zip(files, y, probs):
            best = np.argsort(-row, kind="stable")[:k]
            w.writerow([path.relative_to(data).as_posix(), labels[truth], labels[best[0]]]
                       + [v for i in best for v in (labels[i], f"{row[i]:.6f}")])
    (out / "evaluation.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def _probabilities(model):
    return lambda x: model(x, ["probabilities"])["probabilities"]


def _agreement(x: np.ndarray, reference, others: dict) -> dict:
    """How closely each of ``others`` (inputs -> probabilities) answers as ``reference`` does on inputs ``x``."""
    want = in_parts(reference, x)
    out = {}
    for name, run in others.items():
        got = in_parts(run, x)
        out[name] = {"files": len(x), "max_abs_diff": float(np.abs(got - want).max()),
                     "top1_agreement": float(np.mean(got.argmax(1) == want.argmax(1)))}
    return out


def _lite_copies(graph: FrozenGraph) -> dict[str, LiteInterpreter]:
    """The model's usable LiteRT copies, by precision."""
    copies = {}
    for precision in PRECISIONS:
        try:
            copies[precision] = LiteInterpreter(lite_content(graph.folder, graph.manifest, precision))
        except LiteUnavailable:
            continue
    return copies


def format_result(r: dict, data: str | Path) -> str:
    """The tables `sigop evaluate` prints: summary, per class, confusion."""
    corner = "true \\ predicted"
    w = max(len(label) for label in r["labels"] + [corner])
    lines = [f"{r['model']} on {data}: accuracy {r['accuracy']:.4f} ({r['n']} files), macro-F1 {r['macro_f1']:.4f}, "
             f"expected calibration error {r['expected_calibration_error']:.4f}, {r['files_per_second']} files/s",
             f"  {'class':<{w}}  precision  recall     f1  support"]
    lines += [f"  {label:<{w}}  {c['precision']:9.3f}  {c['recall']:6.3f}  {c['f1']:5.3f}  {c['support']:7d}"
              for label, c in r["per_class"].items()]
    cell = max(4, max(len(label) for label in r["labels"]))
    lines.append(f"  {corner:<{w}}  " + " ".join(f"{label:>{cell}}" for label in r["labels"]))
    lines += [f"  {label:<{w}}  " + " ".join(f"{v:>{cell}d}" for v in row) for label, row in zip(r["labels"], r["confusion"])]
    for name, a in r.get("agreement", {}).items():
        lines.append(f"  {name} on {a['files']} of the files: same top class on {100 * a['top1_agreement']:.1f} %, "
                     f"max |probability difference| {a['max_abs_diff']:.2g} from the {r['runtime']} runtime")
    for precision, lite in r.get("lite", {}).items():
        lines.append(f"  LiteRT {precision} ({lite['file']}): accuracy {lite['accuracy']:.4f} "
                     f"({lite['accuracy_delta_points']:+.2f} points against the float32 graph), macro-F1 {lite['macro_f1']:.4f}, "
                     f"max |probability difference| {lite['max_abs_diff']:.2g}")
    lines.append(f"wrote evaluation.json, confusion_matrix.png, reliability.png, predictions.csv to {r['report']}")
    return "\n".join(lines)
