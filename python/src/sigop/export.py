"""Export a trained classifier as a frozen graph, labels and manifest (and a SavedModel).

An image classifier's graph takes uint8 RGB images [batch, H, W, 3]; a
waveform classifier's takes float32 ``signals`` [batch, samples] (or
[batch, channels, samples] for several sensor axes) at the
front end's sample rate, front end inside. Both return softmax
``probabilities`` [batch, classes], with any normalisation inside the graph,
so any runtime that can feed pixels or samples can use it. The manifest
carries the labels, the backbone and the preprocessing contract: the spectrum
contract the server renders signals with, or the waveform front end.
"""

from __future__ import annotations

from pathlib import Path

from .manifest import GRAPH_FILE, Manifest, TensorInfo, sha256_file
from .quiet import loggers_at_warning
from .tfenv import tf

__all__ = ["export_classifier", "INPUT", "SIGNAL_INPUT", "OUTPUT", "LABELS_FILE"]

INPUT = "images"
SIGNAL_INPUT = "signals"
OUTPUT = "probabilities"
LABELS_FILE = "labels.txt"


def export_classifier(model: "tf.keras.Model", out: Path, *, name: str, classes: list[str], details: dict,
                      image_size: int = 0, samples: int = 0, saved_model: bool = True) -> Manifest:
    """Freeze ``model``: float RGB in [0, 255] behind a uint8 ``images`` input (image_size),
    or float32 waveforms behind a ``signals`` input (samples)."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if bool(image_size) == bool(samples):
        raise ValueError("export_classifier needs exactly one of image_size and samples")
    if samples:
        input_name = SIGNAL_INPUT
        rate, channels = details["front_end"]["sample_rate"], details["front_end"].get("channels", 1)
        shape = [None, channels, samples] if channels > 1 else [None, samples]
        spec = tf.TensorSpec(shape, tf.float32, name=SIGNAL_INPUT)
        what = f"waveforms of {channels} channels" if channels > 1 else "mono waveforms"
        inputs = {SIGNAL_INPUT: TensorInfo(f"{SIGNAL_INPUT}:0", "float32", shape,
                                           f"{what} at {rate:g} Hz, exactly {samples} samples "
                                           f"(pad with zeros or truncate at the end)")}
    else:
        input_name = INPUT
        spec = tf.TensorSpec([None, image_size, image_size, 3], tf.uint8, name=INPUT)
        inputs = {INPUT: TensorInfo(f"{INPUT}:0", "uint8", [None, image_size, image_size, 3], "RGB images, values 0-255")}
        details = {"image_size": image_size, **details}

    @tf.function(input_signature=[spec])
    def serve(x):
        probs = model(tf.cast(x, tf.float32), training=False)
        return {OUTPUT: tf.identity(probs, name=OUTPUT)}

    concrete = serve.get_concrete_function()
    graph_def = convert_variables_to_constants_v2(concrete).graph.as_graph_def()
    names = {n.name for n in graph_def.node}
    if input_name not in names or OUTPUT not in names:
        raise RuntimeError(f"frozen classifier lacks {input_name!r} or {OUTPUT!r}; TensorFlow renamed them")
    (out / GRAPH_FILE).write_bytes(graph_def.SerializeToString(deterministic=True))
    (out / LABELS_FILE).write_text("".join(c + "\n" for c in classes))
    if saved_model:
        module = tf.Module()
        module.model = model
        module.serve = serve
        with loggers_at_warning("absl", "tensorflow"):  # notes on renamed captured inputs, assets written
            tf.saved_model.save(module, str(out / "saved_model"), signatures={"serving_default": concrete})
    manifest = Manifest(
        name=name,
        kind="classifier",
        inputs=inputs,
        outputs={"probabilities": TensorInfo(f"{OUTPUT}:0", "float32", [None, len(classes)],
                                             f"softmax over the labels in {LABELS_FILE}, in that order")},
        sha256=sha256_file(out / GRAPH_FILE),
        tensorflow_version=tf.__version__,
        details={"labels": classes, "labels_file": LABELS_FILE, **details},
    )
    manifest.write(out)
    return manifest
