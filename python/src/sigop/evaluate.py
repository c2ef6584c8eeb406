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
``predictions.csv`` (file, true label, predicted label, top-k scores, and the
unknown score of a model that has one). With ``--unknown-data``, files of no
training class are scored too (unknown_report.py), ``unknown_scores.png``
shows both distributions with the threshold, and their rows join the CSV
with the true label ``(unknown)``.

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
from .progress import bar as progress_bar

from .folders import files_in, labelled_files
from .runtime.fft import standalone_plan
from .lite_export import in_parts, probe_rows, spread
from .runtime.compiled import CompiledMiniRocket, compiled_record
from .runtime.frozen import FrozenGraph
from .runtime.litert import PRECISIONS, LiteInterpreter, LiteUnavailable, lite_content
from .scoring import plot_confusion, plot_reliability, summary
from .signals import signals_meta
from .unknown_report import format_unknown, plot_unknown, unknown_metrics

__all__ = ["evaluate", "format_result"]



def evaluate(model: Path, data: Path, out: Path | None = None, *, top_k: int = 3, batch: int = 32,
             progress: bool = True, unknown_data: Path | None = None) -> dict:
    """Score ``model`` on ``data`` (and ``unknown_data``: files of no training class); writes the report into
    ``out`` (default: <model>/evaluation/<data name>)."""
    graph = FrozenGraph(Path(model))
    plan = standalone_plan(graph.manifest)
    has_unknown = "unknown" in graph.manifest.outputs
    if unknown_data is not None and not has_unknown:
        raise ValueError(f"{model} has no unknown score (exported before sigop had one): train it again to use "
                         f"--unknown-data")
    try:
        labels = graph.manifest.details["labels"]
        files, y = labelled_files(data, labels)
        known_count = len(files)
        if unknown_data is not None:
            others = files_in(unknown_data)
            if not others:
                raise ValueError(f"--unknown-data {unknown_data}: no file sigop reads")
            files, y = files + others, np.r_[y, np.full(len(others), -1)]
        rate = signals_meta(data).get("sample_rate")
        other_rate = signals_meta(unknown_data).get("sample_rate") if unknown_data is not None else None
        rates = [rate] * known_count + [other_rate] * (len(files) - known_count)
        copies = _lite_copies(graph)
        compiled = CompiledMiniRocket(graph.folder, graph.manifest) if compiled_record(graph.manifest) else None
        run = compiled or graph
        agreement = {}
        if compiled is not None:
            agreement = _agreement(plan.files(spread(files[:known_count], 32), rate), _probabilities(compiled), {
                "graph": _probabilities(graph), **{f"litert {p}": c for p, c in copies.items()}})
            copies = {}
        shape = next(iter(graph.manifest.inputs.values())).shape[1:]
        batch = min(batch, probe_rows(int(np.prod([d or 1 for d in shape]))))  # long inputs: fewer per call
        probs = np.empty((len(files), len(labels)), dtype=np.float64)
        scores = np.full(len(files), np.nan)
        outputs = ["probabilities"] + (["unknown"] if has_unknown else [])
        lite_probs = {p: np.empty_like(probs[:known_count]) for p in copies}
        lite_seconds = dict.fromkeys(copies, 0.0)
        started = time.perf_counter()
        with progress_bar(total=len(files), desc="evaluate", unit="file", disable=not progress) as bar:
            for start, end in _chunks(known_count, len(files), batch):  # known and unknown files never share one
                chunk = files[start:end]
                x = plan.files(chunk, rates[start])
                answers = run(x, outputs)
                probs[start:start + len(chunk)] = answers["probabilities"]
                if has_unknown:
                    scores[start:start + len(chunk)] = answers["unknown"]
                bar.update(len(chunk))
                if start >= known_count:
                    continue
                for precision, interpreter in copies.items():
                    t = time.perf_counter()
                    lite_probs[precision][start:start + len(chunk)] = interpreter(x)
                    lite_seconds[precision] += time.perf_counter() - t
        seconds = time.perf_counter() - started - sum(lite_seconds.values())
    finally:
        graph.close()

    known, y_known = slice(0, known_count), y[:known_count]
    result = summary(y_known, probs[known], labels)
    result["files_per_second"] = round(len(files) / seconds, 2)
    result["model"] = graph.manifest.name
    result["runtime"] = run.runtime
    if agreement:
        result["agreement"] = agreement
    result["lite"] = {}
    for precision, p in lite_probs.items():
        s = summary(y_known, p, labels)  # LiteRT copies run on the known files only
        result["lite"][precision] = {
            "file": graph.manifest.lite[precision]["file"], "accuracy": s["accuracy"], "macro_f1": s["macro_f1"],
            "accuracy_delta_points": round(100 * (s["accuracy"] - result["accuracy"]), 3),
            "max_abs_diff": float(np.abs(p - probs[known]).max()),
            "model_calls_per_second": round(known_count / max(lite_seconds[precision], 1e-9), 1)}
    out = Path(out) if out else Path(model) / "evaluation" / Path(data).name
    out.mkdir(parents=True, exist_ok=True)
    result["report"] = str(out)
    plot_confusion(np.array(result["confusion"]), labels,
                   f"{Path(data).name}: accuracy {result['accuracy']:.3f} (n={result['n']})", out / "confusion_matrix.png")
    plot_reliability(result["calibration_bins"], result["expected_calibration_error"], out / "reliability.png")
    if has_unknown:
        threshold = float(graph.manifest.details["unknown"]["threshold"])
        result["unknown_threshold"] = threshold
        result["unknown_rejected"] = round(float(np.mean(scores[known] > threshold)), 4)
    if unknown_data is not None:
        result["unknown"] = unknown_metrics(scores[known], scores[known_count:], threshold, probs[known],
                                            probs[known_count:], y_known)
        plot_unknown(scores[known], scores[known_count:], threshold,
                     f"{graph.manifest.name}: AUROC {result['unknown']['auroc']:.3f}", out / "unknown_scores.png")
    k = min(top_k, len(labels))
    with open(out / "predictions.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "true", "predicted"] + [c for i in range(1, k + 1) for c in (f"label_{i}", f"score_{i}")]
                   + (["unknown_score", "unknown"] if has_unknown else []))
        for i, (path, truth, row) in enumerate(zip(files, y, probs)):
            best = np.argsort(-row, kind="stable")[:k]
            root = data if i < known_count else unknown_data
            w.writerow([path.relative_to(root).as_posix(), labels[truth] if truth >= 0 else "(unknown)",
                        labels[best[0]]] + [v for j in best for v in (labels[j], f"{row[j]:.6f}")]
                       + ([f"{scores[i]:.6f}", int(scores[i] > threshold)] if has_unknown else []))
    (out / "evaluation.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def _chunks(known: int, total: int, batch: int):
    """(start, end) of batches over the known files, then over the rest."""
    for first, last in ((0, known), (known, total)):
        for start in range(first, last, batch):
            yield start, min(start + batch, last)


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
    if "unknown" in r:
        lines.append(format_unknown(r["unknown"]))
    elif "unknown_threshold" in r:
        lines.append(f"  unknown score over its threshold {r['unknown_threshold']:.4g} on {100 * r['unknown_rejected']:.1f} "
                     f"% of these known files (add --unknown-data DIR to measure how it finds files of no class)")
    pngs = "confusion_matrix.png, reliability.png" + (", unknown_scores.png" if "unknown" in r else "")
    lines.append(f"wrote evaluation.json, {pngs}, predictions.csv to {r['report']}")
    return "\n".join(lines)
