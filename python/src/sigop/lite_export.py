"""Convert a classifier's frozen graph to LiteRT, check the copy against the graph, record it in the manifest.

The converter reads ``graph.pb`` itself (not the Keras model), so a graph
folder from any sigop version converts, and the copy is checked against
exactly what the server would otherwise run. A float32 copy must answer
within ``tolerance`` of the graph on the probe inputs, or it is not written
and the manifest says why; an int8 copy is quantized with calibration inputs
(training files, through the model's input plan, as the server feeds them), every op but those in
``FLOAT_OPS``; its top-class agreement with the graph is recorded, its
accuracy left to ``sigop evaluate``. Both keep float32 (or uint8 image)
inputs and float32 outputs, so a device feeds them alike.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path
from typing import Sequence

import numpy as np

from .manifest import Manifest, sha256_file
from .plan import InputPlan
from .runtime.frozen import FrozenGraph
from .runtime.litert import LITE_FILES, LiteInterpreter, describe_tensors
from .tfenv import tf

__all__ = ["export_lite", "folder_inputs", "spread", "lite_summary", "TOLERANCE"]

log = logging.getLogger(__name__)

# Largest |probability difference| a float32 copy may show against the graph. Rounding alone stays below it:
# MobileNetV2 under XNNPACK differs by up to ~1.2e-5 (its convolutions sum in another order; 6.4e-6 without
# XNNPACK), waveform CNNs by ~1e-7, MiniRocket not at all; a mistranslated op differs by far more.
TOLERANCE = 1e-4
# Largest difference of its unknown score, relative to max(1, |score|). The score is a distance from class means in
# the logit space, and logits of ~1e5 (a ridge head of a small temperature) lose digits in the subtraction: a
# MiniRocket copy whose probabilities match to the bit differs by ~5e-5. Scores near the threshold are ~1.
UNKNOWN_TOLERANCE = 1e-3
# Ops the int8 copy keeps in float32. MobileNetV2 quantized whole lost 5 points on the article's task (a fresh
# development set, seed 11); with its depthwise convolutions in float, 0.5 — at 2.8 MB instead of 2.7.
FLOAT_OPS = {"DEPTHWISE_CONV_2D": "DepthwiseConv2dNative"}  # LiteRT op: the TensorFlow op it comes from
# Layers whose tensors stay float (_float_nodes), and the unknown score (a one-class model's distance: "residual").
# The head the score reads stays float too (HEAD_SCOPES): quantized with ranges from known files, logits and score
# saturate for the inputs the score exists to flag (a one-class copy scored every unseen input 0.21). A MiniRocket
# model's head is all an int8 copy quantizes, so there it stays int8 (float_scopes()).
FLOAT_SCOPES = ("front_end", "minirocket", "standardize", "residual", "unknown")
HEAD_SCOPES = ("head_dense", "probabilities")


def float_scopes(manifest: Manifest) -> tuple[str, ...]:
    """The scopes an int8 copy of this model keeps in float."""
    return FLOAT_SCOPES + (() if manifest.details.get("model") == "minirocket" else HEAD_SCOPES)


PROBE_ELEMENTS = 1 << 15  # input values per checking call


def spread(items: Sequence, n: int) -> list:
    """Up to ``n`` of ``items``, evenly spread over them (first and last included)."""
    return [items[i] for i in np.unique(np.linspace(0, len(items) - 1, min(n, len(items))).astype(int))]


def folder_inputs(model: Path, data: Path | None, *, quantize: str | None = None, probe_files: int = 32,
                  calibration_files: int = 200) -> tuple[np.ndarray | None, list[np.ndarray]]:
    """Probe and calibration inputs from a folder of class subfolders, fed as the server feeds files;
    without ``data``, random probe inputs and no calibration."""
    if data is None:
        if quantize:
            raise ValueError("int8 quantization is calibrated on training files: pass --data DIR")
        return None, []
    from .folders import labelled_files
    from .runtime.fft import standalone_plan
    from .signals import signals_meta

    manifest = Manifest.read(model)
    files, _ = labelled_files(data, manifest.details["labels"])
    rate = signals_meta(data).get("sample_rate")
    plan = standalone_plan(manifest)
    probe = plan.files(spread(files, probe_files), rate)
    return probe, list(plan.files(spread(files, calibration_files), rate)) if quantize else []


def export_lite(folder: Path, probe: np.ndarray | None = None, calibration: Sequence[np.ndarray] = (), *,
                quantize: str = "", tolerance: float = TOLERANCE) -> dict:
    """Write model.tflite (and model.int8.tflite with quantize="int8") beside graph.pb; returns the manifest's
    ``lite`` record. ``probe``: model inputs [n, ...] to check on; ``calibration``: model inputs, one per row."""
    folder = Path(folder)
    if quantize not in ("", "int8"):
        raise ValueError(f"quantize is {quantize!r}; expected int8 or nothing")
    if quantize and not len(calibration):
        raise ValueError("int8 quantization needs calibration inputs: training files (sigop export-lite --data DIR)")
    graph = FrozenGraph(folder)
    try:
        manifest = graph.manifest
        if manifest.kind != "classifier":
            raise ValueError(f"{folder} holds a {manifest.kind} graph; only classifiers get LiteRT copies "
                             f"(the FFT stays float64 on TensorFlow)")
        if quantize and "one_class" in manifest.details:
            raise ValueError(f"{folder} is a one-class model: its features and their distance stay float32, so an "
                             f"int8 copy would quantize nothing; model.tflite is its LiteRT copy")
        probe = InputPlan(manifest).noise(8) if probe is None else probe
        reference = in_parts(lambda x: graph(x, ["probabilities"])["probabilities"], probe)
        unknown = in_parts(lambda x: graph(x, ["unknown"])["unknown"], probe) if "unknown" in manifest.outputs else None
        graph_def = (folder / manifest.graph).read_bytes()
        records = {"float32": _convert(folder, manifest, graph_def, "float32", probe, reference, tolerance,
                                       unknown=unknown)}
        if quantize:
            records["int8"] = _convert(folder, manifest, graph_def, "int8", probe, reference, tolerance, calibration,
                                   unknown=unknown)
    finally:
        graph.close()
    kept = {p: r for p, r in manifest.lite.items() if p not in records and r.get("graph_sha256") == manifest.sha256}
    replace(manifest, lite={**records, **kept}).write(folder)
    return {**records, **kept}


def _convert(folder: Path, manifest: Manifest, graph_def: bytes, precision: str, probe: np.ndarray,
             reference: np.ndarray, tolerance: float, calibration: Sequence[np.ndarray] = (),
             unknown: np.ndarray | None = None) -> dict:
    path = folder / LITE_FILES[precision]
    path.unlink(missing_ok=True)  # a copy of an earlier graph must not outlive a failed conversion
    unknown_diff = None
    try:
        if precision == "float32":
            content = _converted(graph_def, manifest)
            interpreter = LiteInterpreter(content)
            got = in_parts(interpreter, probe)
            if unknown is not None:  # relative to max(1, |score|): UNKNOWN_TOLERANCE
                lite_unknown = in_parts(lambda x: interpreter.run(x)["unknown"], probe)
                unknown_diff = float(np.max(np.abs(lite_unknown - unknown) / np.maximum(1.0, np.abs(unknown))))
        else:
            content, got, lite_unknown = _quantized(folder, calibration, probe)
            interpreter = LiteInterpreter(content)  # for its tensors' details only: never invoked in this process
            if unknown is not None and lite_unknown is not None:  # recorded, not held to a tolerance
                unknown_diff = float(np.max(np.abs(lite_unknown - unknown) / np.maximum(1.0, np.abs(unknown))))
    except Exception as e:  # the converter's and the runtime's errors carry no common type
        reason = _reason(e)
        log.warning("%s: no %s LiteRT model: %s", folder, precision, reason)
        return {"error": reason, "graph_sha256": manifest.sha256}
    diff = float(np.abs(got - reference).max())
    agreement = float((got.argmax(axis=1) == reference.argmax(axis=1)).mean())
    check = {"inputs": int(len(probe)), "max_abs_diff": diff, "top1_agreement": agreement}
    if unknown_diff is not None:
        check["unknown_max_rel_diff"] = unknown_diff
    if precision == "float32" and not (diff <= tolerance and (unknown_diff or 0.0) <= UNKNOWN_TOLERANCE):
        reason = (f"its answers differ from {manifest.graph}'s by {diff:.3g} on {len(probe)} inputs "
                  f"(tolerance {tolerance:g})" + ("" if unknown_diff is None else
                                                  f", its unknown scores by {unknown_diff:.3g} relative "
                                                  f"(tolerance {UNKNOWN_TOLERANCE:g})"))
        log.warning("%s: float32 LiteRT model not written: %s", folder, reason)
        return {"error": reason, "graph_sha256": manifest.sha256, "check": check}
    path.write_bytes(content)
    record = {
        "file": path.name, "sha256": sha256_file(path), "bytes": len(content), "graph_sha256": manifest.sha256,
        "inputs": describe_tensors(interpreter.input_details),
        "outputs": describe_tensors(interpreter.output_details),
        "check": check, "converter": f"tensorflow {tf.__version__}", "runtime": f"ai-edge-litert {version('ai-edge-litert')}",
    }
    if precision == "int8":
        record["calibration_inputs"] = len(calibration)
        record["float_ops"] = [op for op, tf_op in FLOAT_OPS.items() if tf_op.encode() in graph_def]
        record["float_layers"] = [s for s in float_scopes(manifest) if s.encode() in graph_def]
    log.info("%s: %s (%d bytes), max |difference| from the graph %.2g on %d inputs, top-1 agreement %.3f",
             folder, path.name, len(content), diff, len(probe), agreement)
    return record


def probe_rows(values_per_input: int) -> int:
    """Inputs per call when checking: up to 32, fewer for long ones. A graph's activations grow with its input (a
    MiniRocket graph holds [rows, samples, 84] tensors; 32 rows of 18,262 samples took LiteRT past 20 GB)."""
    return int(np.clip(PROBE_ELEMENTS // max(1, values_per_input), 1, 32))


def in_parts(run, probe: np.ndarray) -> np.ndarray:
    """``run`` (inputs -> answers) over ``probe``, ``probe_rows`` inputs at a time."""
    rows = probe_rows(int(np.prod(probe.shape[1:])))
    return np.concatenate([run(probe[i:i + rows]) for i in range(0, len(probe), rows)])


def _quantized(folder: Path, calibration: Sequence[np.ndarray],
               probe: np.ndarray) -> tuple[bytes, np.ndarray, np.ndarray | None]:
    """The int8 copy and its answers on ``probe``, made by a child process (``python -m sigop.lite_export``):
    LiteRT aborts the whole process on some int8 graphs (MiniRocket's, at its first invoke), and training
    must survive that. A child of its own, not multiprocessing's, which would re-run the caller's script."""
    with tempfile.TemporaryDirectory(prefix="sigop-int8-") as tmp:
        work = Path(tmp)
        np.save(work / "calibration.npy", np.stack([np.asarray(x) for x in calibration]))
        np.save(work / "probe.npy", probe)
        child = subprocess.run([sys.executable, "-m", "sigop.lite_export", str(folder), str(work)],
                               capture_output=True, text=True)
        if child.returncode != 0:
            last = (child.stderr.strip().splitlines() or [""])[-1]
            log.debug("int8 conversion's output:\n%s", child.stderr)
            raise RuntimeError(f"the int8 conversion or its first run failed (exit code {child.returncode}"
                               + (f": {last}" if child.returncode > 0 else ", a crash inside LiteRT or TensorFlow")
                               + ")")
        unknown = work / "unknown.npy"
        return (work / LITE_FILES["int8"]).read_bytes(), np.load(work / "answers.npy"), \
            (np.load(unknown) if unknown.is_file() else None)


def _converted(graph_def: bytes, manifest: Manifest, calibration: Sequence[np.ndarray] = (),
               float_model: bytes | None = None) -> bytes:
    """The LiteRT model: float32, or int8 calibrated on ``calibration`` (``float_model``: the float32 copy, if
    already made, whose tensor names say what stays float)."""
    parsed = tf.compat.v1.GraphDef()
    parsed.ParseFromString(graph_def)
    wrapped = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(parsed, name=""), [])
    (given,) = manifest.inputs.values()
    wanted = [wrapped.graph.get_tensor_by_name(manifest.outputs[o].tensor) for o in ("probabilities", "unknown")
              if o in manifest.outputs]
    fn = wrapped.prune(wrapped.graph.get_tensor_by_name(given.tensor), wanted)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn], wrapped)
    with _stderr_to_log(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the debugger below warns that it uses tf.lite's deprecated interpreter
        if not len(calibration):
            return converter.convert()
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([np.asarray(x)[None]] for x in calibration)
        kept = {op for op, tf_op in FLOAT_OPS.items() if any(node.op == tf_op for node in parsed.node)}
        nodes = _float_nodes(float_model or tf.lite.TFLiteConverter.from_concrete_functions([fn], wrapped).convert(),
                             float_scopes(manifest))
        if not kept and not nodes:
            return converter.convert()
        # Selective quantization: every op int8 but those kept (the debugger is the converter's only door to it).
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter, debug_dataset=lambda: ([np.asarray(x)[None]] for x in calibration[:4]),
            debug_options=tf.lite.experimental.QuantizationDebugOptions(denylisted_ops=sorted(kept),
                                                                        denylisted_nodes=nodes))
        return debugger.get_nondebug_quantized_model()


def _float_nodes(float_model: bytes, scopes: Sequence[str]) -> list[str]:
    """The tensors of a waveform model's front end (and MiniRocket's features): they stay float32 in the int8
    copy. Power spectra span 200 dB and PPV features are counts of threshold crossings; at 8 bits neither
    survives (a log-mel digits model fell from 100 % to 30 % quantized whole)."""
    details = LiteInterpreter(float_model).tensor_details
    return sorted({d["name"] for d in details if any(scope in d["name"] for scope in scopes)} - {""})


@contextmanager
def _stderr_to_log():
    """The converter's C++ half writes MLIR dumps to file descriptor 2; keep them for the debug log only."""
    with tempfile.TemporaryFile() as captured:
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode(errors="replace").strip()
            if text:
                log.debug("converter output:\n%s", text)


