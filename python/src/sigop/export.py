"""Export a trained classifier as a frozen graph, labels and manifest (and a SavedModel).

An image classifier's graph takes uint8 RGB images [batch, H, W, 3]; a
waveform classifier's takes float32 ``signals`` [batch, samples] (or
[batch, channels, samples] for several sensor axes) at the
front end's sample rate, front end inside. Both return softmax
``probabilities`` [batch, classes], with any normalisation inside the graph,
so any runtime that can feed pixels or samples can use it. Beside them,
``unknown`` [batch]: the unknown score (unknown.py) of the logits, when
training calibrated one. The manifest
carries the labels, the backbone and the preprocessing contract: the spectrum
contract the server renders signals with, or the waveform front end.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from .manifest import GRAPH_FILE, Manifest, TensorInfo, sha256_file
from .quiet import loggers_at_warning
from .tfenv import tf
from .unknown import UnknownScore

__all__ = ["export_classifier", "linear_head", "unknown_tensor", "INPUT", "SIGNAL_INPUT", "OUTPUT", "UNKNOWN",
           "LABELS_FILE"]

INPUT = "images"
SIGNAL_INPUT = "signals"
OUTPUT = "probabilities"
UNKNOWN = "unknown"
LABELS_FILE = "labels.txt"


def _softmax_dense(model):
    """The Dense softmax layer a classifier ends in (inside nested models: the image stack's head, a waveform
    model's network)."""
    layer = model
    while hasattr(layer, "layers") and layer.layers:
        layer = layer.layers[-1]
    if not isinstance(layer, tf.keras.layers.Dense) or layer.activation is not tf.keras.activations.softmax:
        raise ValueError(f"{model.name} does not end in a Dense softmax layer ({layer.name}); its logits are unknown")
    return layer


@contextmanager
def linear_head(model):
    """Calls of ``model`` inside the block return logits: its final softmax is lifted (graphs traced, or eager
    calls; not ``predict``, which keeps the function it compiled first)."""
    dense = _softmax_dense(model)
    dense.activation = tf.keras.activations.linear
    try:
        yield model
    finally:
        dense.activation = tf.keras.activations.softmax


def unknown_tensor(logits, unknown: UnknownScore):
    """The unknown score of ``logits`` [batch, classes] as graph ops (unknown.py's UnknownScore.score), under the
    name scope ``unknown_score`` (an int8 LiteRT copy keeps it in float: lite_export.FLOAT_SCOPES)."""
    with tf.name_scope("unknown_score"):
        if unknown.method == "residual":
            raw = logits[:, 0]
        elif unknown.method == "max_softmax":  # log(1 + sum of exp(l - max) over the other classes)
            top = tf.one_hot(tf.argmax(logits, axis=1), tf.shape(logits)[1], dtype=logits.dtype)  # the top class alone
            others = tf.exp(logits - tf.reduce_max(logits, axis=1, keepdims=True)) * (1.0 - top)
            raw = tf.math.log1p(tf.reduce_sum(others, axis=1))
        else:
            d = logits[:, None, :] - tf.constant(unknown.means, tf.float32)[None]  # [batch, classes, classes]
            q = tf.reduce_sum(tf.tensordot(d, tf.constant(unknown.precision, tf.float32), axes=1) * d, axis=-1)
            raw = tf.sqrt(tf.maximum(tf.reduce_min(q, axis=1), 0.0))
        return raw / tf.constant(unknown.scale, tf.float32)


def export_classifier(model: "tf.keras.Model", out: Path, *, name: str, classes: list[str], details: dict, version: int = 1,
                      image_size: int = 0, samples: int = 0, saved_model: bool = True,
                      unknown: UnknownScore | None = None) -> Manifest:
    """Freeze ``model``: float RGB in [0, 255] behind a uint8 ``images`` input (image_size),
    or float32 waveforms behind a ``signals`` input (samples); with ``unknown``, an ``unknown`` output too."""
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
        if unknown is None:
            return {OUTPUT: tf.identity(model(tf.cast(x, tf.float32), training=False), name=OUTPUT)}
        with linear_head(model):
            logits = model(tf.cast(x, tf.float32), training=False)
        return {OUTPUT: tf.identity(tf.nn.softmax(logits), name=OUTPUT),
                UNKNOWN: tf.identity(unknown_tensor(logits, unknown), name=UNKNOWN)}

    concrete = serve.get_concrete_function()
    graph_def = convert_variables_to_constants_v2(concrete).graph.as_graph_def()
    names = {n.name for n in graph_def.node}
    if input_name not in names or OUTPUT not in names or (unknown is not None and UNKNOWN not in names):
        raise RuntimeError(f"frozen classifier lacks {input_name!r}, {OUTPUT!r} or {UNKNOWN!r}; TensorFlow renamed "
                           f"them")
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
        version=version,
        inputs=inputs,
        outputs={"probabilities": TensorInfo(f"{OUTPUT}:0", "float32", [None, len(classes)],
                                             f"softmax over the labels in {LABELS_FILE}, in that order"),
                 **({UNKNOWN: TensorInfo(f"{UNKNOWN}:0", "float32", [None],
                                         f"how unlike the training data each input is ({unknown.method}); above "
                                         f"{unknown.threshold:.4g} it is unknown")} if unknown else {})},
        sha256=sha256_file(out / GRAPH_FILE),
        tensorflow_version=tf.__version__,
        details={"labels": classes, "labels_file": LABELS_FILE, **details,
                 **({UNKNOWN: unknown.to_json()} if unknown else {})},
    )
    manifest.write(out)
    return manifest