def _reason(e: Exception) -> str:
    """The converter's first ``error:`` line (its message carries whole MLIR dumps), else the exception's first line."""
    text = str(e)
    found = re.findall(r"error: (.+)", text)
    line = found[0] if found else (text.strip().splitlines() or [""])[0]
    return f"{type(e).__name__}: {line.strip()}"[:400]


def lite_summary(records: dict) -> list[str]:
    """One line per precision, for the command line."""
    lines = []
    for precision, r in records.items():
        if "error" in r:
            lines.append(f"LiteRT {precision}: not converted: {r['error']}")
        else:
            c = r["check"]
            lines.append(f"LiteRT {precision}: {r['file']} ({r['bytes'] / 2**20:.1f} MiB), max |difference| from the "
                         f"graph {c['max_abs_diff']:.2g} on {c['inputs']} inputs, same top class on "
                         f"{100 * c['top1_agreement']:.1f} %")
    return lines


if __name__ == "__main__":  # the child _quantized starts: python -m sigop.lite_export MODEL_FOLDER WORK_FOLDER
    _model, _work = Path(sys.argv[1]), Path(sys.argv[2])
    _manifest = Manifest.read(_model)
    _float = _model / LITE_FILES["float32"]  # written this run, or absent: export_lite removes a stale one first
    _content = _converted((_model / _manifest.graph).read_bytes(), _manifest, np.load(_work / "calibration.npy"),
                          _float.read_bytes() if _float.is_file() else None)
    (_work / LITE_FILES["int8"]).write_bytes(_content)
    _interpreter, _probe = LiteInterpreter(_content), np.load(_work / "probe.npy")
    np.save(_work / "answers.npy", in_parts(_interpreter, _probe))
    if "unknown" in _manifest.outputs:
        np.save(_work / "unknown.npy", in_parts(lambda x: _interpreter.run(x)["unknown"], _probe))
